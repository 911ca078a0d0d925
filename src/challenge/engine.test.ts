import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../records/journal.js';
import { MemoryRecordStore } from '../records/memory-store.js';
import type { Logger } from '../util/log.js';
import { ChallengeEngine, type RecordsWaiter } from './engine.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const VALUE = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const OTHER = '-starts-with-a-dash_Zm9vYmFyYmF6cXV4cXV1eA';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`warning: ${m}`), debug: () => undefined };
}

async function setup(store: MemoryRecordStore, waitForRecords: RecordsWaiter = async () => undefined) {
  const dir = await scratchDir('engine');
  dirs.push(dir);
  const journal = new Journal(dir);
  const log = recordingLogger();
  const engine = new ChallengeEngine({ store, journal, apiUrl: 'https://box.test/admin', waitForRecords, log, ownerPid: process.pid });
  return { engine, journal, log };
}

/** The run's snapshot: CNAMEs as they were when the run first looked. */
class SnapshotStore extends MemoryRecordStore {
  readonly snapshot: Record<string, string>;
  constructor(zones: string[], cnames: Record<string, string>) {
    super(zones, cnames);
    this.snapshot = { ...cnames };
  }
  async cachedCnameTarget(name: string): Promise<string | undefined> {
    return this.snapshot[name];
  }
}

describe('ChallengeEngine: whatever fails after a write, the record is gone', () => {
  for (const [label, error] of [
    ['a plain Error', new Error('boom')],
    ['a RangeError from a lower layer', new RangeError('The "port" argument must be of type number. Received function')],
  ] as const) {
    it(`present: the waiter throws ${label}`, async () => {
      const store = new MemoryRecordStore(['example.test']);
      const { engine, journal } = await setup(store, async () => {
        throw error;
      });
      await expect(engine.present([{ name: 'example.test', value: VALUE }], { wait: true })).rejects.toBe(error);
      expect(await store.txtValues('_acme-challenge.example.test')).toEqual([]);
      expect(await journal.list()).toEqual([]);
      expect(engine.pendingWrites).toEqual([]);
    });
  }

  it('present: an exception thrown outside any promise (a socket callback) is caught, the record removed', async () => {
    const store = new MemoryRecordStore(['example.test']);
    const thrown = new RangeError('ERR_SOCKET_BAD_PORT');
    const { engine } = await setup(store, (_records, signal) => {
      setImmediate(() => {
        throw thrown;
      });
      // A wait that would go on for long: the engine must stop it.
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    });
    await expect(engine.present([{ name: 'example.test', value: VALUE }], { wait: true })).rejects.toBe(thrown);
    expect(await store.txtValues('_acme-challenge.example.test')).toEqual([]);
    expect(process.listenerCount('uncaughtException')).toBeLessThan(10);
  }, 10_000);

  it('waitOrRemove (certbot, last call): a failed wait removes the records of the run', async () => {
    const store = new MemoryRecordStore(['example.test']);
    const { engine } = await setup(store, async () => {
      throw new TypeError('not ours');
    });
    const [record] = await engine.present([{ name: 'example.test', value: VALUE }], { wait: false });
    expect(await store.txtValues('_acme-challenge.example.test')).toEqual([VALUE]);
    await expect(engine.waitOrRemove(await engine.recordsOfThisRun())).rejects.toThrow('not ours');
    expect(record).toBeDefined();
    expect(await store.txtValues('_acme-challenge.example.test')).toEqual([]);
  });
});

describe('ChallengeEngine: the CNAME check is fresh at every write', () => {
  it('a CNAME added after the snapshot refuses the write and writes nothing beside it', async () => {
    const store = new SnapshotStore(['example.test', 'other.test'], {});
    const { engine } = await setup(store);
    await engine.present([{ name: 'a.example.test', value: VALUE }], { wait: false });
    store.setCname('_acme-challenge.b.example.test', 'b.other.test');
    await expect(engine.present([{ name: 'b.example.test', value: OTHER }], { wait: false })).rejects.toMatchObject({ code: 'cname-conflict' });
    expect(await store.txtValues('_acme-challenge.b.example.test')).toEqual([]);
    expect(await store.txtValues('_acme-challenge.a.example.test')).toEqual([VALUE]);
  });

  it('a batch whose second name got a CNAME removes the first record too', async () => {
    const store = new SnapshotStore(['example.test', 'other.test'], {});
    store.setCname('_acme-challenge.b.example.test', 'b.other.test');
    const { engine } = await setup(store);
    await expect(engine.present([{ name: 'a.example.test', value: VALUE }, { name: 'b.example.test', value: OTHER }], { wait: false })).rejects.toMatchObject({ code: 'cname-conflict' });
    expect(await store.txtValues('_acme-challenge.a.example.test')).toEqual([]);
    expect(await store.txtValues('_acme-challenge.b.example.test')).toEqual([]);
  });

  it('follows a CNAME the snapshot knows into another zone', async () => {
    const store = new SnapshotStore(['example.test', 'other.test'], { '_acme-challenge.c.example.test': 'x.acme.other.test' });
    const { engine } = await setup(store);
    const [record] = await engine.present([{ name: '*.c.example.test', value: VALUE }], { wait: false });
    expect(record).toMatchObject({ fqdn: 'x.acme.other.test', zone: 'other.test', requestedName: '_acme-challenge.c.example.test' });
    expect(await store.txtValues('x.acme.other.test')).toEqual([VALUE]);
  });
});

