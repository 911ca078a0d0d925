/**
 * Every provider's retry of transient faults (a proxy's 502/503/504, a reset connection, a
 * timeout), through p-retry: doubling, jittered back-off within a count and a total time. What
 * is transient is the provider's call (`isTransient`); a refused login never is.
 *
 * The caller's signal (SIGTERM) is honoured the way clean-up needs: once it aborts, no back-off
 * goes on (a pending one ends at once, rejecting with the signal's reason), an attempt in flight
 * is not interrupted here (a write must finish so it can be undone), its failure is not retried,
 * and a call started after the abort runs its attempt exactly once (the undo's DELETE).
 * p-retry's own `signal` would also refuse to start that one attempt and discard the result of
 * one that finishes after the abort, so it gets a signal of its own that aborts only while it
 * waits.
 */
import pRetry from 'p-retry';
import type { Logger } from '../../util/log.js';

export interface RetryPolicy {
  /** Retries after the first attempt, for transient faults only. @default 4 */
  readonly retries: number;
  /** First back-off in ms (then doubling, jittered). @default 500 */
  readonly minTimeoutMs: number;
  /** Longest single back-off. @default 8_000 */
  readonly maxTimeoutMs: number;
  /** Give up retrying after this long in total. @default 180_000 */
  readonly maxRetryTimeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, minTimeoutMs: 500, maxTimeoutMs: 8_000, maxRetryTimeMs: 180_000 };

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** True for a fault worth another attempt. */
  readonly isTransient: (error: unknown) => boolean;
  /** Names the request in the log line of each retry, e.g. `GET /dns/zones`. */
  readonly what: string;
  readonly log: Logger;
  readonly signal?: AbortSignal | undefined;
}

/** Runs `attempt`, retrying transient faults under `policy` (see the file comment for the signal). */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal, log } = options;
  if (signal?.aborted === true) return attempt();
  const backOff = new AbortController();
  let waiting = false;
  const onAbort = (): void => {
    if (waiting) backOff.abort(signal?.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await pRetry(
      () => {
        waiting = false;
        return attempt();
      },
      {
        retries: policy.retries,
        factor: 2,
        minTimeout: policy.minTimeoutMs,
        maxTimeout: policy.maxTimeoutMs,
        maxRetryTime: policy.maxRetryTimeMs,
        randomize: true,
        signal: backOff.signal,
        shouldRetry: ({ error, retriesLeft }) => {
          if (!options.isTransient(error) || signal?.aborted === true) return false;
          log.info(`${options.what}: ${error.message}; retrying (${retriesLeft} left)`);
          waiting = true;
          return true;
        },
      },
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
