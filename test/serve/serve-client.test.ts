/**
 * The serve-client record store: the shared challenge engine on a machine that holds only a
 * scoped serve credential (MIAB_DNS01_SERVE_*), no box credentials. Apex + wildcard values
 * through serve, the engine's own authoritative wait on the real zone, exact cleanup, a
 * CNAME-delegated name, and the errors for a wrong password and an out-of-scope name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChallengeEngine } from '../../src/challenge/engine.js';
import { waitForPropagation } from '../../src/propagation/wait.js';
import { parsePropagationSettings } from '../../src/propagation/settings.js';
import { loadServeClientConfig, openServeClientProvider } from '../../src/providers/serve-client/index.js';
import { Journal } from '../../src/records/journal.js';
import { silentLogger } from '../../src/util/log.js';
import { txtAt } from '../clients/harness.js';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { addClient, newValue, startServe, type AddedClient, type ServeProcess } from './helpers.js';

let topology: Topology;
let serve: ServeProcess;
let web: AddedClient;
let scratch: string;

beforeAll(async () => {
  topology = await startTopology({
    lagMs: 1_000,
    records: [{ qname: '_acme-challenge.del.example.test', rtype: 'CNAME', value: '_acme-challenge.del.other.test' }],
  });
  const env = await topology.env();
  web = (await addClient(env, 'remote', ['a.example.test', 'del.example.test'])).client;
  serve = await startServe(env);
  scratch = await mkdtemp(join(topology.dir, 'remote-'));
});

afterAll(async () => {
  await serve?.stop();
  await rm(scratch, { recursive: true, force: true });
  await topology?.stop();
});

async function remoteEngine(password: string): Promise<{ engine: ChallengeEngine; close(): Promise<void> }> {
  const passwordFile = join(scratch, `password-${Math.random().toString(36).slice(2)}`);
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  const provider = await openServeClientProvider(
    await loadServeClientConfig({ MIAB_DNS01_SERVE_URL: serve.url, MIAB_DNS01_SERVE_USERNAME: web.username, MIAB_DNS01_SERVE_PASSWORD_FILE: passwordFile }),
    { log: silentLogger },
  );
  const { store } = provider;
  const close = (): Promise<void> => provider.close();
  const propagation = parsePropagationSettings({ MIAB_DNS_RESOLVERS: `${topology.primaryAddress}:${topology.dnsPort}`, MIAB_DNS_PORT: String(topology.dnsPort), MIAB_PROPAGATION_TIMEOUT: '30' });
  const engine = new ChallengeEngine({
    store,
    journal: new Journal(join(scratch, 'state')),
    apiUrl: serve.url,
    waitForRecords: async (records, signal) => void (await waitForPropagation(records, propagation, { signal })),
    log: silentLogger,
  });
  return { engine, close };
}

function txt(name: string): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.qname === name && record.rtype === 'TXT')
    .map((record) => record.value);
}

it('presents apex + wildcard through serve, waits, and cleans up exactly', async () => {
  const { engine, close } = await remoteEngine(web.password);
  try {
    const [apex, wildcard] = [newValue(), newValue()];
    const records = await engine.present([{ name: 'a.example.test', value: apex }, { name: '*.a.example.test', value: wildcard }], { wait: true });
    expect(records.map((record) => record.zone)).toEqual(['example.test', 'example.test']);
    expect(txt('_acme-challenge.a.example.test').sort()).toEqual([apex, wildcard].sort());
    expect((await txtAt(`${topology.secondaryAddress}:${topology.dnsPort}`, '_acme-challenge.a.example.test')).sort()).toEqual([apex, wildcard].sort());
    await engine.cleanup('a.example.test', apex);
    expect(txt('_acme-challenge.a.example.test')).toEqual([wildcard]);
    await engine.cleanup('*.a.example.test', wildcard);
    expect(txt('_acme-challenge.a.example.test')).toEqual([]);
  } finally {
    await close();
  }
});

it('follows the CNAME serve follows', async () => {
  const { engine, close } = await remoteEngine(web.password);
  try {
    const value = newValue();
    const [record] = await engine.present([{ name: 'del.example.test', value }], { wait: true });
    expect(record).toMatchObject({ fqdn: '_acme-challenge.del.other.test', zone: 'other.test' });
    expect(txt('_acme-challenge.del.other.test')).toEqual([value]);
    await engine.cleanup('del.example.test', value);
    expect(txt('_acme-challenge.del.other.test')).toEqual([]);
  } finally {
    await close();
  }
});

it('reports a wrong password and an out-of-scope name with stable codes', async () => {
  const wrong = await remoteEngine(`${web.password}x`);
  try {
    await expect(wrong.engine.present([{ name: 'a.example.test', value: newValue() }], { wait: false })).rejects.toMatchObject({ code: 'auth-invalid-credentials' });
  } finally {
    await wrong.close();
  }
  const { engine, close } = await remoteEngine(web.password);
  try {
    // In a zone this client writes to, but not its name: serve refuses (403).
    await expect(engine.present([{ name: 'b.example.test', value: newValue() }], { wait: false })).rejects.toMatchObject({ code: 'invalid-name' });
    await expect(engine.present([{ name: 'x.other.test', value: newValue() }], { wait: false })).rejects.toMatchObject({ code: 'invalid-name' });
    // Not in any zone of its scope: refused before asking serve to write.
    await expect(engine.present([{ name: 'x.nowhere.test', value: newValue() }], { wait: false })).rejects.toMatchObject({ code: 'zone-not-found' });
  } finally {
    await close();
  }
  expect(txt('_acme-challenge.b.example.test')).toEqual([]);
  expect(txt('_acme-challenge.x.other.test')).toEqual([]);
});

it('configuration: every missing variable in one error; clear-text http only on loopback; password file mode', async () => {
  await expect(loadServeClientConfig({ MIAB_DNS01_SERVE_URL: 'https://certs.example.test' })).rejects.toThrow(/MIAB_DNS01_SERVE_USERNAME, MIAB_DNS01_SERVE_PASSWORD_FILE/);
  await expect(loadServeClientConfig({ MIAB_DNS01_SERVE_URL: 'http://certs.example.test', MIAB_DNS01_SERVE_USERNAME: 'u', MIAB_DNS01_SERVE_PASSWORD: 'p-long-enough' })).rejects.toMatchObject({ code: 'config-insecure-url' });
  const loose = join(scratch, 'loose');
  await writeFile(loose, 'secret-password\n', { mode: 0o644 });
  await expect(loadServeClientConfig({ MIAB_DNS01_SERVE_URL: 'https://certs.example.test', MIAB_DNS01_SERVE_USERNAME: 'u', MIAB_DNS01_SERVE_PASSWORD_FILE: loose })).rejects.toMatchObject({ code: 'config-insecure-permissions' });
});
