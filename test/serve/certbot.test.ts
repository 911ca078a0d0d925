/**
 * certbot (Debian 2.1) with OUR hooks on a "remote" machine: only the MIAB_DNS01_SERVE_*
 * variables (plus state dir and DNS settings), no box URL, account or secret. The records go
 * through `serve`; the box sees no login but serve's own (at its start); the hooks keep the
 * journal and the authoritative wait; Pebble validates through the lagging secondary.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { certificateNames, runCertbot } from '../fixtures/acme-clients.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from '../fixtures/topology.js';
import { HOOKS } from '../clients/harness.js';
import { addClient, startServe, type AddedClient, type ServeProcess } from './helpers.js';

const DOMAINS = ['a.example.test', '*.a.example.test'];
let topology: Topology;
let serve: ServeProcess;
let remote: AddedClient;

beforeAll(async () => {
  topology = await startTopology({ pebble: true });
  const env = await topology.env();
  remote = (await addClient(env, 'certbot-host', ['a.example.test'])).client;
  serve = await startServe(env);
});

afterAll(async () => {
  await serve?.stop();
  await topology?.stop();
});

it('certbot with our hooks through serve obtains apex + wildcard; the box sees no other login', async () => {
  const pebble = topology.pebble;
  if (!pebble) throw new Error('no Pebble');
  const passwordFile = join(topology.dir, 'serve-password');
  await writeFile(passwordFile, `${remote.password}\n`, { mode: 0o600 });
  const stateDir = join(topology.dir, 'remote-state');
  const workDir = join(topology.dir, 'certbot');
  topology.emulator.clearLog();
  const run = await runCertbot({
    directoryUrl: pebble.directoryUrl,
    caFile: pebble.caFile,
    domains: DOMAINS,
    authHook: join(HOOKS, 'certbot-auth'),
    cleanupHook: join(HOOKS, 'certbot-cleanup'),
    workDir,
    env: {
      MIAB_DNS01_SERVE_URL: serve.url,
      MIAB_DNS01_SERVE_USERNAME: remote.username,
      MIAB_DNS01_SERVE_PASSWORD_FILE: passwordFile,
      MIAB_STATE_DIR: stateDir,
      MIAB_DNS_RESOLVERS: `${topology.primaryAddress}:${topology.dnsPort}`,
      MIAB_DNS_PORT: String(topology.dnsPort),
      MIAB_PROPAGATION_TIMEOUT: '60',
    },
  });
  const log = await readFile(run.logPath ?? '', 'utf8').catch(() => '');
  expect(run.exitCode, `${run.stdout}\n${run.stderr}\n${log.slice(-4000)}\n${serve.output()}`).toBe(0);
  expect((await certificateNames(run.certPath ?? '')).sort()).toEqual([...DOMAINS].sort());
  await pebble.verifyIssued(await readFile(run.fullchainPath ?? '', 'utf8'));
  const writes = topology.emulator.requests.filter((request) => request.path.includes('/dns/custom/') && request.method !== 'GET');
  expect(writes.filter((request) => request.method === 'POST')).toHaveLength(2);
  expect(writes.filter((request) => request.method === 'DELETE')).toHaveLength(2);
  expect(topology.emulator.requests.filter((request) => request.path.endsWith('/login'))).toHaveLength(0);
  expect(topology.emulator.records().filter((record) => record.qname === '_acme-challenge.a.example.test')).toEqual([]);
  for (const text of [run.stdout, run.stderr, log, JSON.stringify(run.env), run.argv.join(' ')]) {
    for (const secret of [TEST_PASSWORD, TEST_TOTP_SECRET, remote.password]) expect(text.includes(secret)).toBe(false);
  }
  expect(Object.keys(run.env).filter((name) => name.startsWith('MIAB_') && !name.startsWith('MIAB_DNS01_SERVE_')).sort()).toEqual(['MIAB_DNS_PORT', 'MIAB_DNS_RESOLVERS', 'MIAB_PROPAGATION_TIMEOUT', 'MIAB_STATE_DIR']);
});
