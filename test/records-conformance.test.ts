/**
 * The record-store contract (the shipped suite, `miab-dns01/conformance`, built from
 * src/records/conformance.ts) run once per provider and auth mode, each store opened the way the
 * runtime opens it (the one-pass config and the registry): the in-memory reference;
 * Mail-in-a-Box with a session and TOTP, with the system key, and the Power Mail-in-a-Box fork,
 * each against the box emulator; cPanel against its emulator with an API token, Basic with the
 * X-CPANEL-OTP header, and a session; the serve client against a real `miab-dns01 serve` on
 * loopback (box emulator, nsd primary and secondary), which cannot list values: the suite reads
 * them from the box emulator instead. Each Mail-in-a-Box and cPanel test gets a fresh emulator.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordStoreConformance } from 'miab-dns01/conformance';
import { loadConfig, PROVIDER_NAMES, type ProviderName } from '../src/config/config.js';
import { openProvider, type DnsProvider } from '../src/providers/index.js';
import { FRESH_TABLE_READ_MS } from '../src/providers/mailinabox/store.js';
import { MemoryRecordStore } from '../src/records/memory-store.js';
import type { TxtRecordStore } from '../src/records/store.js';
import { silentLogger } from '../src/util/log.js';
import { harness, stopAll, type Mode } from './cpanel/harness.js';
import { startEmulator, type EmulatorFlavor, type MiabEmulator } from './emulator/index.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from './fixtures/topology.js';
import { scratchDir } from './fixtures/scratch.js';
import { addClient, startServe, type AddedClient, type ServeProcess } from './serve/helpers.js';

const EMAIL = 'admin@example.test';
const opened: { provider: DnsProvider; stop: () => Promise<void> }[] = [];

afterAll(async () => {
  for (const { provider, stop } of opened.splice(0)) {
    await provider.close();
    await stop();
  }
  await stopAll();
});

afterEach(stopAll);

type BoxMode = 'session' | 'system-key' | 'power';

async function boxProvider(mode: BoxMode): Promise<{ provider: DnsProvider; emulator: MiabEmulator }> {
  const flavor: EmulatorFlavor = mode === 'power' ? 'power' : 'upstream';
  const emulator = await startEmulator({ flavor, zones: ['example.test', 'other.test'], users: [{ email: EMAIL, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }] });
  const dir = await scratchDir('conformance');
  let auth: Record<string, string> = { MIAB_EMAIL: EMAIL, MIAB_PASSWORD: TEST_PASSWORD, MIAB_TOTP_SECRET: TEST_TOTP_SECRET };
  if (mode === 'system-key') {
    const keyFile = join(dir, 'api.key');
    await writeFile(keyFile, emulator.systemKey, { mode: 0o600 });
    auth = { MIAB_SYSTEM_KEY_FILE: keyFile };
  }
  const { config, provider: providerConfig } = await loadConfig({
    env: { MIAB_URL: emulator.url, MIAB_STATE_DIR: join(dir, 'state'), ...auth, ...(mode === 'power' ? { MIAB_FLAVOR: 'power' } : {}) },
  });
  const provider = await openProvider(providerConfig, { stateDir: config.stateDir, log: silentLogger, ownerPid: process.pid });
  opened.push({
    provider,
    stop: async () => {
      await emulator.stop();
      await rm(dir, { recursive: true, force: true });
    },
  });
  return { provider, emulator };
}

/** One serve (with its box emulator and nameservers) for every serve-client test: the suite cleans up after each. */
let serve: { topology: Topology; process: ServeProcess; client: AddedClient; dir: string } | undefined;

beforeAll(async () => {
  const topology = await startTopology({ lagMs: 100, totp: false });
  try {
    const env = await topology.env();
    const { client } = await addClient(env, 'conformance', ['example.test']);
    const process = await startServe(env);
    serve = { topology, process, client, dir: await scratchDir('conformance-serve') };
  } catch (error) {
    await topology.stop();
    throw error;
  }
});

