/**
 * `serve` over time: acme-dns expiry (while running and across a restart, counted from the
 * write), SIGTERM while a request waits for the nameservers, plain HTTP refused off loopback,
 * and HTTPS with --tls-cert / --tls-key. Each serve instance has its own box user and state
 * dir (the box refuses a TOTP code it saw last from the same user).
 */
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../fixtures/certs.js';
import { runCli } from '../fixtures/cli.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from '../fixtures/topology.js';
import { acmeDnsUpdate, addClient, basic, newValue, present, startServe, type ServeProcess } from './helpers.js';

let topology: Topology;
let pki: TestPki;
const running: ServeProcess[] = [];
let instances = 0;

beforeAll(async () => {
  topology = await startTopology({
    lagMs: 300,
    users: Array.from({ length: 6 }, (_, index) => ({ email: `serve${index + 1}@example.test`, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET })),
  });
  pki = await createTestPki();
});

afterAll(async () => {
  for (const instance of running) await instance.stop();
  await topology?.stop();
  await pki?.cleanup();
});

async function instanceEnv(): Promise<Record<string, string>> {
  instances++;
  return topology.env({ MIAB_EMAIL: `serve${instances}@example.test`, MIAB_STATE_DIR: join(topology.dir, `serve-state-${instances}`) });
}

async function start(env: Record<string, string>, args: readonly string[] = [], port?: number): Promise<ServeProcess> {
  const instance = await startServe(env, args, { port });
  running.push(instance);
  return instance;
}

function txt(name: string): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.qname === name && record.rtype === 'TXT')
    .map((record) => record.value);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
  return Date.now();
}

it('acme-dns values expire --expire-after after their write, also across restarts', async () => {
  const env = await instanceEnv();
  const { client } = await addClient(env, 'exp', ['e.example.test', 'f.example.test']);
  const name = '_acme-challenge.e.example.test';
  const accountE = client.acme_dns['e.example.test'];
  const accountF = client.acme_dns['f.example.test'];
  if (!accountE || !accountF) throw new Error('no account');
  let serve = await start(env, ['--expire-after', '4s']);

  // While running.
  const first = newValue();
  const writtenAt = Date.now();
  expect((await acmeDnsUpdate(serve.url, accountE, first)).status).toBe(200);
  expect(txt(name)).toEqual([first]);
  const removedAt = await until(() => txt(name).length === 0, 10_000);
  expect(removedAt - writtenAt).toBeGreaterThanOrEqual(3_900);

  // Restart before the expiry: the promise still counts from the write. 8 s, so that a stop and
  // a start on a loaded machine fit well inside it.
  expect(await serve.stop()).toEqual({ code: 0, signal: null });
  serve = await start(env, ['--expire-after', '8s'], serve.port);
  const second = newValue();
  const secondAt = Date.now();
  expect((await acmeDnsUpdate(serve.url, accountE, second)).status).toBe(200);
  expect(await serve.stop()).toEqual({ code: 0, signal: null });
  serve = await start(env, ['--expire-after', '8s'], serve.port);
  expect(txt(name)).toEqual([second]);
  const secondRemoved = await until(() => txt(name).length === 0, 20_000);
  expect(secondRemoved - secondAt).toBeGreaterThanOrEqual(7_900);
  expect(secondRemoved - secondAt).toBeLessThan(8_000 + 3_000);

  // Down while the time runs out: removed right at the next start.
  const third = newValue();
  expect((await acmeDnsUpdate(serve.url, accountF, third)).status).toBe(200);
  expect(await serve.stop()).toEqual({ code: 0, signal: null });
  await sleep(8_500);
  expect(txt('_acme-challenge.f.example.test')).toEqual([third]);
  serve = await start(env, ['--expire-after', '8s'], serve.port);
  expect(txt('_acme-challenge.f.example.test')).toEqual([]);
});

it('SIGTERM while a request waits: it is answered, new connections are refused, exit 0 within 10 s', async () => {
  const env = await instanceEnv();
  const { client } = await addClient(env, 'term', ['g.example.test']);
  const serve = await start(env);
  topology.emulator.setSecondaryLag(4_000);
  try {
    const value = newValue();
    const pending = present(serve.url, client, '_acme-challenge.g.example.test.', value);
    await sleep(1_000);
    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    await sleep(300);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(serve.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(`"${value}"`);
    const exit = await serve.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(txt('_acme-challenge.g.example.test')).toEqual([value]);
  } finally {
    topology.emulator.setSecondaryLag(300);
  }
});

it('plain HTTP off loopback is refused; HTTPS with --tls-cert/--tls-key works', async () => {
  const env = await instanceEnv();
  const refused = await runCli(['serve', '--listen', '0.0.0.0:0'], { env });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('config-insecure-url');
  expect(refused.stderr).toContain('--tls-cert');

  const { client } = await addClient(env, 'tls', ['h.example.test']);
  const serve = await start(env, ['--tls-cert', pki.leaf.chainPath, '--tls-key', pki.leaf.keyPath]);
  expect(serve.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const value = newValue();
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      `${serve.url}/present`,
      { method: 'POST', ca: pki.ca.certPem, headers: { ...basic(client.username, client.password), 'content-type': 'application/json' } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ fqdn: '_acme-challenge.h.example.test.', value }));
  });
  expect(answer.status).toBe(200);
  expect(txt('_acme-challenge.h.example.test')).toEqual([value]);
});
