/**
 * Real Debian lego 4.9.1 through `serve`, with the secondary nameserver lagging 1 s and Pebble
 * validating through that secondary: `serve` must answer a write only once every nameserver
 * serves it.
 * - `--dns httpreq` (default body and HTTPREQ_MODE=RAW): wildcard + apex certificate; the box
 *   is clean afterwards (lego calls /cleanup).
 * - acme-dns: Debian's lego has no acme-dns provider, so its exec provider (RAW) runs a hook
 *   that sends `/update` exactly as goacmedns does, with the `acme_dns` map that
 *   `clients add` printed as its storage file; no cleanup call, the values expire.
 * `--dns.disable-cp` + `--dns.resolvers` on the primary keep lego on loopback.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, runCommand, type CommandRun } from '../fixtures/acme-clients.js';
import { requireBinary } from '../fixtures/system.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from '../fixtures/topology.js';
import { addClient, startServe, type AddedClient, type ServeProcess } from './helpers.js';

const DOMAINS = ['a.example.test', '*.a.example.test'];
const CHALLENGE = '_acme-challenge.a.example.test';
let topology: Topology;
let serve: ServeProcess;
let web: AddedClient;
let env: Record<string, string>;
let auditLog: string;

beforeAll(async () => {
  topology = await startTopology({ pebble: true });
  env = await topology.env();
  auditLog = join(topology.dir, 'audit.log');
  web = (await addClient(env, 'web', ['a.example.test'])).client;
  serve = await startServe(env, ['--audit-log', auditLog, '--expire-after', '30s']);
});

afterAll(async () => {
  await serve?.stop();
  await topology?.stop();
});

function challengeValues(): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.qname === CHALLENGE && record.rtype === 'TXT')
    .map((record) => record.value);
}

async function lego(label: string, dns: string, extraEnv: Record<string, string>): Promise<{ run: CommandRun; workDir: string }> {
  const pebble = topology.pebble;
  if (!pebble) throw new Error('no Pebble');
  const workDir = join(topology.dir, `lego-${label}`);
  await mkdir(join(workDir, 'home'), { recursive: true });
  const argv = [
    requireBinary('lego'),
    '--server', pebble.directoryUrl,
    '--email', 'acme@example.test',
    '--accept-tos',
    '--path', workDir,
    '--dns', dns,
    '--dns.disable-cp',
    '--dns.resolvers', `${topology.primaryAddress}:${topology.dnsPort}`,
    ...DOMAINS.flatMap((domain) => ['--domains', domain]),
    'run',
  ];
  const run = await runCommand(argv, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(workDir, 'home'), LANG: 'C.UTF-8', LEGO_CA_CERTIFICATES: pebble.caFile, ...extraEnv },
    cwd: workDir,
    timeoutMs: 100_000,
  });
  return { run, workDir };
}

function describeRun(run: CommandRun): string {
  return `exit ${String(run.exitCode)}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}\n--- serve\n${serve.output()}`;
}

async function expectCertificate(run: CommandRun, workDir: string): Promise<void> {
  expect(run.exitCode, describeRun(run)).toBe(0);
  const crt = join(workDir, 'certificates', 'a.example.test.crt');
  expect((await certificateNames(crt)).sort()).toEqual([...DOMAINS].sort());
  await topology.pebble?.verifyIssued(await readFile(crt, 'utf8'));
}

function expectNoSecrets(texts: readonly string[]): void {
  for (const text of texts) for (const secret of [TEST_PASSWORD, TEST_TOTP_SECRET, web.password]) expect(text.includes(secret)).toBe(false);
}

describe.each(['default', 'RAW'] as const)('lego --dns httpreq, mode %s', (mode) => {
  it('obtains apex + wildcard through serve; the box is clean afterwards', async () => {
    topology.emulator.clearLog();
    const { run, workDir } = await lego(`httpreq-${mode}`, 'httpreq', {
      HTTPREQ_ENDPOINT: serve.url,
      HTTPREQ_USERNAME: web.username,
      HTTPREQ_PASSWORD: web.password,
      ...(mode === 'RAW' ? { HTTPREQ_MODE: 'RAW' } : {}),
      HTTPREQ_PROPAGATION_TIMEOUT: '60',
      HTTPREQ_POLLING_INTERVAL: '1',
      HTTPREQ_HTTP_TIMEOUT: '30',
    });
    await expectCertificate(run, workDir);
    const posts = topology.emulator.requests.filter((request) => request.method === 'POST' && request.path.includes('/dns/custom/'));
    expect(posts).toHaveLength(2);
    expect(topology.emulator.requests.filter((request) => request.method === 'DELETE')).toHaveLength(2);
    expect(topology.emulator.requests.some((request) => request.method === 'PUT')).toBe(false);
    expect(challengeValues()).toEqual([]);
    // serve's one box login was at start: none during the run.
    expect(topology.emulator.requests.filter((request) => request.path.endsWith('/login'))).toHaveLength(0);
    expectNoSecrets([run.stdout, run.stderr, run.argv.join(' ')]);
  });
});

describe('acme-dns (requests as goacmedns sends them)', () => {
  it('obtains apex + wildcard with the acme_dns map from clients add; values expire later', async () => {
    topology.emulator.clearLog();
    const storage = join(topology.dir, 'acme-dns-accounts.json');
    const map = Object.fromEntries(Object.entries(web.acme_dns).map(([domain, account]) => [domain, { ...account, server_url: serve.url }]));
    await writeFile(storage, JSON.stringify(map), { mode: 0o600 });
    const { run, workDir } = await lego('acme-dns', 'exec', {
      EXEC_PATH: fileURLToPath(new URL('./acme-dns-exec-hook.mjs', import.meta.url)),
      EXEC_MODE: 'RAW',
      EXEC_PROPAGATION_TIMEOUT: '60',
      EXEC_POLLING_INTERVAL: '1',
      EXEC_SEQUENCE_INTERVAL: '1',
      ACME_DNS_STORAGE_PATH: storage,
    });
    await expectCertificate(run, workDir);
    // Two slots: both values of the pair stay until they expire (acme-dns has no delete).
    expect(challengeValues()).toHaveLength(2);
    expect(topology.emulator.requests.filter((request) => request.method === 'DELETE')).toHaveLength(0);
    const audit = (await readFile(auditLog, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.filter((entry) => entry.action === 'update' && entry.status === 200 && entry.client === 'web')).toHaveLength(2);
    expectNoSecrets([run.stdout, run.stderr, run.argv.join(' '), serve.output(), await readFile(auditLog, 'utf8')]);
    const deadline = Date.now() + 60_000;
    while (challengeValues().length > 0 && Date.now() < deadline) await sleep(500);
    expect(challengeValues()).toEqual([]);
  });
});
