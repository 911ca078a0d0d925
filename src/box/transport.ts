/**
 * HTTP to the box with undici: the system CAs plus MIAB_CA_FILE, or a pinned certificate
 * (MIAB_TLS_FINGERPRINT) for a fresh box's self-signed certificate. There is deliberately no
 * way to turn verification off.
 */
import type { TLSSocket } from 'node:tls';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { BoxApiError } from '../errors.js';
import type { TlsSettings } from '../config/config.js';
import type { Logger } from '../util/log.js';

export type BoxMethod = 'GET' | 'POST' | 'DELETE';

export interface BoxResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** One HTTP exchange with the box; the client's only way out (tests substitute a recorder). */
export interface Transport {
  send(method: BoxMethod, url: string, headers: Record<string, string>, body?: string): Promise<BoxResponse>;
  close(): Promise<void>;
}

export interface TransportOptions {
  readonly tls: TlsSettings;
  /** Give up on one request after this long. The box's nginx answers 504 after 60 s. @default 90_000 */
  readonly requestTimeoutMs?: number;
  readonly log: Logger;
}

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

class FingerprintMismatch extends Error {
  readonly code = 'MIAB_FINGERPRINT_MISMATCH';
}

function createDispatcher(tls: TlsSettings, timeoutMs: number): Dispatcher {
  const pinned = tls.fingerprint;
  const connect = buildConnector({
    // A pin replaces chain validation: the certificate must be exactly the pinned one.
    rejectUnauthorized: pinned === undefined,
    ...(tls.caPem !== undefined && pinned === undefined ? { ca: [...rootCertificates, tls.caPem] } : {}),
    timeout: Math.min(timeoutMs, 30_000),
  });
  return new Agent({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 1,
    connect: (options, callback) => {
      connect(options, (error, socket) => {
        if (error !== null) return callback(error, null);
        if (pinned !== undefined && options.protocol === 'https:') {
          const seen = (socket as TLSSocket).getPeerCertificate().fingerprint256?.replace(/:/g, '').toLowerCase();
          if (seen !== pinned) {
            socket.destroy();
            return callback(new FingerprintMismatch(seen ?? 'none'), null);
          }
        }
        callback(null, socket);
      });
    },
  });
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current === 'object' && 'code' in current && typeof current.code === 'string') return current.code;
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/** Maps a failure to reach the box to a typed error saying what to do. */
export function connectionError(url: string, error: unknown): BoxApiError {
  const code = errorCode(error);
  const host = new URL(url).host;
  if (error instanceof FingerprintMismatch || code === 'MIAB_FINGERPRINT_MISMATCH') {
    const seen = error instanceof Error ? error.message : '';
    return new BoxApiError('tls-fingerprint-mismatch', `the certificate of ${host} (SHA-256 ${seen}) does not match MIAB_TLS_FINGERPRINT; if the box's certificate changed on purpose, update the pin`);
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return new BoxApiError(
      'tls-untrusted',
      `cannot verify the TLS certificate of ${host} (${code}); if the box still uses its self-signed certificate, set MIAB_CA_FILE to a CA that signed it or MIAB_TLS_FINGERPRINT to its SHA-256 fingerprint (openssl s_client -connect ${host} </dev/null | openssl x509 -noout -fingerprint -sha256)`,
      { cause: error },
    );
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new BoxApiError('box-timeout', `the box at ${host} did not answer in time`, { cause: error });
  }
  return new BoxApiError('box-unreachable', `cannot reach the box at ${url}: ${code ?? (error instanceof Error ? error.message : String(error))}; check MIAB_URL and the network`, { cause: error });
}

export class BoxTransport implements Transport {
  readonly #dispatcher: Dispatcher;
  readonly #log: Logger;
  readonly #timeoutMs: number;

  constructor(options: TransportOptions) {
    this.#timeoutMs = options.requestTimeoutMs ?? 90_000;
    this.#dispatcher = createDispatcher(options.tls, this.#timeoutMs);
    this.#log = options.log;
  }

  async send(method: BoxMethod, url: string, headers: Record<string, string>, body?: string): Promise<BoxResponse> {
    this.#log.debug(`> ${method} ${url} ${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('; ')}${body === undefined ? '' : ` body=${JSON.stringify(body)}`}`);
    const started = Date.now();
    try {
      const response = await request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const text = await response.body.text();
      this.#log.debug(`< ${response.statusCode} ${method} ${url} (${Date.now() - started} ms) ${JSON.stringify(text.slice(0, 200))}`);
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') throw connectionError(url, Object.assign(error, { code: 'UND_ERR_HEADERS_TIMEOUT' }));
      throw connectionError(url, error);
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}
