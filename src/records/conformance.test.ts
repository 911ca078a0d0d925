/**
 * The suite itself can fail: run against stores that break one rule each, through a `test`
 * function that collects the checks instead of registering them, the matching check fails.
 */
import { describe, expect, it } from 'vitest';
import { recordStoreConformance } from './conformance.js';
import { MemoryRecordStore } from './memory-store.js';
import type { StoreCallOptions, TxtRecordStore } from './store.js';

/** Runs every check of the suite against `open`; returns the titles of those that failed. */
async function failingChecks(open: () => Promise<TxtRecordStore>, observeTxt?: (name: string) => Promise<string[]>): Promise<string[]> {
  const checks: [string, () => Promise<void>][] = [];
  recordStoreConformance({ test: (name, body) => checks.push([name, body]), open, prefix: '', ...(observeTxt ? { observeTxt } : {}) });
  const failed: string[] = [];
  for (const [name, body] of checks) await body().catch(() => failed.push(name));
  return failed;
}

class Replacing extends MemoryRecordStore {
  override async appendTxt(name: string, value: string): Promise<void> {
    for (const existing of await this.txtValues(name)) await this.deleteTxt(name, existing);
    await super.appendTxt(name, value);
  }
}

class IgnoresSignal extends MemoryRecordStore {
  override async appendTxt(name: string, value: string, _options?: StoreCallOptions): Promise<void> {
    await super.appendTxt(name, value);
  }
}

class ThrowingRead extends MemoryRecordStore {
  override async txtValues(): Promise<string[]> {
    throw new Error('not supported');
  }
}

describe('the conformance suite', () => {
  it('passes the reference store', async () => {
    expect(await failingChecks(async () => new MemoryRecordStore(['example.test']))).toEqual([]);
  });

  it('fails a store that replaces instead of appending', async () => {
    expect(await failingChecks(async () => new Replacing(['example.test']))).toContain('appends without touching other values, and appending twice changes nothing');
  });

  it('fails a store that ignores a per-call signal', async () => {
    expect(await failingChecks(async () => new IgnoresSignal(['example.test']))).toEqual(['a call whose signal has aborted rejects with its reason and changes nothing']);
  });

  it('fails a store whose txtValues always throws (it should leave the method out)', async () => {
    expect(await failingChecks(async () => new ThrowingRead(['example.test']))).toContain('reading values is offered or left out, never a method that always fails');
  });

  it('runs a store that cannot list through observeTxt, and demands observeTxt', async () => {
    const inner = new MemoryRecordStore(['example.test']);
    const writeOnly = (): TxtRecordStore => ({
      zones: (options) => inner.zones(options),
      cnameTarget: (name, options) => inner.cnameTarget(name, options),
      appendTxt: (name, value, options) => inner.appendTxt(name, value, options),
      deleteTxt: (name, value, options) => inner.deleteTxt(name, value, options),
    });
    expect(await failingChecks(async () => writeOnly(), (name) => inner.txtValues(name))).toEqual([]);
    expect(await failingChecks(async () => writeOnly())).toContain('deletes exactly one value, and deleting a missing value changes nothing');
  });
});
