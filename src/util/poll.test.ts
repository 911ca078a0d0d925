import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { poll, sleep } from './poll.js';

describe('poll', () => {
  it('probes at once and returns the first observation that satisfies `until`', async () => {
    const seen: number[] = [];
    const outcome = await poll(
      ({ attempt }) => {
        seen.push(attempt);
        return attempt;
      },
      { until: (n) => n === 3, timeoutMs: 5000, initialIntervalMs: 1 },
    );
    expect(outcome).toMatchObject({ done: true, value: 3, attempts: 3 });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('returns immediately when the first probe succeeds (no sleep)', async () => {
    const outcome = await poll(() => 'ready', { until: () => true, timeoutMs: 10_000, initialIntervalMs: 5000 });
    expect(outcome.done).toBe(true);
    expect(outcome.elapsedMs).toBeLessThan(100);
  });

  it('grows the interval by `factor` up to `maxIntervalMs`', async () => {
    const sleeps: number[] = [];
    await poll(({ attempt }) => attempt, {
      until: (n) => n === 6,
      timeoutMs: 10_000,
      initialIntervalMs: 4,
      factor: 2,
      maxIntervalMs: 20,
      onPending: (_observation, _attempt, next) => sleeps.push(next),
    });
    expect(sleeps).toEqual([4, 8, 16, 20, 20]);
  });

  it('caps the first interval at maxIntervalMs too', async () => {
    const sleeps: number[] = [];
    await poll(({ attempt }) => attempt, {
      until: (n) => n === 2,
      timeoutMs: 10_000,
      initialIntervalMs: 50,
      maxIntervalMs: 5,
      onPending: (_o, _a, next) => sleeps.push(next),
    });
    expect(sleeps).toEqual([5]);
  });

  it('times out with the last observation and probes once more at the deadline', async () => {
    let probes = 0;
    const at: { elapsedMs: number; remainingMs: number }[] = [];
    const outcome = await poll(
      ({ elapsedMs, remainingMs }) => {
        probes++;
        at.push({ elapsedMs, remainingMs });
        return `observation ${probes}`;
      },
      { until: () => false, timeoutMs: 120, initialIntervalMs: 50, factor: 1 },
    );
    expect(outcome.done).toBe(false);
    if (outcome.done) return;
    expect(outcome.last).toBe(`observation ${probes}`);
    expect(outcome.attempts).toBe(probes);
    // At 0, ~50, ~100 and at the deadline (~120): the last sleep is shortened to end there.
    // On a loaded machine a sleep may overrun and leave 3 probes; the last is still at the deadline.
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(probes).toBeLessThanOrEqual(4);
    expect(at.at(-1)?.remainingMs).toBe(0);
    expect(at.at(-1)?.elapsedMs).toBeGreaterThanOrEqual(118);
    expect(at.slice(0, -1).every((probe) => probe.remainingMs > 0)).toBe(true);
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(110);
    expect(outcome.elapsedMs).toBeLessThan(400);
  });

  it('with timeoutMs 0 probes exactly once', async () => {
    let probes = 0;
    const outcome = await poll(() => ++probes, { until: () => false, timeoutMs: 0 });
    expect(outcome).toMatchObject({ done: false, last: 1, attempts: 1 });
  });

  it('tells the probe how much time is left', async () => {
    const remaining: number[] = [];
    await poll(
      ({ remainingMs }) => {
        remaining.push(remainingMs);
        return remaining.length;
      },
      { until: (n) => n === 2, timeoutMs: 1000, initialIntervalMs: 10 },
    );
    expect(remaining[0]).toBeGreaterThan(950);
    expect(remaining[1]).toBeLessThan(remaining[0] ?? 0);
    const unlimited: number[] = [];
    await poll(({ remainingMs }) => unlimited.push(remainingMs), { until: () => true, timeoutMs: Infinity });
    expect(unlimited).toEqual([Infinity]);
  });

  it('rejects with the signal reason when aborted during a sleep', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    setTimeout(() => controller.abort(reason), 30);
    const started = performance.now();
    await expect(poll(() => 0, { until: () => false, timeoutMs: 10_000, initialIntervalMs: 5000, signal: controller.signal })).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when the signal is already aborted, without probing', async () => {
    let probes = 0;
    const controller = new AbortController();
    controller.abort(new Error('already'));
    await expect(poll(() => ++probes, { until: () => true, timeoutMs: 100, signal: controller.signal })).rejects.toThrow('already');
    expect(probes).toBe(0);
  });

  it('passes the signal to the probe and propagates probe errors', async () => {
    const controller = new AbortController();
    let received: AbortSignal | undefined;
    await expect(
      poll(
        ({ signal }) => {
          received = signal;
          throw new Error('probe failed');
        },
        { until: () => true, timeoutMs: 100, signal: controller.signal },
      ),
    ).rejects.toThrow('probe failed');
    expect(received).toBe(controller.signal);
  });

  it('rejects nonsense options', async () => {
    await expect(poll(() => 0, { until: () => true, timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(poll(() => 0, { until: () => true, timeoutMs: 1, factor: 0.5 })).rejects.toThrow(RangeError);
  });
});

describe('sleep', () => {
  it('resolves after the delay and cleans up its abort listener', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const pending = sleep(30, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await pending;
    // Timers may fire up to a millisecond early.
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    // A long wait sleeps hundreds of times on one signal: each sleep must take its listener away.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('removes its abort listener when aborted too', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('bye'));
    await expect(pending).rejects.toThrow('bye');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the abort reason', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('bye'));
    await expect(pending).rejects.toThrow('bye');
  });
});
