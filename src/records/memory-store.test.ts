import { expect, it } from 'vitest';
import { recordStoreConformance } from './conformance.js';
import { MemoryRecordStore } from './memory-store.js';
import { canListTxt, type TxtRecordStore } from './store.js';

recordStoreConformance({ test: it, open: async () => new MemoryRecordStore(['example.test']), prefix: 'MemoryRecordStore: ' });

it('canListTxt tells a store that lists values from one that cannot', () => {
  const { txtValues: _omitted, ...cannotList } = Object.fromEntries(
    (['zones', 'txtValues', 'cnameTarget', 'appendTxt', 'deleteTxt'] as const).map((method) => [method, async () => []]),
  ) as unknown as Required<TxtRecordStore>;
  expect(canListTxt(new MemoryRecordStore([]))).toBe(true);
  expect(canListTxt(cannotList as TxtRecordStore)).toBe(false);
});
