import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BoxClient } from './client.js';
import { BoxRecordStore, FRESH_TABLE_READ_MS } from './store.js';
import { scratchDir } from '../../../test/fixtures/scratch.js';

/** The two reads the store makes of the box, counted; `cnames` is what the table holds now. */
function fakeClient(cnames: Record<string, string>): { client: BoxClient; tableReads: () => number } {
  let reads = 0;
  const client = {
    zones: async () => ['example.test'],
    cnames: async () => {
      reads += 1;
      return { ...cnames };
    },
  } as unknown as BoxClient;
  return { client, tableReads: () => reads };
}

let stateDir: string;
beforeEach(async () => {
  stateDir = await scratchDir('box-store');
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('BoxRecordStore: the whole-table read a write costs', () => {
  it('a standalone present reads the table once: the delegation lookup and the fresh check share it', async () => {
    const { client, tableReads } = fakeClient({});
    const store = new BoxRecordStore(client, { stateDir, apiUrl: 'https://box.test/admin', ownerPid: process.pid });
    expect(await store.cachedCnameTarget('_acme-challenge.a.example.test')).toBeUndefined();
    expect(await store.cnameTarget('_acme-challenge.a.example.test')).toBeUndefined();
    expect(tableReads()).toBe(1);
  });

  it('a read older than the freshness bound is not reused: the check reads the table again and sees a new CNAME', async () => {
    const table: Record<string, string> = {};
    const { client, tableReads } = fakeClient(table);
    let now = 1_000_000;
    const store = new BoxRecordStore(client, { stateDir, apiUrl: 'https://box.test/admin', ownerPid: process.pid, now: () => now });
    await store.cachedCnameTarget('_acme-challenge.a.example.test');
    now += FRESH_TABLE_READ_MS;
    table['_acme-challenge.a.example.test'] = 'elsewhere.invalid';
    const fresh = fakeClient(table);
    const again = new BoxRecordStore(fresh.client, { stateDir, apiUrl: 'https://box.test/admin', ownerPid: process.pid, now: () => now });
    // Another process of the run: the shared snapshot serves its delegation lookup, never its check.
    expect(await again.cachedCnameTarget('_acme-challenge.a.example.test')).toBeUndefined();
    expect(await again.cnameTarget('_acme-challenge.a.example.test')).toBe('elsewhere.invalid');
    expect(fresh.tableReads()).toBe(1);
    // The first process, its read now too old: it reads again, and sees the CNAME.
    expect(await store.cnameTarget('_acme-challenge.a.example.test')).toBe('elsewhere.invalid');
    expect(tableReads()).toBe(2);
  });
});
