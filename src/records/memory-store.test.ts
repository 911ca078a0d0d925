import { describe } from 'vitest';
import { recordStoreConformance } from './conformance.js';
import { MemoryRecordStore } from './memory-store.js';

describe('MemoryRecordStore', () => {
  recordStoreConformance(async () => new MemoryRecordStore(['example.test']));
});
