/**
 * HTTP to the box with undici: the system CAs plus MIAB_CA_FILE, or a pinned certificate
 * (MIAB_TLS_FINGERPRINT) for a fresh box's self-signed certificate. There is deliberately no
 * way to turn verification off.
 */
import { request, type Dispatcher } from 'undici';
import { BoxApiError } from '../../errors.js';
import { createTlsAgent, errorCode, FINGERPRINT_MISMATCH, FingerprintMismatch, TLS_TRUST_CODES } from '../http/tls-agent.js';
import type { TlsSettings } from '../../config/config.js';
import type { Logger } from '../../util/log.js';

export type BoxMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface BoxResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** One HTTP exchange with the box; the client's only way out (tests substitute a recorder). */
export interface Transport {
  /** `signal` cuts the exchange short (the client passes it for reads only: writes finish). */
  send(method: BoxMethod, url: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<BoxResponse>;
  close(): Promise<void>;
}

export interface TransportOptions {
  readonly tls: TlsSettings;
  /** Give up on one request after this long. The box's nginx answers 504 after 60 s. @default 90_000 */
  readonly requestTimeoutMs?: number;
  readonly log: Logger;
  /** Who is at the other end and which setting names it, for error messages. @default the box, MIAB_URL (--url) */
  readonly peer?: PeerNames;
}

/** How messages name the server and the setting the user fixes when it cannot be reached. */
export interface PeerNames {
  readonly what: string;
  readonly setting: string;
}

const BOX: PeerNames = { what: 'the box', setting: 'MIAB_URL (--url)' };


/**
 * Failures that happen before a request is written to the socket: nothing reached the box, so
 * a login sent this way spent no TOTP code and counts toward no ban.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NODATA',
  'EAI_NONAME',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  FINGERPRINT_MISMATCH,
  ...TLS_TRUST_CODES,
]);

/** Why a connection could not be made, in words (the host is named by the caller). */
const CONNECT_FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port, or a firewall rejects it',
  ENOTFOUND: 'the name does not resolve (DNS lookup failed)',
  EAI_AGAIN: 'the name could not be resolved (the DNS lookup got no answer)',
  EAI_NODATA: 'the name has no address (DNS lookup failed)',
  EAI_NONAME: 'the name does not resolve (DNS lookup failed)',
  ENETUNREACH: 'no route to that network',
  EHOSTUNREACH: 'no route to that host',
  EHOSTDOWN: 'the host is down',
  EADDRNOTAVAIL: 'no local address can reach it',
  ECONNRESET: 'the connection was reset',
  UND_ERR_SOCKET: 'the connection was closed',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

/** A TLS handshake that failed for another reason than trust (e.g. http:// server, old TLS). */
function isHandshakeFailure(code: string): boolean {
  return code.startsWith('ERR_SSL') || code === 'EPROTO';
}

function unreachable(host: string, why: string, cause: unknown, peer: PeerNames): BoxApiError {
  return new BoxApiError('box-unreachable', `cannot reach ${peer.what} at ${host}: ${why}; check ${peer.setting}, that it is up, and the network or firewall between here and it`, { cause });
}

/** True when the request surely never reached the box (see NOT_SENT_CODES). */
export function neverReachedBox(error: unknown): boolean {
  if (error instanceof FingerprintMismatch) return true;
  if (error instanceof BoxApiError && (error.code === 'tls-untrusted' || error.code === 'tls-fingerprint-mismatch')) return true;
  // Our own error's code says what we made of it; the cause says what happened on the wire.
  const code = errorCode(error instanceof BoxApiError ? error.cause : error);
  return code !== undefined && (NOT_SENT_CODES.has(code) || isHandshakeFailure(code));
}

/** Maps a failure to reach the box to a typed error naming the host and saying what to do. */
export function connectionError(url: string, error: unknown, peer: PeerNames = BOX): BoxApiError {
  const code = errorCode(error);
  const host = new URL(url).host;
  if (error instanceof FingerprintMismatch || code === FINGERPRINT_MISMATCH) {
    const seen = error instanceof Error ? error.message : '';
    return new BoxApiError('tls-fingerprint-mismatch', `the certificate of ${host} (SHA-256 ${seen}) does not match MIAB_TLS_FINGERPRINT; if the box's certificate changed on purpose, update the pin`, { cause: error });
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return new BoxApiError(
      'tls-untrusted',
      `cannot verify the TLS certificate of ${host} (${code}); if the box still uses its self-signed certificate, set MIAB_CA_FILE to a CA that signed it or MIAB_TLS_FINGERPRINT to its SHA-256 fingerprint (openssl s_client -connect ${host} </dev/null | openssl x509 -noout -fingerprint -sha256)`,
      { cause: error },
    );
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new BoxApiError('box-timeout', `the box at ${host} did not answer in time`, { cause: error });
  }
  if (code !== undefined && isHandshakeFailure(code)) {
    return new BoxApiError('box-unreachable', `cannot reach the box at ${host}: the TLS handshake failed (${code}); is MIAB_URL's scheme right (https:// for the box, http:// only for 127.0.0.1:10222 on the box)?`, { cause: error });
  }
  const why = (code !== undefined ? CONNECT_FAILURES[code] : undefined) ?? code ?? (error instanceof Error ? error.message : String(error));
  return unreachable(host, why, error, peer);
}

const SECRET_HEADERS = new Set(['authorization', 'x-auth-token']);

/**
 * What a debug line may show of a request: never the credentials (a logger may belong to a
 * library caller and write anywhere). Redacted here, before any logger sees the line.
 */
export function describeHeaders(headers: Readonly<Record<string, string>>): string {
  return Object.entries(headers)
    // The scheme ("Basic") is kept: it tells which kind of credentials went out.
    .map(([name, value]) => `${name}: ${SECRET_HEADERS.has(name.toLowerCase()) ? value.replace(/^([A-Za-z]+ )?.*$/s, '$1[redacted]') : value}`)
    .join('; ');
}

/** A response body for a debug line, without the session key a login answer carries. */
export function describeBody(text: string): string {
  return JSON.stringify(text.replace(/("api_key"\s*:\s*")[^"]*/g, '$1[redacted]').slice(0, 200));
}

/**
 * Aborts when either signal does (AbortSignal.any, which this project's Node types lack).
 * `dispose` detaches from both, so a long-lived signal collects no listeners.
 */
function eitherSignal(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const listeners: (() => void)[] = [];
  for (const signal of [a, b]) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      continue;
    }
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    listeners.push(() => signal.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose: () => listeners.forEach((remove) => remove()) };
}

