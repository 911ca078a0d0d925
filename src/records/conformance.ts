/**
 * The record-store contract (store.ts) as a test suite, shipped as `miab-dns01/conformance` so
 * a provider this package does not ship can prove it honours the contract (docs/conformance.md).
 *
 * It depends on no test framework: the caller passes its own `test` function (vitest's or
 * jest's `it`, node:test's `test`); the checks use node:assert, whose errors every runner
 * reports. Each test opens a fresh store, writes only at `_acme-challenge.<zone>` and removes
 * what it wrote before it ends, so it can run against a real zone.
 */
import assert from 'node:assert/strict';
import { canListTxt, type TxtRecordStore } from './store.js';

export { canListTxt, type ListingTxtRecordStore, type StoreCallOptions, type TxtRecordStore } from './store.js';

/** Registers one test: `it` of vitest or jest, `test` of node:test (extra arguments unused). */
export type ConformanceTestFunction = (name: string, body: () => Promise<void>) => unknown;

export interface RecordStoreConformanceOptions {
  /** The runner's test registration function. */
  readonly test: ConformanceTestFunction;
  /** Opens a store serving `zone`, with no TXT and no CNAME at `_acme-challenge.<zone>`. Called once per test. */
  readonly open: () => Promise<TxtRecordStore>;
  /** Releases what `open` opened; called after every test, passed or failed. */
  readonly close?: (store: TxtRecordStore) => Promise<void>;
  /** The zone the store serves. @default 'example.test' */
  readonly zone?: string;
  /**
   * Reads the TXT values at a name from outside the store (the host's own view): required for
   * a store that cannot list values (no `txtValues`), and checked against `txtValues` when both exist.
   */
  readonly observeTxt?: (name: string) => Promise<string[]>;
  /** Prefix of every test name. @default 'record store: ' */
  readonly prefix?: string;
}

const sorted = (values: readonly string[]): string[] => [...values].sort();

/**
 * A value shaped like a real DNS-01 digest (43 characters of base64url), starting with `label`:
 * a host or a relay (serve) may accept nothing else.
 */
function digest(label: string): string {
  return `${label}${'_0123456789abcdefghijklmnopqrstuvwxyzABCDEF'}`.slice(0, 43);
}

