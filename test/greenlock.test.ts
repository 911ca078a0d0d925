/**
 * The Greenlock / ACME.js plugin (`miab-dns01/greenlock`) against the ecosystem's own harness,
 * acme-dns-01-test 3.3, on the loopback topology: the Mail-in-a-Box emulator with TOTP on and
 * two real nsd servers, the secondary lagging. Loaded as an ES module and through require()
 * (Greenlock is CommonJS), both by the package's own name so the `exports` map is tested too.
 */
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GreenlockDns01Plugin, GreenlockPluginOptions } from '../src/adapters/greenlock/index.js';
import { expectOnlyExactWrites, loginCount, txtAt, writtenValues } from './clients/harness.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from './fixtures/topology.js';

const require = createRequire(import.meta.url);
const tester = require('acme-dns-01-test') as { testZone(type: 'dns-01', zone: string, plugin: unknown): Promise<void> };

const LAG_MS = 1500;

let topology: Topology;
let env: Record<string, string>;
// One admin per test: the box refuses a TOTP code it saw last from the same user, so tests
// sharing a user inside one 30 s step would wait for the next code.
const USERS = Array.from({ length: 4 }, (_, index) => `greenlock${index}@example.test`);
let testIndex = 0;

beforeAll(async () => {
  topology = await startTopology({ lagMs: LAG_MS, users: USERS.map((email) => ({ email, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET })) });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
});

beforeEach(async () => {
  env = await topology.env({ MIAB_EMAIL: USERS[testIndex++] ?? '', MIAB_STATE_DIR: await topology.newStateDir() });
  topology.emulator.clearLog();
});

/** Wraps `set` to check, the moment it resolves, that BOTH nameservers serve the value. */
function checkingPropagation(plugin: GreenlockDns01Plugin): { plugin: GreenlockDns01Plugin; served: string[] } {
  const served: string[] = [];
  const set = async (request: Parameters<GreenlockDns01Plugin['set']>[0]): Promise<null> => {
    const result = await plugin.set(request);
    const challenge = request.challenge ?? {};
    const name = challenge.dnsHost ?? '';
    for (const server of [topology.primaryAddress, topology.secondaryAddress]) {
      expect(await txtAt(`${server}:${topology.dnsPort}`, name), `${name} at ${server} when set() resolved`).toContain(challenge.dnsAuthorization);
    }
    served.push(name);
    return result;
  };
  return { plugin: { ...plugin, init: plugin.init, zones: plugin.zones, get: plugin.get, remove: plugin.remove, set }, served };
}

async function expectClean(stateDir: string): Promise<void> {
  expect(topology.emulator.records().filter((record) => record.rtype === 'TXT')).toEqual([]);
  expect(await readdir(join(stateDir, 'journal')).catch(() => [])).toEqual([]);
  expectOnlyExactWrites(topology.emulator);
}

describe('acme-dns-01-test testZone', () => {
  it('passes with the ES module (import miab-dns01/greenlock), writing the exact names, waiting for every nameserver', async () => {
    const { create } = await import('miab-dns01/greenlock');
    const options: GreenlockPluginOptions = { env };
    const { plugin, served } = checkingPropagation(create(options));
    const started = Date.now();
    await tester.testZone('dns-01', 'example.test', plugin);
    // example.test, foo.example.test and *.foo.example.test: the last two share one name.
    expect(served).toHaveLength(3);
    expect(new Set(served).size).toBe(2);
    for (const name of served) expect(name).toMatch(/^_[0-9a-f]{2}-acme-challenge-[0-9a-f]{2}\.(foo\.)?example\.test$/);
    // The record names are exactly Greenlock's dnsHost, never prefixed with _acme-challenge.
    expect(writtenValues(topology.emulator).map(({ path }) => path.replace(/^.*\/dns\/custom\//, '').replace(/\/TXT$/, ''))).toEqual(served);
    // set() waited for the lagging secondary (the wait is real, not skipped).
    expect(Date.now() - started).toBeGreaterThanOrEqual(LAG_MS);
    expect(loginCount(topology.emulator)).toBe(1);
    await expectClean(env.MIAB_STATE_DIR ?? '');
  });

  it('passes with the CommonJS entry (require miab-dns01/greenlock), settings passed as options', async () => {
    const { create } = require('miab-dns01/greenlock') as typeof import('../src/adapters/greenlock/require.cjs');
    expect(require.resolve('miab-dns01/greenlock')).toMatch(/dist\/adapters\/greenlock\/require\.cjs$/);
    // Settings as options instead of the environment (the environment then only holds files).
    const { MIAB_URL: url, MIAB_EMAIL: email, MIAB_STATE_DIR: stateDir, ...rest } = env;
    const plugin = create({ env: rest, url, email, stateDir, propagationDelay: 250 });
    expect(plugin.propagationDelay).toBe(250);
    await tester.testZone('dns-01', 'other.test', plugin);
    expect(writtenValues(topology.emulator)).toHaveLength(3);
    expect(loginCount(topology.emulator)).toBe(1);
    await expectClean(stateDir ?? '');
  });
});

describe('plugin protocol', () => {
  it('zones() lists the box zones from either place Greenlock puts dnsHosts, and no method resolves to undefined', async () => {
    const { create } = await import('miab-dns01/greenlock');
    const plugin = create({ env });
    expect(await plugin.init({})).toBeNull();
    expect((await plugin.zones({ dnsHosts: ['a.example.test'] })).sort()).toEqual(['example.test', 'other.test']);
    expect((await plugin.zones({ challenge: { dnsHosts: ['a.example.test'] } })).sort()).toEqual(['example.test', 'other.test']);
    const challenge = { dnsPrefix: '_acme-challenge.x', dnsZone: 'example.test', dnsAuthorization: 'Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg' };
    expect(await plugin.get({ challenge })).toBeNull();
    expect(await plugin.set({ challenge })).toBeNull();
    expect(await plugin.get({ challenge })).toEqual({ dnsAuthorization: challenge.dnsAuthorization });
    expect(await plugin.remove({ challenge })).toBeNull();
    expect(await plugin.get({ challenge })).toBeNull();
    await expectClean(env.MIAB_STATE_DIR ?? '');
  });

  it('refuses a name outside the box with the configuration error, writing nothing', async () => {
    const { create } = await import('miab-dns01/greenlock');
    const plugin = create({ env });
    const challenge = { dnsHost: '_acme-challenge.not-on-this-box.test', dnsAuthorization: 'Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg' };
    await expect(plugin.set({ challenge })).rejects.toMatchObject({ code: 'zone-not-found' });
    expect(writtenValues(topology.emulator)).toEqual([]);
  });
});