describe('ChallengeEngine: exact record names (lego default mode, acme.sh fulldomain)', () => {
  it('writes at the name given, without adding _acme-challenge., and cleans up there', async () => {
    const store = new MemoryRecordStore(['example.test', 'other.test']);
    const { engine, journal } = await setup(store);
    await engine.present([{ name: 'x.acme.other.test.', value: VALUE, exactName: true }], { wait: false });
    expect(await store.txtValues('x.acme.other.test')).toEqual([VALUE]);
    expect(await store.txtValues('_acme-challenge.x.acme.other.test')).toEqual([]);
    expect(await engine.cleanup('x.acme.other.test.', VALUE, { exactName: true })).toMatchObject({ removed: true });
    expect(await store.txtValues('x.acme.other.test')).toEqual([]);
    expect(await journal.list()).toEqual([]);
  });

  it('a domain (not exact) still gets _acme-challenge. in front', async () => {
    const store = new MemoryRecordStore(['example.test']);
    const { engine } = await setup(store);
    await engine.present([{ name: 'example.test.', value: VALUE }], { wait: false });
    expect(await store.txtValues('_acme-challenge.example.test')).toEqual([VALUE]);
  });
});

describe('ChallengeEngine: what cleanup says', () => {
  it('a value that is not there: says so, not "removed"', async () => {
    const store = new MemoryRecordStore(['example.test']);
    await store.appendTxt('_acme-challenge.example.test', OTHER);
    const { engine, log } = await setup(store);
    expect(await engine.cleanup('example.test', VALUE)).toMatchObject({ removed: false });
    expect(log.lines.join('\n')).toMatch(/was not there/);
    expect(log.lines.join('\n')).not.toMatch(/removed TXT/);
    expect(await store.txtValues('_acme-challenge.example.test')).toEqual([OTHER]);
  });

  it('a DELETE answered with an error while the record is gone counts as removed (read back)', async () => {
    class FailingDelete extends MemoryRecordStore {
      removesAnyway = true;
      override async deleteTxt(name: string, value: string): Promise<void> {
        if (this.removesAnyway) await super.deleteTxt(name, value);
        throw new Error('HTTP 500 Internal Server Error');
      }
    }
    const store = new FailingDelete(['example.test']);
    const { engine, journal, log } = await setup(store, async () => {
      throw new Error('propagation timed out');
    });
    await expect(engine.present([{ name: 'example.test', value: VALUE }], { wait: true })).rejects.toThrow('propagation timed out');
    expect(log.lines.join('\n')).not.toMatch(/could not remove/);
    expect(log.lines.join('\n')).toMatch(/the record is gone/);
    expect(await journal.list()).toEqual([]);

    // Still there after the error: reported, and kept in the journal for cleanup --stale.
    store.removesAnyway = false;
    await expect(engine.present([{ name: 'example.test', value: OTHER }], { wait: true })).rejects.toThrow('propagation timed out');
    expect(log.lines.join('\n')).toMatch(/could not remove TXT _acme-challenge.example.test/);
    expect((await journal.list()).map((entry) => entry.value)).toEqual([OTHER]);
  });
});

describe('ChallengeEngine: journal entries identify processes by PID and start time', () => {
  it('records the start times of the writer and the owner', async () => {
    const store = new MemoryRecordStore(['example.test']);
    const { engine, journal } = await setup(store);
    await engine.present([{ name: 'example.test', value: VALUE }], { wait: false });
    const [entry] = await journal.list();
    expect(entry?.startTime).toBeGreaterThan(0);
    expect(entry?.ownerStartTime).toBe(entry?.startTime);
    expect(await engine.recordsOfThisRun()).toHaveLength(1);
  });
});
