/**
 * The TLS policy every provider's HTTP client shares: the system CAs plus an optional extra CA,
 * or a pinned SHA-256 certificate fingerprint instead of chain validation. Verification cannot
 * be turned off. Each provider keeps its own transport and error wording on top of this.
 */
import type { TLSSocket } from 'node:tls';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { TlsTrust } from './tls-trust.js';

export type { TlsTrust } from './tls-trust.js';

/** Node's and undici's codes for a certificate that is not trusted (fixed by a CA file or a pin). */
export const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export const FINGERPRINT_MISMATCH = 'TLS_FINGERPRINT_MISMATCH';

/** The server's certificate is not the pinned one; `message` is the fingerprint seen. */
export class FingerprintMismatch extends Error {
  readonly code = FINGERPRINT_MISMATCH;
}

/** The first `code` along an error's cause chain (undici wraps the socket's error). */
export function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current === 'object' && 'code' in current && typeof current.code === 'string') return current.code;
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

export interface AgentOptions {
  /** Headers and body timeout; the connect timeout is capped at 30 s. */
  readonly timeoutMs: number;
  /** At most this many connections (the box serves one request at a time). */
  readonly connections?: number;
}

export function createTlsAgent(tls: TlsTrust, options: AgentOptions): Dispatcher {
  const pinned = tls.fingerprint;
  const connect = buildConnector({
    // A pin replaces chain validation: the certificate must be exactly the pinned one.
    rejectUnauthorized: pinned === undefined,
    ...(tls.caPem !== undefined && pinned === undefined ? { ca: [...rootCertificates, tls.caPem] } : {}),
    timeout: Math.min(options.timeoutMs, 30_000),
  });
  return new Agent({
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    ...(options.connections === undefined ? {} : { connections: options.connections }),
    connect: (connectOptions, callback) => {
      connect(connectOptions, (error, socket) => {
        if (error !== null) return callback(error, null);
        if (pinned !== undefined && connectOptions.protocol === 'https:') {
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
