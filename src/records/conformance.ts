/**
 * The record-store contract (see store.ts) as a test suite every provider runs (the in-memory
 * reference, Mail-in-a-Box and cPanel against their emulators, in each auth mode).
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

  it('names its zones lower-case, without a trailing dot', async () => {
    for (const zone of await (await make()).zones()) expect(zone).toMatch(/^[a-z0-9.-]+[a-z0-9]$/);
  });

  it('keeps a wildcard + apex pair as two values; removing one leaves the other', async () => {
    const store = await make();
    const wildcard = 'Wv2-ZyR3c0cVKDgmvRJSpmhEXFQ5mA3jNhLj7tbbK_Q';
    const apex = '-5tEBxlWhzn0PcnKALRqEYWj1vyBV2FRm0ZtVeEfIdw';
    await store.appendTxt(name, wildcard);
    await store.appendTxt(name, apex);
    expect((await store.txtValues(name)).sort()).toEqual([apex, wildcard].sort());
    await store.deleteTxt(name, wildcard);
    expect(await store.txtValues(name)).toEqual([apex]);
  });

  it('takes values beginning with - and -- verbatim', async () => {
    const store = await make();
    await store.appendTxt(name, '--leading-dashes');
    await store.appendTxt(name, '-one-dash');
    expect((await store.txtValues(name)).sort()).toEqual(['--leading-dashes', '-one-dash']);
    await store.deleteTxt(name, '--leading-dashes');
    expect(await store.txtValues(name)).toEqual(['-one-dash']);
  });

  it('still answers after refresh(), when it has one', async () => {
    const store = await make();
    await store.appendTxt(name, 'before-refresh');
    await store.refresh?.();
    expect(await store.zones()).toContain('example.test');
    expect(await store.txtValues(name)).toEqual(['before-refresh']);
  });

  it('answers an empty list and no CNAME for an unknown name', async () => {
    const store = await make();
    expect(await store.txtValues('_acme-challenge.nothing.example.test')).toEqual([]);
    expect(await store.cnameTarget('_acme-challenge.nothing.example.test')).toBeUndefined();
  });
}
