/**
 * Floods against `miab-dns01 serve` (the real CLI, on the loopback topology: box emulator with
 * TOTP, nsd primary and a lagging secondary), as issue 20 describes them; prints figures and a
 * verdict per probe. Source addresses 127.x.y.z play distinct machines.
 *
 *   A  200 parallel + 1000 pipelined wrong passwords from one address: guesses verified <= 10
 *   B  1000 wrong passwords from one address, then from 1000 addresses, while a client presents
 *      again and again: its p95 < 2 s, none fails
 *   C  1000 idle connections from one address, plain (reopened when dropped) and TLS (opened
 *      once, no ClientHello): /health from another address 100 %
 *   D  one client's 150 concurrent presents vs another client's one present: < 5 s
 *   E  60,000 unauthenticated requests from one address: audit log growth < 100 KB
 *
 * Run (build first; only loopback):
 *   npm run build && unshare -n bash -c 'ip link set lo up && node --import tsx bench/serve-flood.ts'
 * Knobs: BENCH_LAG_MS (secondary's lag, default 300); BENCH_PROBES (letters, default ABCDE);
 * BENCH_NO_WAIT=1 (serve skips the nameserver wait: isolates the write); BENCH_SERVE_THREADPOOL
 * (serve's UV_THREADPOOL_SIZE).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Agent, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFile } from 'node:fs/promises';
import { createTestPki } from '../test/fixtures/certs.js';
import { startTopology } from '../test/fixtures/topology.js';
import { addClient, basic, newValue, present, send, startServe, type AddedClient, type ServeProcess } from '../test/serve/helpers.js';

const LAG_MS = Number(process.env.BENCH_LAG_MS ?? 300);
const PROBES = process.env.BENCH_PROBES ?? 'ABCDE';
const want = (probe: string): boolean => PROBES.includes(probe);
const verdicts: string[] = [];

function verdict(label: string, ok: boolean, figure: string): void {
  const line = `${ok ? 'PASS' : 'FAIL'}  ${label}: ${figure}`;
  verdicts.push(line);
  console.log(line);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const WRONG_USER = '00000000-0000-4000-8000-000000000000';
function wrongPresent(url: string, from: string, index: number): Promise<number> {
  return send(url, { path: '/present', headers: basic(WRONG_USER, `wrong-guess-${index}-${Math.random()}`), body: JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value: newValue() }), from, timeoutMs: 60_000 }).then(
    (answer) => answer.status,
    () => 0,
  );
}

/** Audit lines of verified wrong guesses from `ip`. */
async function verifiedGuesses(auditLog: string, ip: string): Promise<number> {
  const text = await readFile(auditLog, 'utf8');
  return text.split('\n').filter((line) => line.includes(`"ip":"${ip}"`) && line.includes('"note":"bad_credentials"')).length;
}