afterAll(async () => {
  await serve?.process.stop();
  if (serve !== undefined) await rm(serve.dir, { recursive: true, force: true });
  await serve?.topology.stop();
});

async function serveClientStore(): Promise<TxtRecordStore> {
  if (serve === undefined) throw new Error('serve did not start');
  const passwordFile = join(serve.dir, `password-${opened.length}`);
  await writeFile(passwordFile, `${serve.client.password}\n`, { mode: 0o600 });
  const { config, provider: providerConfig } = await loadConfig({
    env: {
      MIAB_DNS01_PROVIDER: 'serve',
      MIAB_DNS01_SERVE_URL: serve.process.url,
      MIAB_DNS01_SERVE_USERNAME: serve.client.username,
      MIAB_DNS01_SERVE_PASSWORD_FILE: passwordFile,
      MIAB_STATE_DIR: join(serve.dir, 'state'),
    },
  });
  const provider = await openProvider(providerConfig, { stateDir: config.stateDir, log: silentLogger, ownerPid: process.pid });
  opened.push({ provider, stop: async () => undefined });
  return provider.store;
}

/** The box's own view of the serve client's writes (the serve client has no read). */
async function txtOnServesBox(name: string): Promise<string[]> {
  if (serve === undefined) throw new Error('serve did not start');
  return serve.topology.emulator
    .records()
    .filter((record) => record.qname === name && record.rtype === 'TXT')
    .map((record) => record.value);
}

interface Run {
  readonly label: string;
  readonly open: () => Promise<TxtRecordStore>;
  readonly observeTxt?: (name: string) => Promise<string[]>;
}

/** Every provider the registry knows, each auth mode, and how this file opens a fresh store serving example.test. */
const PROVIDERS: Readonly<Record<ProviderName, readonly Run[]>> = {
  mailinabox: [
    { label: 'Mail-in-a-Box, session with TOTP', open: async () => (await boxProvider('session')).provider.store },
    { label: 'Mail-in-a-Box, system key', open: async () => (await boxProvider('system-key')).provider.store },
    { label: 'Power Mail-in-a-Box (MIAB_FLAVOR=power)', open: async () => (await boxProvider('power')).provider.store },
  ],
  cpanel: (['token', 'otp-header', 'session'] as const satisfies readonly Mode[]).map((mode) => ({
    label: `cPanel, ${mode}`,
    open: async () => (await (await harness(mode)).openViaRegistry()).store,
  })),
  serve: [{ label: 'serve client, against a live serve', open: serveClientStore, observeTxt: txtOnServesBox }],
};

it('covers every provider the registry knows', () => {
  expect(Object.keys(PROVIDERS)).toEqual([...PROVIDER_NAMES]);
});

describe('in-memory reference store', () => {
  recordStoreConformance({ test: it, open: async () => new MemoryRecordStore(['example.test']) });
});

/** Closes the provider behind `store` (and stops its emulator) once its test is over. */
async function closeStore(store: TxtRecordStore): Promise<void> {
  const index = opened.findIndex((entry) => entry.provider.store === store);
  if (index < 0) return;
  const [{ provider, stop }] = opened.splice(index, 1) as [(typeof opened)[number]];
  await provider.close();
  await stop();
}

for (const { label, open, observeTxt } of Object.values(PROVIDERS).flat()) {
  describe(label, () => {
    recordStoreConformance({ test: it, open, close: closeStore, ...(observeTxt === undefined ? {} : { observeTxt }) });
  });
}

describe('the serve client declares the capability it lacks', () => {
  it('has no txtValues, instead of one that throws', async () => {
    const store = await serveClientStore();
    expect(store.txtValues).toBeUndefined();
  });
});

describe('Mail-in-a-Box specifics', () => {
  it('identity is the admin API URL (existing journals stay valid)', async () => {
    const { provider, emulator } = await boxProvider('session');
    expect(provider).toMatchObject({ name: 'mailinabox', identity: emulator.url });
  });

  it('cnameTarget reads the box (past the freshness bound), even when the run snapshot was taken before the CNAME existed', async () => {
    const { provider, emulator } = await boxProvider('session');
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