export function recordStoreConformance(options: RecordStoreConformanceOptions): void {
  const zone = options.zone ?? 'example.test';
  const name = `_acme-challenge.${zone}`;
  const unknown = `_acme-challenge.nothing-here.${zone}`;
  const prefix = options.prefix ?? 'record store: ';

  /** The values at `at`, through the store when it can list, through `observeTxt` too when given. */
  async function valuesAt(store: TxtRecordStore, at: string): Promise<string[]> {
    const observed = options.observeTxt === undefined ? undefined : sorted(await options.observeTxt(at));
    if (!canListTxt(store)) {
      assert.ok(observed !== undefined, 'this store cannot list TXT values (no txtValues): pass observeTxt so the suite can see what it wrote');
      return observed;
    }
    const listed = sorted(await store.txtValues(at));
    if (observed !== undefined) assert.deepEqual(listed, observed, `txtValues(${at}) disagrees with what the host holds`);
    return listed;
  }

  /** One test: a fresh store, and every value appended through `append` removed at the end. */
  function check(title: string, body: (store: TxtRecordStore, append: (value: string) => Promise<void>) => Promise<void>): void {
    options.test(`${prefix}${title}`, async () => {
      const store = await options.open();
      const written = new Set<string>();
      const append = async (value: string): Promise<void> => {
        written.add(value);
        await store.appendTxt(name, value);
      };
      try {
        await body(store, append);
      } finally {
        try {
          for (const value of written) await store.deleteTxt(name, value);
        } finally {
          await options.close?.(store);
        }
      }
    });
  }

  check('lists its zones, lower-case and without a trailing dot', async (store) => {
    const zones = await store.zones();
    assert.ok(zones.includes(zone), `zones() should include ${zone}; it answered ${JSON.stringify(zones)}`);
    for (const listed of zones) assert.match(listed, /^[a-z0-9_.-]*[a-z0-9]$/, `zone ${JSON.stringify(listed)} is not lower-case without a trailing dot`);
  });

  check('reading values is offered or left out, never a method that always fails', async (store) => {
    assert.ok(store.txtValues === undefined || typeof store.txtValues === 'function');
    if (canListTxt(store)) assert.ok(Array.isArray(await store.txtValues(name)));
  });

  check('appends without touching other values, and appending twice changes nothing', async (store, append) => {
    await append(digest('unrelated'));
    await append(digest('one'));
    await append(digest('two'));
    await append(digest('one'));
    assert.deepEqual(await valuesAt(store, name), sorted([digest('one'), digest('two'), digest('unrelated')]));
  });

  check('deletes exactly one value, and deleting a missing value changes nothing', async (store, append) => {
    await append(digest('keep'));
    await append(digest('drop'));
    await store.deleteTxt(name, digest('drop'));
    await store.deleteTxt(name, digest('drop'));
    await store.deleteTxt(name, digest('never-there'));
    assert.deepEqual(await valuesAt(store, name), [digest('keep')]);
  });

  check('keeps a wildcard + apex pair as two values; removing one leaves the other', async (store, append) => {
    const wildcard = 'Wv2-ZyR3c0cVKDgmvRJSpmhEXFQ5mA3jNhLj7tbbK_Q';
    const apex = '-5tEBxlWhzn0PcnKALRqEYWj1vyBV2FRm0ZtVeEfIdw';
    await append(wildcard);
    await append(apex);
    assert.deepEqual(await valuesAt(store, name), sorted([apex, wildcard]));
    await store.deleteTxt(name, wildcard);
    assert.deepEqual(await valuesAt(store, name), [apex]);
  });

  check('concurrent appends and deletes at one name each take effect', async (store, append) => {
    const values = [digest('concurrent-a'), digest('concurrent-b'), digest('concurrent-c')];
    await Promise.all(values.map(append));
    assert.deepEqual(await valuesAt(store, name), sorted(values));
    await Promise.all(values.slice(0, 2).map((value) => store.deleteTxt(name, value)));
    assert.deepEqual(await valuesAt(store, name), [digest('concurrent-c')]);
  });

  check('takes values beginning with - and -- verbatim', async (store, append) => {
    await append(digest('--leading-dashes'));
    await append(digest('-one-dash'));
    assert.deepEqual(await valuesAt(store, name), sorted([digest('--leading-dashes'), digest('-one-dash')]));
    await store.deleteTxt(name, digest('--leading-dashes'));
    assert.deepEqual(await valuesAt(store, name), [digest('-one-dash')]);
  });

  check('still answers after refresh(), when it has one', async (store, append) => {
    await append(digest('before-refresh'));
    await store.refresh?.();
    assert.ok((await store.zones()).includes(zone));
    assert.deepEqual(await valuesAt(store, name), [digest('before-refresh')]);
  });

  check('answers no values and no CNAME for an unknown name', async (store) => {
    if (canListTxt(store)) assert.deepEqual(await store.txtValues(unknown), []);
    assert.equal(await store.cnameTarget(unknown), undefined);
    assert.equal(await store.cnameTarget(name), undefined);
  });

  check('a call whose signal has aborted rejects with its reason and changes nothing', async (store, append) => {
    await append(digest('present-before'));
    const controller = new AbortController();
    const reason = new Error('conformance: stopped on purpose');
    controller.abort(reason);
    const signal = controller.signal;
    const calls: [string, () => Promise<unknown>][] = [
      ['zones', () => store.zones({ signal })],
      ['cnameTarget', () => store.cnameTarget(name, { signal })],
      ['appendTxt', () => store.appendTxt(name, digest('never-written'), { signal })],
      ['deleteTxt', () => store.deleteTxt(name, digest('present-before'), { signal })],
    ];
    if (canListTxt(store)) calls.push(['txtValues', () => store.txtValues(name, { signal })]);
    if (store.cachedCnameTarget !== undefined) calls.push(['cachedCnameTarget', () => store.cachedCnameTarget?.(name, { signal }) ?? Promise.resolve()]);
    if (store.refresh !== undefined) calls.push(['refresh', () => store.refresh?.({ signal }) ?? Promise.resolve()]);
    for (const [method, call] of calls) {
      await assert.rejects(call(), (error: unknown) => error === reason, `${method} with an aborted signal should reject with the signal's reason`);
    }
    assert.deepEqual(await valuesAt(store, name), [digest('present-before')]);
  });
}
