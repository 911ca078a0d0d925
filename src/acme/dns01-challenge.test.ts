import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ChallengeEngine, type ChallengeRecord } from '../challenge/engine.js';
import { Journal } from '../records/journal.js';
import { MemoryRecordStore } from '../records/memory-store.js';
import type { Logger } from '../util/log.js';
import { createDns01Challenge } from './dns01-challenge.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A box that takes a while per write and remembers when each one started. */
class SlowStore extends MemoryRecordStore {
  readonly appendsStarted: number[] = [];
  constructor(readonly delayMs: number) {
    super(['example.test', 'other.test']);
  }
  override async appendTxt(name: string, value: string): Promise<void> {
    this.appendsStarted.push(Date.now());
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    await super.appendTxt(name, value);
  }
}

async function engineFor(store: MemoryRecordStore, waits: ChallengeRecord[][]) {
  const dir = await scratchDir('dns01');
  dirs.push(dir);
  const journal = new Journal(dir);
  const engine = new ChallengeEngine({
    store,
    journal,
    apiUrl: 'u',
    log: silent,
    ownerPid: process.pid,
    waitForRecords: async (records) => void waits.push([...records]),
  });
  return { engine, journal };
}

const dns01 = { type: 'dns-01' };
const authz = (value: string) => ({ identifier: { value } });

async function allTxt(store: MemoryRecordStore): Promise<string[]> {
  const names = ['_acme-challenge.a.example.test', '_acme-challenge.b.other.test'];
  return (await Promise.all(names.map((name) => store.txtValues(name)))).flat();
}

describe('createDns01Challenge (issue batching)', () => {
  it('writes every record of an order, waits once for all, and answers only after that', async () => {
    const store = new SlowStore(5);
    const waits: ChallengeRecord[][] = [];
    const { engine, journal } = await engineFor(store, waits);
    const challenge = createDns01Challenge({ engine, log: silent, settleMs: 20 });
    await Promise.all([
      challenge.challengeCreateFn(authz('a.example.test'), dns01, 'value-apex'),
      challenge.challengeCreateFn(authz('a.example.test'), dns01, 'value-wildcard'),
      challenge.challengeCreateFn(authz('b.other.test'), dns01, 'value-other'),
    ]);
    expect(waits).toHaveLength(1);
    expect(waits[0]?.map((record) => record.value).sort()).toEqual(['value-apex', 'value-other', 'value-wildcard']);
    expect((await allTxt(store)).sort()).toEqual(['value-apex', 'value-other', 'value-wildcard']);
    await challenge.challengeRemoveFn(authz('a.example.test'), dns01, 'value-apex');
    expect((await allTxt(store)).sort()).toEqual(['value-other', 'value-wildcard']);
    await challenge.removeAll();
    expect(await allTxt(store)).toEqual([]);
    expect(await journal.list()).toEqual([]);
  });

  it('after an abort no write starts, and a write that lands after it is undone before removeAll returns', async () => {
    const store = new SlowStore(60);
    const waits: ChallengeRecord[][] = [];
    const { engine, journal } = await engineFor(store, waits);
    const controller = new AbortController();
    const challenge = createDns01Challenge({ engine, log: silent, settleMs: 20, signal: controller.signal });
    const creates = [
      challenge.challengeCreateFn(authz('a.example.test'), dns01, 'value-apex'),
      challenge.challengeCreateFn(authz('a.example.test'), dns01, 'value-wildcard'),
      challenge.challengeCreateFn(authz('b.other.test'), dns01, 'value-other'),
    ].map((promise) => promise.then(() => 'answered', () => 'refused'));
    // Abort while the first write is on its way to the box.
    while (store.appendsStarted.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Counted in the same tick as the abort: a millisecond clock cannot order two events of one millisecond.
    const startedBeforeAbort = store.appendsStarted.length;
    controller.abort(new Error('stopped by SIGTERM'));
    await challenge.removeAll();
    expect(await allTxt(store)).toEqual([]);
    expect(await journal.list()).toEqual([]);
    expect(store.appendsStarted).toHaveLength(startedBeforeAbort);
    expect(await Promise.all(creates)).toEqual(['refused', 'refused', 'refused']);
    // acme-client's auto() keeps running and may call again: nothing is written.
    await expect(challenge.challengeCreateFn(authz('b.other.test'), dns01, 'late')).rejects.toThrow();
    expect(store.appendsStarted).toHaveLength(1);
    expect(waits).toEqual([]);
  });
});