function pipelined(url: string, from: string, count: number): Promise<Record<string, number>> {
  const { port } = new URL(url);
  const body = JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value: newValue() });
  const auth = basic(WRONG_USER, 'pipelined-wrong-password').authorization ?? '';
  const one = (index: number): string => `POST /present HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nX-N: ${index}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return new Promise((resolve) => {
    const counts: Record<string, number> = {};
    let text = '';
    const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: from }, () => socket.write(Array.from({ length: count }, (_, index) => one(index)).join('')));
    const finish = (): void => {
      for (const match of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) counts[match[1] ?? '?'] = (counts[match[1] ?? '?'] ?? 0) + 1;
      resolve(counts);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if ((text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= count) socket.end();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    setTimeout(() => socket.destroy(), 120_000).unref();
  });
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs bench/lib/flood-attacker.ts in its own process and returns what it printed. */
function attacker(plan: { url: string; count: number; parallel: number; from: 'one' | 'many'; base: string; seconds?: number; kind: 'wrong-password' | 'health' }): Promise<{ statuses: Record<string, number>; seconds: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lib/flood-attacker.ts', import.meta.url)), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { statuses: Record<string, number>; seconds: number; cpuSeconds: number }) : reject(new Error(`the attacker exited ${String(code)}`))));
  });
}

function tally(statuses: readonly number[]): string {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status === 0 ? 'reset' : String(status)] = (counts[status === 0 ? 'reset' : String(status)] ?? 0) + 1;
  return Object.entries(counts).map(([status, count]) => `${status}x${count}`).join(' ');
}

/** Presents (and cleans up) again and again until `stop`; returns each present's latency or -status on failure. */
async function presentLoop(url: string, client: AddedClient, from: string, stop: { done: boolean }): Promise<{ ms: number[]; failures: string[] }> {
  const ms: number[] = [];
  const failures: string[] = [];
  while (!stop.done) {
    const value = newValue();
    const started = performance.now();
    const answer = await present(url, client, '_acme-challenge.a.example.test.', value, from).catch((error: unknown) => ({ status: 0, body: String(error) }));
    ms.push(performance.now() - started);
    if (answer.status !== 200) failures.push(`${answer.status} ${answer.body.slice(0, 80)}`);
    await send(url, { path: '/cleanup', headers: basic(client.username, client.password), body: JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value }), from }).catch(() => undefined);
  }
  return { ms, failures };
}

/** `count` requests from `addresses(index)`, at most `parallel` at a time. */
async function flood(count: number, parallel: number, run: (index: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) statuses.push(await run(next++));
    }),
  );
  return statuses;
}

function health(url: string, from: string, ca?: string): Promise<boolean> {
  const target = new URL('/health', url);
  const requester = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = requester({ host: target.hostname, port: target.port, path: '/health', method: 'GET', localAddress: from, agent: false, ...(ca ? { ca, servername: 'localhost' } : {}) }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Holds `count` idle connections from `from`; reopens dropped ones while `reopen`. */
function holdIdle(url: string, from: string, count: number, reopen: boolean): { stop(): void; opened(): number } {
  const { port } = new URL(url);
  const sockets = new Set<Socket>();
  let opened = 0;
  let stopped = false;
  const open = (): void => {
    if (stopped) return;
    const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: from });
    opened++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (reopen && !stopped) setTimeout(open, 50);
    });
  };
  for (let index = 0; index < count; index++) open();
  return {
    stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
    opened: () => opened,
  };
}

async function healthDuring(url: string, from: string, seconds: number, ca?: string): Promise<{ ok: number; total: number }> {
  let ok = 0;
  let total = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    total++;
    if (await health(url, from, ca)) ok++;
    await sleep(150);
  }
  return { ok, total };
}

async function main(): Promise<void> {
  const topology = await startTopology({ lagMs: LAG_MS });
  let serve: ServeProcess | undefined;
  try {
    const env = { ...(await topology.env()), ...(process.env.BENCH_NO_WAIT ? { MIAB_PROPAGATION_WAIT: '0' } : {}), ...(process.env.BENCH_SERVE_THREADPOOL ? { UV_THREADPOOL_SIZE: process.env.BENCH_SERVE_THREADPOOL } : {}) };
    const web = (await addClient(env, 'web', ['a.example.test'])).client;
    const other = (await addClient(env, 'other', ['b.example.test'])).client;
    const auditLog = join(topology.dir, 'audit.log');
    serve = await startServe(env, ['--audit-log', auditLog]);
    const url = serve.url;
    console.log(`serve ${url}; secondary lag ${LAG_MS} ms; defaults: 32 connections per address, 8 hashes in flight, 10 writes per client, 10 values per name`);

    // A: guesses
    if (want('A')) {
    const parallel = await Promise.all(Array.from({ length: 200 }, (_, index) => wrongPresent(url, '127.0.1.1', index)));
    const parallelGuesses = await verifiedGuesses(auditLog, '127.0.1.1');
    console.log(`A1 200 parallel from 127.0.1.1: ${tally(parallel)}; verified guesses ${parallelGuesses}`);
    verdict('A1 200 parallel wrong passwords, one address: guesses verified <= 10', parallelGuesses <= 10, `${parallelGuesses}`);
    const piped = await pipelined(url, '127.0.1.2', 1000);
    const pipedGuesses = await verifiedGuesses(auditLog, '127.0.1.2');
    console.log(`A2 1000 pipelined from 127.0.1.2: ${JSON.stringify(piped)}; verified guesses ${pipedGuesses}`);
    verdict('A2 1000 pipelined wrong passwords, one connection: guesses verified <= 10', pipedGuesses <= 10, `${pipedGuesses}`);

    }
    // B: an authenticated client during floods
    if (want('B')) {
    const quiet: number[] = [];
    for (let index = 0; index < 5; index++) {
      const started = performance.now();
      const value = newValue();
      await present(url, web, '_acme-challenge.a.example.test.', value, '127.0.0.2');
      quiet.push(performance.now() - started);
      await send(url, { path: '/cleanup', headers: basic(web.username, web.password), body: JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value }), from: '127.0.0.2' });
    }
    console.log(`B0 quiet: present median ${percentile(quiet, 50).toFixed(0)} ms`);
    for (const [label, from, base, seconds, kind] of [
      ['one address', 'one', '127.0.2.1', undefined, 'wrong-password'],
      ['1000 addresses', 'many', '3', undefined, 'wrong-password'],
      ['1000 addresses, sustained 20 s', 'many', '4', 20, 'wrong-password'],
      // A control, no verdict of its own: the same load with no password to check.
      ['1000 addresses, sustained 20 s, GET /health only (control)', 'many', '5', 20, 'health'],
    ] as const) {
      const stop = { done: false };
      const loop = presentLoop(url, web, '127.0.0.2', stop);
      const serveCpu = cpuSeconds(serve.child.pid ?? 0);
      const benchCpu = process.cpuUsage();
      const attack = await attacker({ url, count: 1000, parallel: 50, from, base, kind, ...(seconds === undefined ? {} : { seconds }) });
      const floodS = attack.seconds;
      const used = process.cpuUsage(benchCpu);
      console.log(`  CPU during the flood: serve ${(cpuSeconds(serve.child.pid ?? 0) - serveCpu).toFixed(1)} s, bench+emulator ${((used.user + used.system) / 1e6).toFixed(1)} s, attacker ${attack.cpuSeconds.toFixed(1)} s, of ${(2 * floodS).toFixed(1)} s on 2 cores`);
      stop.done = true;
      const { ms, failures } = await loop;
      const p95 = percentile(ms, 95);
      const served = (await readFile(auditLog, 'utf8')).split('\n').filter((line) => line.includes('"client":"web"') && line.includes('"action":"present"')).slice(-ms.length).map((line) => (JSON.parse(line) as { durationMs: number }).durationMs);
      console.log(`  serve's own time for those presents (audit durationMs): ${served.join(', ')} ms`);
      console.log(`B ${label}: flood of ${Object.values(attack.statuses).reduce((sum, count) => sum + count, 0)} in ${floodS.toFixed(1)} s: ${Object.entries(attack.statuses).map(([status, count]) => `${status}x${count}`).join(' ')}; client presents ${ms.length}, p50 ${percentile(ms, 50).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms, failures ${failures.length}${failures.length ? ` (${failures.slice(0, 3).join('; ')})` : ''}`);
      verdict(`B wrong passwords from ${label}: client's present p95 < 2 s, no failure`, p95 < 2000 && failures.length === 0, `p95 ${p95.toFixed(0)} ms, ${failures.length} failed of ${ms.length}`);
    }

    }
    // C: idle connections
    if (want('C')) {
    const plain = holdIdle(url, '127.0.4.1', 1000, true);
    await sleep(1000);
    const plainHealth = await healthDuring(url, '127.0.0.3', 12);
    plain.stop();
    console.log(`C1 1000 idle plain connections from 127.0.4.1 (reopened when dropped; ${plain.opened()} opened): /health from 127.0.0.3 ${plainHealth.ok}/${plainHealth.total}`);
    verdict('C1 1000 idle plain connections from one address: /health from another 100 %', plainHealth.ok === plainHealth.total, `${plainHealth.ok}/${plainHealth.total}`);
    await serve.stop();
    serve = undefined;
    const pki = await createTestPki();
    try {
      serve = await startServe(env, ['--tls-cert', pki.leaf.chainPath, '--tls-key', pki.leaf.keyPath]);
      const tls = holdIdle(serve.url, '127.0.4.2', 1000, false);
      await sleep(1000);
      const tlsHealth = await healthDuring(serve.url, '127.0.0.3', 12, pki.ca.certPem);
      tls.stop();
      console.log(`C2 1000 TLS sockets without ClientHello from 127.0.4.2 (opened once): /health over HTTPS from 127.0.0.3 ${tlsHealth.ok}/${tlsHealth.total}`);
      verdict('C2 1000 idle TLS connections from one address: /health from another 100 %', tlsHealth.ok === tlsHealth.total, `${tlsHealth.ok}/${tlsHealth.total}`);
      await serve.stop();
      serve = undefined;
    } finally {
      await pki.cleanup();
    }
    }
    if (serve === undefined) serve = await startServe(env, ['--audit-log', auditLog]);

    // D: one client's burst vs another client
    if (want('D')) {
    for (const client of [web, other]) await send(serve.url, { method: 'GET', path: '/scope', headers: basic(client.username, client.password), from: '127.0.0.2' });
    const busyUrl = serve.url;
    const burst = Array.from({ length: 150 }, () => present(busyUrl, web, '_acme-challenge.a.example.test.', newValue(), '127.0.0.2').then((answer) => answer.status, () => 0));
    await sleep(50);
    const otherStarted = performance.now();
    const otherAnswer = await present(serve.url, other, '_acme-challenge.b.example.test.', newValue(), '127.0.0.5');
    const otherMs = performance.now() - otherStarted;
    const burstStatuses = await Promise.all(burst);
    const values = topology.emulator.records().filter((record) => record.qname === '_acme-challenge.a.example.test' && record.rtype === 'TXT').length;
    console.log(`D 150 concurrent presents of "web": ${tally(burstStatuses)}; values at its name ${values}; "other"'s present ${otherAnswer.status} in ${otherMs.toFixed(0)} ms`);
    verdict("D one client's 150 concurrent presents: another client's present < 5 s", otherAnswer.status === 200 && otherMs < 5000, `${otherMs.toFixed(0)} ms`);

    }
    // E: audit growth
    if (want('E')) {
    const before = (await stat(auditLog)).size;
    const agent = new Agent({ keepAlive: true, maxSockets: 16, localAddress: '127.0.5.1' } as ConstructorParameters<typeof Agent>[0]);
    const target = new URL(serve.url);
    const started = performance.now();
    await flood(60_000, 16, () =>
      new Promise<number>((resolve) => {
        const req = httpRequest({ host: target.hostname, port: target.port, path: '/x', method: 'GET', agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end();
      }),
    );
    agent.destroy();
    const floodS = (performance.now() - started) / 1000;
    await serve.stop();
    serve = undefined;
    const grown = (await stat(auditLog)).size - before;
    console.log(`E 60,000 GET /x from 127.0.5.1 in ${floodS.toFixed(1)} s: audit log grew ${grown} bytes (incl. the lines flushed at stop)`);
    verdict('E 60,000 unauthenticated requests: audit growth < 100 KB', grown < 100 * 1024, `${grown} B`);
    }
  } finally {
    await serve?.stop();
    await topology.stop();
  }
  console.log(`\n${verdicts.join('\n')}`);
  if (verdicts.some((line) => line.startsWith('FAIL'))) process.exitCode = 1;
}

await main();
