/**
 * HTTP to the cPanel server with undici: the system CAs plus an optional CA file, or a pinned
 * certificate fingerprint. Verification cannot be turned off. Private to the cPanel provider.
 */
import { request } from 'undici';
import { BoxApiError } from '../../errors.js';
import { createTlsAgent, errorCode, FINGERPRINT_MISMATCH, TLS_TRUST_CODES } from '../http/tls-agent.js';
import type { Logger } from '../../util/log.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** One HTTP exchange; the client's only way out (tests may substitute it). */
export interface CpanelTransport {
  send(action: string, method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface CpanelTlsOptions {
  readonly caPem: string | undefined;
  readonly fingerprint: string | undefined;
}


function connectionError(action: string, url: string, error: unknown): BoxApiError {
  const code = errorCode(error);
  const host = new URL(url).host;
  if (code === FINGERPRINT_MISMATCH) {
    return new BoxApiError('tls-fingerprint-mismatch', `cpanel: ${action}: the certificate of ${host} does not match CPANEL_TLS_FINGERPRINT; if it changed on purpose, update the pin`);
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return new BoxApiError(
      'tls-untrusted',
      `cpanel: ${action}: cannot verify the TLS certificate of ${host} (${code}); set CPANEL_CA_FILE to the CA that signed it or CPANEL_TLS_FINGERPRINT to its SHA-256 fingerprint`,
      { cause: error },
    );
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'TIMEOUT') {
    return new BoxApiError('box-timeout', `cpanel: ${action}: ${host} did not answer in time`, { cause: error });
  }
  return new BoxApiError('box-unreachable', `cpanel: ${action}: cannot reach ${host}: ${code ?? (error instanceof Error ? error.message : String(error))}; check CPANEL_BASE_URL and the network`, { cause: error });
}

export function createCpanelTransport(tls: CpanelTlsOptions, log: Logger, timeoutMs = 60_000): CpanelTransport {
  const dispatcher = createTlsAgent(tls, { timeoutMs });
  return {
    async send(action, method, url, headers, body, signal) {
      // Only the path is logged: query strings carry record values, headers carry secrets.
      log.debug(`> ${method} ${url.split('?')[0] ?? url}`);
      // The caller's signal and our own deadline, as one (AbortSignal.any is not in our Node types).
      const abort = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutMs);
      const onAbort = (): void => abort.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        signal?.throwIfAborted();
        const response = await request(url, { method, headers, ...(body === undefined ? {} : { body }), dispatcher, signal: abort.signal });
        const text = await response.body.text();
        log.debug(`< ${response.statusCode} ${method} ${url.split('?')[0] ?? url}`);
        return { status: response.statusCode, headers: response.headers, text };
      } catch (error) {
        // Stopped by the caller: not a network problem.
        if (signal?.aborted) throw signal.reason;
        if (timedOut) throw connectionError(action, url, Object.assign(new Error('timeout'), { code: 'TIMEOUT' }));
        throw connectionError(action, url, error);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
    close: () => dispatcher.close(),
  };
}