export class BoxTransport implements Transport {
  readonly #dispatcher: Dispatcher;
  readonly #log: Logger;
  readonly #peer: PeerNames;
  readonly #timeoutMs: number;

  constructor(options: TransportOptions) {
    this.#timeoutMs = options.requestTimeoutMs ?? 90_000;
    this.#dispatcher = createTlsAgent(options.tls, { timeoutMs: this.#timeoutMs, connections: 1 });
    this.#log = options.log;
    this.#peer = options.peer ?? BOX;
  }

  async send(method: BoxMethod, url: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<BoxResponse> {
    this.#log.debug(`> ${method} ${url} ${describeHeaders(headers)}${body === undefined ? '' : ` body=${JSON.stringify(body)}`}`);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? { signal: timeout, dispose: () => undefined } : eitherSignal(timeout, signal);
    const started = Date.now();
    try {
      const response = await request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        dispatcher: this.#dispatcher,
        signal: combined.signal,
      });
      const text = await response.body.text();
      this.#log.debug(`< ${response.statusCode} ${method} ${url} (${Date.now() - started} ms) ${describeBody(text)}`);
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      // Stopped by the caller: its reason, not a connection problem.
      if (signal?.aborted && !timeout.aborted) throw signal.reason;
      if (error instanceof Error && error.name === 'TimeoutError') throw connectionError(url, Object.assign(error, { code: 'UND_ERR_HEADERS_TIMEOUT' }), this.#peer);
      throw connectionError(url, error, this.#peer);
    } finally {
      combined.dispose();
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}
