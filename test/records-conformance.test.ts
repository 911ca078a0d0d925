/**
 * The record-store contract (src/records/conformance.ts) run against EVERY provider, each
 * opened the way the runtime opens it (the one-pass config and the registry): the in-memory
 * reference, Mail-in-a-Box against the box emulator with TOTP on, and cPanel against its
 * emulator in each auth mode. Each store gets a fresh emulator and a fresh state dir.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, PROVIDER_NAMES, type ProviderName } from '../src/config/config.js';
import { openProvider, type DnsProvider } from '../src/providers/index.js';
import { FRESH_TABLE_READ_MS } from '../src/providers/mailinabox/store.js';
import { recordStoreConformance } from '../src/records/conformance.js';
import { MemoryRecordStore } from '../src/records/memory-store.js';
import type { TxtRecordStore } from '../src/records/store.js';
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

async function boxProvider(): Promise<{ provider: DnsProvider; emulator: MiabEmulator }> {
  const emulator = await startEmulator({ zones: ['example.test', 'other.test'], users: [{ email: EMAIL, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }] });
  const dir = await scratchDir('conformance');
  const { config, provider: providerConfig } = await loadConfig({
    env: { MIAB_URL: emulator.url, MIAB_EMAIL: EMAIL, MIAB_PASSWORD: TEST_PASSWORD, MIAB_TOTP_SECRET: TEST_TOTP_SECRET, MIAB_STATE_DIR: dir },
  });
  const provider = await openProvider(providerConfig, { stateDir: config.stateDir, log: silentLogger, ownerPid: process.pid });
  opened.push({ emulator, provider, dir });
  return { provider, emulator };
}

/** Every provider the registry knows, and how this file opens a fresh one serving example.test. */
const PROVIDERS: Readonly<Record<ProviderName, readonly (readonly [string, () => Promise<TxtRecordStore>])[]>> = {
  mailinabox: [['Mail-in-a-Box, session with TOTP', async () => (await boxProvider()).provider.store]],
  cpanel: (['token', 'otp-header', 'session'] as const).map((mode) => [`cPanel, ${mode}`, async () => (await (await harness(mode)).openViaRegistry()).store] as const),
  // A serve client is not a DNS host: the httpreq protocol cannot list TXT values, so it cannot
  // run this suite. test/serve/serve-client.test.ts covers it against a live serve instead.
  serve: [],
};

it('covers every provider the registry knows', () => {
  expect(Object.keys(PROVIDERS)).toEqual([...PROVIDER_NAMES]);
});

describe('in-memory reference store', () => {
  recordStoreConformance(async () => new MemoryRecordStore(['example.test']));
});

for (const [label, make] of Object.values(PROVIDERS).flat()) {
  describe(label, () => {
    recordStoreConformance(make);
  });
}

describe('Mail-in-a-Box specifics', () => {
  it('identity is the admin API URL (existing journals stay valid)', async () => {
    const { provider, emulator } = await boxProvider();
    expect(provider).toMatchObject({ name: 'mailinabox', identity: emulator.url });
  });

  it('cnameTarget reads the box (past the freshness bound), even when the run snapshot was taken before the CNAME existed', async () => {
    const { provider, emulator } = await boxProvider();
    const { store } = provider;
    expect(await store.cachedCnameTarget?.('_acme-challenge.late.example.test')).toBeUndefined();
    const added = await fetch(`${emulator.url}/dns/custom/_acme-challenge.late.example.test/CNAME`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${emulator.systemKey}:`).toString('base64')}`, 'content-type': 'text/plain' },
      body: 'late.other.test',
    });
    expect(added.status).toBe(200);
    // A table read this process sent less than FRESH_TABLE_READ_MS ago serves the check (one
    // table read per present, docs/performance.md); past that bound the check reads the box.
    await new Promise((resolve) => setTimeout(resolve, FRESH_TABLE_READ_MS + 50));
    expect(await store.cnameTarget('_acme-challenge.late.example.test')).toBe('late.other.test');
    // The snapshot learnt it too: later processes of the run follow the new CNAME.
    expect(await store.cachedCnameTarget?.('_acme-challenge.late.example.test')).toBe('late.other.test');
  });
});
