/**
 * The project's one polling loop: probe, decide, sleep a growing interval, until done, the
 * deadline, or an abort. Every "wait until X" (DNS propagation, a server coming up, ...)
 * goes through here so that timeouts, back-off and cancellation behave the same everywhere.
 */

/** What the probe is told about the attempt it is making. */
export interface PollAttempt {
  /** 1 for the first probe. */
  readonly attempt: number;
  /** Milliseconds since `poll` was called. */
  readonly elapsedMs: number;
  /**
   * Milliseconds left before the deadline (0 on the last probe, `Infinity` without a
   * timeout). A probe that does I/O can use it to cap its own timeouts.
   */
  readonly remainingMs: number;
  /** Aborted when the caller's signal is; pass it on to the probe's I/O. */
  readonly signal: AbortSignal | undefined;
}

export interface PollOptions<T> {
  /** True when the observation is the one we are waiting for. */
  readonly until: (observation: T) => boolean;
  /**
   * Give up this many milliseconds after the call. The probe always runs at least once, and
   * once more at the deadline when the last sleep ends there. `Infinity` waits forever.
   */
  readonly timeoutMs: number;
  /** Sleep after the first unsuccessful probe. @default 500 */
  readonly initialIntervalMs?: number;
  /** Each sleep is the previous one times this (1 keeps a fixed interval). @default 1.5 */
  readonly factor?: number;
  /** Sleeps never grow beyond this. @default 5000 */
  readonly maxIntervalMs?: number;
  /** Stops the wait: `poll` rejects with `signal.reason`, even in the middle of a sleep. */
  readonly signal?: AbortSignal;
  /** Called after every probe that did not satisfy `until`, with the sleep that follows. */
  readonly onPending?: (observation: T, attempt: PollAttempt, nextIntervalMs: number) => void;
}

export type PollOutcome<T> =
  | { readonly done: true; readonly value: T; readonly attempts: number; readonly elapsedMs: number }
  /** Timed out: `last` is the final observation, for the caller's error message. */
  | { readonly done: false; readonly last: T; readonly attempts: number; readonly elapsedMs: number };

/**
 * Probes at once, then after sleeps of `initialIntervalMs`, growing by `factor` up to
 * `maxIntervalMs`, until `until(observation)` holds or `timeoutMs` has passed. Resolves with
 * the outcome either way (a timeout is not an exception here: the caller knows what the
 * last observation means and words the error). Rejects when the probe throws or on abort.
 * The sleep runs from the end of one probe to the start of the next, so slow probes never
 * overlap.
 */
export async function poll<T>(probe: (attempt: PollAttempt) => Promise<T> | T, options: PollOptions<T>): Promise<PollOutcome<T>> {
  const { until, timeoutMs, signal, onPending } = options;
  const factor = options.factor ?? 1.5;
  const maxIntervalMs = options.maxIntervalMs ?? 5000;
  let intervalMs = Math.min(options.initialIntervalMs ?? 500, maxIntervalMs);
  if (!(timeoutMs >= 0)) throw new RangeError(`poll: timeoutMs must be >= 0, got ${timeoutMs}`);
  if (!(intervalMs >= 0) || !(factor >= 1)) throw new RangeError('poll: intervals must be >= 0 and factor >= 1');

  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  // Set once a sleep ends at the deadline: timers may fire a hair early, and without this
  // flag that would buy an extra sub-millisecond sleep and probe.
  let lastProbe = false;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const remainingMs = lastProbe ? 0 : Math.max(0, timeoutMs - elapsed());
    const context: PollAttempt = { attempt, elapsedMs: elapsed(), remainingMs, signal };
    const observation = await probe(context);
    signal?.throwIfAborted();
    if (until(observation)) return { done: true, value: observation, attempts: attempt, elapsedMs: elapsed() };
    const remaining = timeoutMs - elapsed();
    if (lastProbe || remaining <= 0) return { done: false, last: observation, attempts: attempt, elapsedMs: elapsed() };
    const sleepMs = Math.min(intervalMs, remaining);
    lastProbe = sleepMs === remaining;
    onPending?.(observation, context, sleepMs);
    await sleep(sleepMs, signal);
    intervalMs = Math.min(intervalMs * factor, maxIntervalMs);
  }
}

/** Resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
