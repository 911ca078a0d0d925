/**
 * A store that cannot list TXT values (store.ts's optional capability, e.g. the serve client):
 * the engine says it cannot verify and goes on, instead of failing with a usage error.
 */
import { rm } from 'node:fs/promises';
import { afterEach, expect, it } from 'vitest';
import { Journal } from '../records/journal.js';
import { MemoryRecordStore } from '../records/memory-store.js';
import type { TxtRecordStore } from '../records/store.js';
import type { Logger } from '../util/log.js';
import { ChallengeEngine } from './engine.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const VALUE = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const NAME = '_acme-challenge.example.test';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The memory store seen through the methods a store that cannot list offers. */
function withoutListing(inner: MemoryRecordStore, failDeletes = false): TxtRecordStore {
  return {
    zones: () => inner.zones(),
    cnameTarget: (name) => inner.cnameTarget(name),
    appendTxt: (name, value) => inner.appendTxt(name, value),
    deleteTxt: async (name, value) => {
      if (failDeletes) throw new Error('the host answered HTTP 500');
      await inner.deleteTxt(name, value);
    },
  };
}

async function engineOver(store: TxtRecordStore): Promise<{ engine: ChallengeEngine; lines: string[] }> {
  const dir = await scratchDir('engine-cannot-list');
  dirs.push(dir);
  const lines: string[] = [];
  const log: Logger = { info: (m) => void lines.push(m), warn: (m) => void lines.push(`warning: ${m}`), debug: () => undefined };
  const engine = new ChallengeEngine({ store, journal: new Journal(dir), apiUrl: 'https://serve.test', waitForRecords: async () => undefined, log, ownerPid: process.pid });
  return { engine, lines };
}

it('cleanup of a value it has no journal entry for: says it cannot verify, and removes it', async () => {
  const inner = new MemoryRecordStore(['example.test']);
  await inner.appendTxt(NAME, VALUE);
  const { engine, lines } = await engineOver(withoutListing(inner));
  await expect(engine.cleanup('example.test', VALUE)).resolves.toMatchObject({ fqdn: NAME, value: VALUE });
  expect(lines.some((line) => line.startsWith(`cannot verify that TXT ${NAME}`))).toBe(true);
  expect(await inner.txtValues(NAME)).toEqual([]);
});

it('present then cleanup works end to end without ever reading values', async () => {
  const inner = new MemoryRecordStore(['example.test']);
  const { engine } = await engineOver(withoutListing(inner));
  await engine.present([{ name: 'example.test', value: VALUE }], { wait: false });
  expect(await inner.txtValues(NAME)).toEqual([VALUE]);
  await engine.cleanup('example.test', VALUE);
  expect(await inner.txtValues(NAME)).toEqual([]);
});

it('a failed DELETE it cannot check afterwards is reported as the failure, never as removed', async () => {
  const inner = new MemoryRecordStore(['example.test']);
  const { engine } = await engineOver(withoutListing(inner, true));
  await engine.present([{ name: 'example.test', value: VALUE }], { wait: false });
  await expect(engine.cleanup('example.test', VALUE)).rejects.toThrow('HTTP 500');
  expect(await inner.txtValues(NAME)).toEqual([VALUE]);
});
