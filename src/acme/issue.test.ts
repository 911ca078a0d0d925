import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ChallengeEngine, type RecordsWaiter } from '../challenge/engine.js';
import { MiabDns01Error } from '../errors.js';
import { Journal } from '../records/journal.js';
import { MemoryRecordStore } from '../records/memory-store.js';
import type { Logger } from '../util/log.js';
import { scratchDir } from '../../test/fixtures/scratch.js';
import type { Dns01Challenge } from './dns01-challenge.js';
import { progressFromAcmeClient, runOrder } from './issue.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('progress lines from acme-client', () => {
  it('a wildcard + apex order says "answering" once per name, not once per authorization', () => {
    const lines: string[] = [];
    const progress = progressFromAcmeClient({ info: (line) => void lines.push(line), warn: () => undefined, debug: () => undefined });
    progress('[auto] Placed certificate order successfully, received 2 identifiers');
    progress('[auto] [example.test] Completing challenge');
    progress('[auto] [example.test] Completing challenge');
    progress('[auto] [other.test] Completing challenge');
    expect(lines.filter((line) => line.startsWith('answering'))).toEqual(['answering the challenge for example.test', 'answering the challenge for other.test']);
  });
});

/** An in-memory box that counts every deleteTxt call per value. */
class CountingStore extends MemoryRecordStore {
  readonly deletes = new Map<string, number>();
  constructor() {
    super(['example.test']);
  }
  override async deleteTxt(name: string, value: string): Promise<void> {
    this.deletes.set(value, (this.deletes.get(value) ?? 0) + 1);
    await super.deleteTxt(name, value);
  }
}

async function setUp(waitForRecords: RecordsWaiter): Promise<{ store: CountingStore; engine: ChallengeEngine; journal: Journal }> {
  const dir = await scratchDir('order');
  dirs.push(dir);
  const store = new CountingStore();
  const journal = new Journal(dir);
  return { store, journal, engine: new ChallengeEngine({ store, journal, apiUrl: 'u', log: silent, ownerPid: process.pid, waitForRecords }) };
}

const dns01 = { type: 'dns-01' };
const VALUES = ['value-apex', 'value-wildcard'];

/** What acme-client's auto() does with the challenge functions: create each, and in a finally remove each. */
function acmeClientAuto(challenge: Dns01Challenge): Promise<string> {
  return Promise.all(
    VALUES.map(async (value) => {
      const authz = { identifier: { value: 'a.example.test' } };
      try {
        await challenge.challengeCreateFn(authz, dns01, value);
      } finally {
        await challenge.challengeRemoveFn(authz, dns01, value).catch(() => undefined);
      }
    }),
  ).then(() => 'fullchain');
}

describe('runOrder: one owner of the undo', () => {
  it('a signal during the wait: each record gets exactly one deleteTxt, and the message says what was removed', async () => {
    const controller = new AbortController();
    const { store, engine, journal } = await setUp(async (_records, signal) => {
      controller.abort(new MiabDns01Error('interrupted', 'stopped by SIGTERM', { exitCode: 143 }));
      await new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    });
    const failure = await runOrder(engine, acmeClientAuto, { log: silent, signal: controller.signal, settleMs: 5 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MiabDns01Error);
    expect((failure as Error).message).toBe('stopped by SIGTERM; removed the 2 records this run had written');
    // acme-client's own clean-up still runs after we gave up: let it, then count.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Object.fromEntries(store.deletes)).toEqual({ 'value-apex': 1, 'value-wildcard': 1 });
    expect(await store.txtValues('_acme-challenge.a.example.test')).toEqual([]);
    expect(await journal.list()).toEqual([]);
  });

  it('a failed wait (acme-client removes in its finally, then the order fails): exactly one deleteTxt per record', async () => {
    const { store, engine, journal } = await setUp(async () => {
      throw new MiabDns01Error('propagation-timeout', 'not served in time');
    });
    await expect(runOrder(engine, acmeClientAuto, { log: silent, settleMs: 5 })).rejects.toThrow('not served in time');
    expect(Object.fromEntries(store.deletes)).toEqual({ 'value-apex': 1, 'value-wildcard': 1 });
    expect(await journal.list()).toEqual([]);
  });

  it('an order that fails after the records are answered (finalize refused): one deleteTxt each', async () => {
    const { store, engine } = await setUp(async () => undefined);
    const refused = async (challenge: Dns01Challenge): Promise<string> => {
      await Promise.all(VALUES.map((value) => challenge.challengeCreateFn({ identifier: { value: 'a.example.test' } }, dns01, value)));
      throw new Error('finalize refused');
    };
    await expect(runOrder(engine, refused, { log: silent, settleMs: 5 })).rejects.toThrow('finalize refused');
    expect(Object.fromEntries(store.deletes)).toEqual({ 'value-apex': 1, 'value-wildcard': 1 });
  });

  it('success: acme-client removed each record, nothing is removed twice', async () => {
    const { store, engine } = await setUp(async () => undefined);
    expect(await runOrder(engine, acmeClientAuto, { log: silent, settleMs: 5 })).toBe('fullchain');
    expect(Object.fromEntries(store.deletes)).toEqual({ 'value-apex': 1, 'value-wildcard': 1 });
  });
});
