import { describe, expect, it } from 'vitest';
import { BoxApiError } from '../../errors.js';
import { silentLogger } from '../../util/log.js';
import { withRetries, type RetryPolicy } from './retry.js';

const FAST: RetryPolicy = { retries: 4, minTimeoutMs: 1, maxTimeoutMs: 2, maxRetryTimeMs: 60_000 };
const transient = (): BoxApiError => new BoxApiError('box-http', 'HTTP 502', { status: 502 });
const isTransient = (error: unknown): boolean => error instanceof BoxApiError && error.status === 502;

function script(outcomes: readonly ('ok' | '502' | 'fatal')[]): { attempt: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    attempt: async () => {
      const outcome = outcomes[calls++] ?? 'ok';
      if (outcome === '502') throw transient();
      if (outcome === 'fatal') throw new BoxApiError('box-rejected', 'refused');
      return `done after ${calls}`;
    },
  };
}

describe('withRetries (p-retry)', () => {
  it('retries transient faults within the count, then gives the last error as it is', async () => {
    const ok = script(['502', '502', 'ok']);
    expect(await withRetries(ok.attempt, { policy: FAST, isTransient, what: 'GET /x', log: silentLogger })).toBe('done after 3');
    const never = script(['502', '502', '502', '502', '502', '502']);
    await expect(withRetries(never.attempt, { policy: FAST, isTransient, what: 'GET /x', log: silentLogger })).rejects.toMatchObject({ status: 502 });
    expect(never.calls()).toBe(5);
  });

  it('never retries what is not transient', async () => {
    const fatal = script(['fatal']);
    await expect(withRetries(fatal.attempt, { policy: FAST, isTransient, what: 'GET /x', log: silentLogger })).rejects.toMatchObject({ code: 'box-rejected' });
    expect(fatal.calls()).toBe(1);
  });

  it('an abort during a back-off ends it at once with the signal\'s reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stopped by SIGTERM');
    const slow = script(['502', '502']);
    const started = Date.now();
    const running = withRetries(slow.attempt, { policy: { ...FAST, minTimeoutMs: 30_000, maxTimeoutMs: 30_000 }, isTransient, what: 'GET /x', log: silentLogger, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(running).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(slow.calls()).toBe(1);
  });

  it('after the abort: an attempt in flight keeps its result, and a new call runs once, without retries', async () => {
    const controller = new AbortController();
    const inFlight = withRetries(
      async () => {
        controller.abort(new Error('stopped'));
        return 'written';
      },
      { policy: FAST, isTransient, what: 'POST /x', log: silentLogger, signal: controller.signal },
    );
    expect(await inFlight).toBe('written');
    const undo = script(['502', 'ok']);
    await expect(withRetries(undo.attempt, { policy: FAST, isTransient, what: 'DELETE /x', log: silentLogger, signal: controller.signal })).rejects.toMatchObject({ status: 502 });
    expect(undo.calls()).toBe(1);
    const undoOk = script(['ok']);
    expect(await withRetries(undoOk.attempt, { policy: FAST, isTransient, what: 'DELETE /x', log: silentLogger, signal: controller.signal })).toBe('done after 1');
  });

  it('a transient failure of an attempt that was in flight at the abort is not retried', async () => {
    const controller = new AbortController();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          controller.abort(new Error('stopped'));
          throw transient();
        },
        { policy: FAST, isTransient, what: 'POST /x', log: silentLogger, signal: controller.signal },
      ),
    ).rejects.toMatchObject({ status: 502 });
    expect(calls).toBe(1);
  });
});
