/**
 * The A/AAAA contract of `DnsProvider.addresses` (src/providers/provider.ts), what dynamic DNS
 * through `serve` relies on, run against every provider that has it, opened the way the runtime
 * opens it: Mail-in-a-Box (upstream and Power Mail-in-a-Box) against the box emulator with TOTP
 * on, and cPanel against its emulator. A replace leaves exactly the address given for that type,
 * the other family and the name's TXT records stay, and a read is fresh from the host.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { openProvider, type AddressRecordStore, type DnsProvider } from '../src/providers/index.js';
import { silentLogger } from '../src/util/log.js';
import { harness, stopAll } from './cpanel/harness.js';
import { startEmulator, type MiabEmulator } from './emulator/index.js';
import { TEST_PASSWORD, TEST_TOTP_SECRET } from './fixtures/topology.js';
import { scratchDir } from './fixtures/scratch.js';

const EMAIL = 'admin@example.test';
const opened: { emulator: MiabEmulator; provider: DnsProvider; dir: string }[] = [];

afterAll(async () => {
  for (const { emulator, provider, dir } of opened) {
    await provider.close();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
  await stopAll();
});

async function boxProvider(flavor: 'upstream' | 'power'): Promise<DnsProvider> {
  const emulator = await startEmulator({ flavor, zones: ['example.test'], users: [{ email: EMAIL, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }] });
  const dir = await scratchDir('address-conformance');
  const { config, provider: providerConfig } = await loadConfig({
    env: { MIAB_URL: emulator.url, MIAB_EMAIL: EMAIL, MIAB_PASSWORD: TEST_PASSWORD, MIAB_TOTP_SECRET: TEST_TOTP_SECRET, MIAB_STATE_DIR: dir, ...(flavor === 'power' ? { MIAB_FLAVOR: 'power' } : {}) },
  });
  const provider = await openProvider(providerConfig, { stateDir: config.stateDir, log: silentLogger, ownerPid: process.pid });
  opened.push({ emulator, provider, dir });
  return provider;
}

const PROVIDERS: readonly (readonly [string, number, () => Promise<DnsProvider>])[] = [
  ['Mail-in-a-Box', 86_400, () => boxProvider('upstream')],
  ['Power Mail-in-a-Box', 60, () => boxProvider('power')],
  ['cPanel, token', 60, async () => (await harness('token')).openViaRegistry()],
];

for (const [label, ttl, open] of PROVIDERS) {
  describe(label, () => {
    it('replace leaves exactly the address of that type; the other family and the TXT stay; reads are fresh', async () => {
      const provider = await open();
      const addresses = provider.addresses as AddressRecordStore;
      expect(addresses).toBeDefined();
      expect(addresses.ttlSeconds).toBe(ttl);
      expect(await addresses.zones()).toContain('example.test');
      const name = 'home.example.test';
      expect(await addresses.read(name)).toEqual({ a: [], aaaa: [], cname: undefined });
      await provider.store.appendTxt(name, 'keep-me');
      await addresses.replace(name, 'A', '198.51.100.1');
      await addresses.replace(name, 'AAAA', '2001:db8::1');
      expect(await addresses.read(name)).toEqual({ a: ['198.51.100.1'], aaaa: ['2001:db8::1'], cname: undefined });
      await addresses.replace(name, 'A', '198.51.100.2');
      expect(await addresses.read(name)).toEqual({ a: ['198.51.100.2'], aaaa: ['2001:db8::1'], cname: undefined });
      // The same address again changes nothing and succeeds.
      await addresses.replace(name, 'A', '198.51.100.2');
      expect((await addresses.read(name)).a).toEqual(['198.51.100.2']);
      expect(await provider.store.txtValues?.(name)).toEqual(['keep-me']);
      expect(await addresses.read('other.example.test')).toEqual({ a: [], aaaa: [], cname: undefined });
    });
  });
}
