/**
 * The record-store contract (see store.ts) as a test suite any implementation runs.
 * `make` returns a store serving the zone `example.test` with no records.
 */
import { expect, it } from 'vitest';
import type { TxtRecordStore } from './store.js';

export function recordStoreConformance(make: () => Promise<TxtRecordStore>): void {
  const name = '_acme-challenge.example.test';

  it('lists its zones', async () => {
    expect(await (await make()).zones()).toContain('example.test');
  });

  it('appends without touching other values, and appending twice changes nothing', async () => {
    const store = await make();
    await store.appendTxt(name, 'unrelated');
    await store.appendTxt(name, 'one');
    await store.appendTxt(name, 'two');
    await store.appendTxt(name, 'one');
    expect((await store.txtValues(name)).sort()).toEqual(['one', 'two', 'unrelated']);
  });

  it('deletes exactly one value, and deleting a missing value changes nothing', async () => {
    const store = await make();
    await store.appendTxt(name, 'keep');
    await store.appendTxt(name, 'drop');
    await store.deleteTxt(name, 'drop');
    await store.deleteTxt(name, 'drop');
    await store.deleteTxt(name, 'never-there');
    expect(await store.txtValues(name)).toEqual(['keep']);
  });

  it('answers an empty list and no CNAME for an unknown name', async () => {
    const store = await make();
    expect(await store.txtValues('_acme-challenge.nothing.example.test')).toEqual([]);
    expect(await store.cnameTarget('_acme-challenge.nothing.example.test')).toBeUndefined();
  });
}
