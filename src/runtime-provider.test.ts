/**
 * The library's seam for a host this package does not ship: `openRuntime` takes a provider or
 * a record store the caller built (from the package's exports only), reads no provider
 * setting, and the engine presents, journals and cleans up through it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, openRuntime, providerFromStore, silentLogger, type DnsProvider, type StoreCallOptions, type TxtRecordStore } from './index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'runtime-provider-'));
  dirs.push(dir);
  return dir;
}

/** A third party's store, written against the exported interface alone; it logs every call. */
class CallerStore implements TxtRecordStore {
  readonly calls: string[] = [];
  readonly records = new Map<string, string[]>();
  constructor(readonly cnames: Readonly<Record<string, string>> = {}) {}
  async zones(): Promise<string[]> {
    return ['example.org'];
  }
  async txtValues(name: string): Promise<string[]> {
    return [...(this.records.get(name) ?? [])];
  }
  async cnameTarget(name: string): Promise<string | undefined> {
    this.calls.push(`cname ${name}`);
    return this.cnames[name];
  }
  async appendTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    this.calls.push(`append ${name} ${value}`);
    const values = this.records.get(name) ?? [];
    if (!values.includes(value)) this.records.set(name, [...values, value]);
  }
  async deleteTxt(name: string, value: string): Promise<void> {
    this.calls.push(`delete ${name} ${value}`);
    this.records.set(name, (this.records.get(name) ?? []).filter((held) => held !== value));
  }
}

/** No Mail-in-a-Box, cPanel or serve setting at all: only the shared ones. */
function env(dir: string): Record<string, string> {
  return { MIAB_STATE_DIR: dir, MIAB_PROPAGATION_WAIT: '0' };
}

describe('openRuntime with a caller-built host', () => {
  it('presents, journals and cleans up through a store given as `store`', async () => {
    const dir = await stateDir();
    const store = new CallerStore();
    const runtime = await openRuntime({ env: env(dir), store, log: silentLogger, ownerPid: process.pid });
    try {
      expect(runtime.config.provider).toBe('custom');
      expect(runtime.provider.store).toBe(store);
      const [record] = await runtime.engine.present([{ name: 'www.example.org', value: 'token-value-1' }], { wait: true });
      expect(record).toMatchObject({ fqdn: '_acme-challenge.www.example.org', zone: 'example.org' });
      expect(store.records.get('_acme-challenge.www.example.org')).toEqual(['token-value-1']);
      // The fresh CNAME check runs before the write, as it does for the hosts we ship.
      expect(store.calls.indexOf('cname _acme-challenge.www.example.org')).toBeLessThan(store.calls.indexOf('append _acme-challenge.www.example.org token-value-1'));
      expect(await new Journal(dir).list('custom:store')).toHaveLength(1);

      const cleaned = await runtime.engine.cleanup('www.example.org', 'token-value-1');
      expect(cleaned.removed).toBe(true);
      expect(store.records.get('_acme-challenge.www.example.org')).toEqual([]);
      expect(await new Journal(dir).list()).toEqual([]);
      expect((await runtime.provider.check()).zones).toEqual(['example.org']);
    } finally {
      await runtime.close();
    }
  });

  it('uses a provider given as `provider`: its name, its identity for the journal, its CNAME delegation, its close', async () => {
    const dir = await stateDir();
    const store = new CallerStore({ '_acme-challenge.example.org': 'example-org.acme.example.org' });
    let closed = 0;
    const provider: DnsProvider = { ...providerFromStore(store, { name: 'my-dns', identity: 'my-dns:account-7', hostLabel: 'my-dns account' }), close: async () => void closed++ };
    const runtime = await openRuntime({ env: env(dir), provider, log: silentLogger, ownerPid: process.pid });
    expect(runtime.provider).toBe(provider);
    expect(runtime.config.provider).toBe('my-dns');
    await runtime.engine.present([{ name: 'example.org', value: 'token-value-2' }], { wait: false });
    expect(store.records.get('example-org.acme.example.org')).toEqual(['token-value-2']);
    expect((await new Journal(dir).list('my-dns:account-7')).map((entry) => entry.fqdn)).toEqual(['example-org.acme.example.org']);
    expect((await runtime.engine.cleanup('example.org', 'token-value-2')).removed).toBe(true);
    expect(store.records.get('example-org.acme.example.org')).toEqual([]);
    await runtime.close();
    expect(closed).toBe(1);
  });

  it('still checks the shared settings, and refuses a provider and a store together', async () => {
    const dir = await stateDir();
    const store = new CallerStore();
    await expect(openRuntime({ env: { MIAB_STATE_DIR: 'relative/dir' }, store, log: silentLogger })).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringContaining('MIAB_STATE_DIR') });
    await expect(openRuntime({ env: env(dir), store, provider: providerFromStore(store), log: silentLogger })).rejects.toMatchObject({ code: 'config-invalid' });
    expect(store.calls).toEqual([]);
  });
});
