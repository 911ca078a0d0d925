/**
 * DNS-01 challenge functions for acme-client's `auto()`. auto() starts every authorization at
 * once and answers each challenge as soon as its create function returns. We queue the writes
 * (the box serves one request at a time) and hold every create function until ALL records of
 * the order are written and served by every authoritative nameserver: one wait per order, and
 * no challenge answered early.
 *
 * acme-client cannot be cancelled: after an abort (or removeAll) its auto() may still call the
 * create function. From then on no new write starts, and a write already in flight is undone
 * as soon as it lands, before removeAll returns.
 */
import type { ChallengeEngine, ChallengeRecord, UndoOutcome } from '../challenge/engine.js';
import { stderrLogger, type Logger } from '../util/log.js';
import { sleep } from '../util/poll.js';
import { SerialQueue } from '../util/serial-queue.js';

/** The three arguments acme-client passes; only what we read is typed. */
export interface AcmeAuthorization {
  readonly identifier: { readonly value: string };
}
export interface AcmeChallenge {
  readonly type: string;
}

export interface Dns01ChallengeOptions {
  readonly engine: ChallengeEngine;
  /** Progress lines. @default stderr */
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  /**
   * How long to wait after the write queue empties for further authorizations before the
   * batch's propagation wait starts. @default 150
   */
  readonly settleMs?: number;
}

export interface Dns01Challenge {
  /** Pass as `challengePriority` to auto(). */
  readonly challengePriority: ['dns-01'];
  /** Always pass `skipChallengeVerification: true`: acme-client's own check asks the system resolver. */
  readonly skipChallengeVerification: true;
  challengeCreateFn(authz: AcmeAuthorization, challenge: AcmeChallenge, keyAuthorization: string): Promise<void>;
  challengeRemoveFn(authz: AcmeAuthorization, challenge: AcmeChallenge, keyAuthorization: string): Promise<void>;
  /**
   * Removes whatever is still published, once every write in flight has landed; no write
   * starts afterwards. The one undo of an order (issue.ts passes it to the engine's
   * undoOnFailure); says how many records it had to remove and which stay.
   */
  removeAll(): Promise<UndoOutcome>;
}

interface Batch {
  readonly records: ChallengeRecord[];
  ready: Promise<void> | undefined;
}

export function createDns01Challenge(options: Dns01ChallengeOptions): Dns01Challenge {
  const { engine } = options;
  const log = options.log ?? stderrLogger();
  const settleMs = options.settleMs ?? 150;
  const queue = new SerialQueue();
  const published = new Map<string, ChallengeRecord>();
  // Set on abort and by removeAll: no write may start afterwards.
  let closed = options.signal?.aborted === true;
  options.signal?.addEventListener('abort', () => (closed = true), { once: true });
  const refuseWhenClosed = (): void => {
    if (closed) throw options.signal?.reason instanceof Error ? options.signal.reason : new Error('the challenge run was stopped; no more records are written');
  };
  let batch: Batch = { records: [], ready: undefined };

  const startWait = (current: Batch): Promise<void> => {
    current.ready ??= (async () => {
      // Later authorizations (started after this batch) open a new batch.
      batch = { records: [], ready: undefined };
      log.info(`waiting for ${current.records.length} record(s) on every authoritative nameserver`);
      await engine.wait(current.records, options.signal);
      log.info('all records are served; answering the challenges');
    })();
    return current.ready;
  };

  // Writes queued or running; the batch waits for them, never for its own bookkeeping.
  let writesInFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const whenIdle = (): Promise<void> => (writesInFlight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve)));
  const queueWrite = async <T>(task: () => Promise<T>): Promise<T> => {
    writesInFlight += 1;
    try {
      return await queue.run(task);
    } finally {
      writesInFlight -= 1;
      if (writesInFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  };

  const waitForBatch = async (current: Batch): Promise<void> => {
    // Let authorizations that started at the same time write first: the batch starts once no
    // write is pending and none arrived during a short settle time.
    while (current.ready === undefined) {
      await whenIdle();
      await sleep(settleMs);
      if (writesInFlight === 0) break;
    }
    await startWait(current);
  };

  // Each record is claimed (taken out of the map) before its removal starts, so acme-client's
  // remove callbacks and removeAll() never delete the same value twice.
  const removeRecords = async (records: readonly ChallengeRecord[]): Promise<UndoOutcome> => {
    for (const record of records) published.delete(`${record.fqdn}\n${record.value}`);
    const left: ChallengeRecord[] = [];
    for (const record of records) {
      await queue.run(() => engine.remove(record)).catch((error: unknown) => {
        left.push(record);
        log.warn(`could not remove TXT ${record.fqdn}: ${error instanceof Error ? error.message : String(error)}; run "miab-dns01 cleanup --stale" later`);
      });
    }
    return { written: records.length, left };
  };

  return {
    challengePriority: ['dns-01'],
    skipChallengeVerification: true,
    async challengeCreateFn(authz, challenge, keyAuthorization) {
      if (challenge.type !== 'dns-01') throw new Error(`miab-dns01 only answers dns-01 challenges, got ${challenge.type}; pass challengePriority: ['dns-01']`);
      const current = batch;
      const record = await queueWrite(async () => {
        refuseWhenClosed();
        const [prepared] = await engine.prepare([{ name: authz.identifier.value, value: keyAuthorization }]);
        if (prepared === undefined) throw new Error('no record prepared');
        refuseWhenClosed();
        await engine.write(prepared);
        if (closed) {
          // Stopped while this write was on its way: it landed after the clean-up began.
          await engine.remove(prepared).catch((error: unknown) => log.warn(`could not remove TXT ${prepared.fqdn}: ${error instanceof Error ? error.message : String(error)}; run "miab-dns01 cleanup --stale" later`));
          refuseWhenClosed();
        }
        return prepared;
      });
      published.set(`${record.fqdn}\n${record.value}`, record);
      current.records.push(record);
      await waitForBatch(current);
    },
    async challengeRemoveFn(_authz, _challenge, keyAuthorization) {
      await removeRecords([...published.values()].filter((record) => record.value === keyAuthorization));
    },
    async removeAll() {
      closed = true;
      // A write in flight cannot be called back: let it land (it then removes itself).
      await whenIdle();
      return removeRecords([...published.values()]);
    },
  };
}
