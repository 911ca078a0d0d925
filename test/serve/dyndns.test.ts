/**
 * dyndns2 through `serve` (`GET /nic/update`) with the real CLI, the box emulator (TOTP on)
 * and nsd: curl as a router (IPv4, IPv6, both), the real ddclient 3.10 (two hosts in one
 * request) and inadyn 2.10 (a `custom` provider), the return codes, refusals that write
 * nothing, the lockout and the audit log; then Power Mail-in-a-Box for the short TTL.
 * Sources: 127.0.0.2 is the pinned client's machine, 127.0.0.3 a foreign one, 127.0.0.9 an
 * attacker.
 */
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type CommandRun } from '../fixtures/acme-clients.js';
import { runCli } from '../fixtures/cli.js';
import { requireBinary } from '../fixtures/system.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology, type TopologyOptions } from '../fixtures/topology.js';
import { harness, stopAll } from '../cpanel/harness.js';
import { createTestPki, type TestPki } from '../fixtures/certs.js';
import { addClient, basic, newValue, present, send, startServe, type AddedClient, type HttpAnswer, type ServeProcess } from './helpers.js';

/** nobody / nogroup on Debian. */
const NOBODY = 65534;
const PARTNER_TXT = 'partnerValuePartnerValuePartnerValue0123456';
const SEED = [
  { qname: 'home.example.test', rtype: 'A', value: '192.0.2.99' },
  { qname: 'home.example.test', rtype: 'TXT', value: 'v=spf1 -all' },
  { qname: '_acme-challenge.a.example.test', rtype: 'TXT', value: PARTNER_TXT },
  { qname: 'alias.example.test', rtype: 'CNAME', value: 'home.example.test' },
];

interface Rig {
  topology: Topology;
  env: Record<string, string>;
  serve: ServeProcess;
}

/**
 * A topology with serve on it; `prepare` adds the clients and says serve's arguments. When
 * anything after the topology's start fails, the topology is stopped before the error goes on
 * (afterAll has no rig to stop then).
 */
async function startRig(
  topologyOptions: TopologyOptions,
  prepare: (env: Record<string, string>, topology: Topology) => Promise<readonly string[]>,
  options: { envOverrides?: Record<string, string>; host?: string } = {},
): Promise<Rig> {
  const topology = await startTopology(topologyOptions);
  try {
    const env = await topology.env(options.envOverrides);
    const args = await prepare(env, topology);
    return { topology, env, serve: await startServe(env, args, options.host === undefined ? {} : { host: options.host }) };
  } catch (error) {
    await topology.stop();
    throw error;
  }
}

function boxWrites(topology: Topology): number {
  return topology.emulator.requests.filter((request) => request.method !== 'GET' && request.path.includes('/dns/custom')).length;
}

function values(topology: Topology, qname: string, rtype: string): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.qname === qname && record.rtype === rtype)
    .map((record) => record.value);
}

function nic(rig: Rig, client: { username: string; password: string } | undefined, query: string, options: { from?: string; method?: string } = {}): Promise<HttpAnswer> {
  return send(rig.serve.url, { method: options.method ?? 'GET', path: `/nic/update?${query}`, headers: client === undefined ? {} : basic(client.username, client.password), from: options.from });
}

/** curl as a router sends it; the credentials go through a 0600 config file, not argv. */
async function curl(rig: Rig, client: AddedClient, query: string, extra: readonly string[] = []): Promise<CommandRun> {
  const config = join(rig.topology.dir, `curl-${client.name}.conf`);
  await writeFile(config, `user = "${client.username}:${client.password}"\n`, { mode: 0o600 });
  return runCommand([requireBinary('curl'), '-sS', '-K', config, '-D', '-', ...extra, `${rig.serve.url}/nic/update?${query}`], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: rig.topology.dir, timeoutMs: 30_000 });
}

/** The real ddclient 3.10 once in the foreground, with its config file in `dir`. */
async function runDdclient(dir: string, lines: readonly string[]): Promise<CommandRun & { output: string }> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'ddclient.conf');
  await writeFile(config, `${['daemon=0', 'syslog=no', ...lines].join('\n')}\n`, { mode: 0o600 });
  const run = await runCommand([requireBinary('ddclient'), '-foreground', '-file', config, '-cache', join(dir, 'ddclient.cache'), '-daemon=0', '-verbose', '-noquiet'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    cwd: dir,
    timeoutMs: 60_000,
  });
  return { ...run, output: run.stdout + run.stderr };
}

/** The audit log's entries once `ready` holds (a line is written after its answer is sent). */
async function auditEntries(file: string, ready: (entries: readonly Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  let entries: Record<string, unknown>[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    entries = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    if (ready(entries)) break;
  }
  return entries;
}

/** The body of a `curl -D -` answer (headers first). */
function replyBody(run: CommandRun): string {
  return run.stdout.slice(run.stdout.indexOf('\r\n\r\n') + 4);
}

describe('dyndns2 through serve (Mail-in-a-Box)', () => {
  let rig: Rig;
  let router: AddedClient;
  let ddclientClient: AddedClient;
  let inadynClient: AddedClient;
  let txtOnly: AddedClient;
  let pinned: AddedClient;
  let auditLog: string;

  beforeAll(async () => {
    rig = await startRig({ lagMs: 200, records: SEED }, async (env, topology) => {
      auditLog = join(topology.dir, 'audit.log');
      const hosts = (names: readonly string[]): string[] => names.flatMap((name) => ['--ddns-host', name]);
      router = (await addClient(env, 'router', [], hosts(['home.example.test', 'NAS.example.test.', 'alias.example.test', 'far.nowhere.test']))).client;
      ddclientClient = (await addClient(env, 'ddclient', [], hosts(['dd1.example.test', 'dd2.other.test']))).client;
      inadynClient = (await addClient(env, 'inadyn', [], hosts(['in1.example.test']))).client;
      txtOnly = (await addClient(env, 'txt-only', ['a.example.test'])).client;
      pinned = (await addClient(env, 'pinned', [], [...hosts(['pinned.example.test']), '--allow-from', '127.0.0.2/32'])).client;
      return ['--audit-log', auditLog, '--trust-proxy', '127.0.0.4'];
    });
  });

  afterAll(async () => {
    await rig?.serve.stop();
    await rig?.topology.stop();
  });

  beforeEach(() => {
    rig.topology.emulator.clearLog();
  });

  it('clients add --ddns-host prints and lists exact names; a wildcard, a taken name and a provider without A/AAAA are refused', async () => {
    expect(rig.serve.output()).toContain('client router: --ddns-host far.nowhere.test is in none of the box\'s zones (example.test, other.test): its updates answer dnserr');
    expect(router.ddns_hosts).toEqual(['home.example.test', 'nas.example.test', 'alias.example.test', 'far.nowhere.test']);
    expect(router.acme_dns).toEqual({});
    const list = await runCli(['clients', 'list'], { env: rig.env });
    expect(list.stdout).toContain('router\tdomains=\tallow-from=any\tddns-hosts=home.example.test,nas.example.test,alias.example.test,far.nowhere.test');
    expect(list.stdout).toMatch(/txt-only\tdomains=a\.example\.test\tallow-from=any\tlast-use/);
    const registry = join(rig.env.MIAB_STATE_DIR ?? '', 'serve', 'clients.json');
    const before = await readFile(registry, 'utf8');
    const wildcard = await runCli(['clients', 'add', 'wild', '--ddns-host', '*.example.test'], { env: rig.env });
    expect(wildcard.code).toBe(2);
    expect(wildcard.stderr).toContain('no wildcard');
    const taken = await runCli(['clients', 'add', 'thief', '--ddns-host', 'home.example.test'], { env: rig.env });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('belongs to the client "router"');
    const chained = await runCli(['clients', 'add', 'chained', '--ddns-host', 'p.example.test'], { env: { ...rig.env, MIAB_DNS01_PROVIDER: 'serve' } });
    expect(chained.code).toBe(2);
    expect(chained.stderr).toContain('config-invalid');
    expect(chained.stderr).toContain('a serve client (MIAB_DNS01_SERVE_URL) has no dyndns write');
    expect(await readFile(registry, 'utf8')).toBe(before);
  });

  it('curl as a router, IPv4: the old address is replaced; the same again is nochg without a write', async () => {
    const first = await curl(rig, router, 'hostname=home.example.test&myip=198.51.100.7&wildcard=NOCHG&mx=mx.example.test&backmx=NO&system=dyndns');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(first.stdout).toMatch(/content-length: 18\r\n/i);
    expect(first.stdout).not.toMatch(/transfer-encoding/i);
    expect(first.stdout).toMatch(/content-type: text\/plain/i);
    expect(replyBody(first)).toBe('good 198.51.100.7\n');
    expect(values(rig.topology, 'home.example.test', 'A')).toEqual(['198.51.100.7']);
    const writes = boxWrites(rig.topology);
    expect(writes).toBe(1);
    const again = await curl(rig, router, 'hostname=home.example.test&myip=198.51.100.7');
    expect(replyBody(again)).toBe('nochg 198.51.100.7\n');
    expect(boxWrites(rig.topology)).toBe(writes);
  });

  it('curl as a router, IPv6 and both families: each sets its own record type', async () => {
    const v6 = await curl(rig, router, 'hostname=nas.example.test&myipv6=2001:DB8:0:0::1');
    expect(replyBody(v6)).toBe('good 2001:db8::1\n');
    expect(values(rig.topology, 'nas.example.test', 'AAAA')).toEqual(['2001:db8::1']);
    expect(values(rig.topology, 'nas.example.test', 'A')).toEqual([]);
    const both = await curl(rig, router, 'hostname=nas.example.test&myip=203.0.113.5,2001:db8::1');
    expect(replyBody(both)).toBe('good 203.0.113.5,2001:db8::1\n');
    expect(values(rig.topology, 'nas.example.test', 'A')).toEqual(['203.0.113.5']);
    expect(values(rig.topology, 'nas.example.test', 'AAAA')).toEqual(['2001:db8::1']);
    // One family unchanged, one new: written (good), the unchanged one not sent again.
    rig.topology.emulator.clearLog();
    const split = await curl(rig, router, 'hostname=nas.example.test&myip=203.0.113.5&myipv6=2001:db8::2', ['-X', 'POST']);
    expect(replyBody(split)).toBe('good 203.0.113.5,2001:db8::2\n');
    expect(boxWrites(rig.topology)).toBe(1);
    expect(values(rig.topology, 'nas.example.test', 'AAAA')).toEqual(['2001:db8::2']);
  });

  it('a FRITZ!Box-style URL (credentials in it, an empty <ip6addr> or <ipaddr>) sets only the family it has', async () => {
    const target = new URL(rig.serve.url);
    const url = (query: string): string => `http://${router.username}:${router.password}@${target.host}/nic/update?${query}`;
    // curl turns the URL's user:password into HTTP Basic, as the routers do.
    const config = join(rig.topology.dir, 'curl-fritz.conf');
    await writeFile(config, `url = "${url('hostname=home.example.test&myip=198.51.100.9,')}"\n`, { mode: 0o600 });
    const v4 = await runCommand([requireBinary('curl'), '-sS', '-K', config], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: rig.topology.dir, timeoutMs: 30_000 });
    expect(v4.stdout).toBe('good 198.51.100.9\n');
    await writeFile(config, `url = "${url('hostname=home.example.test&myip=,2001:db8::9')}"\n`, { mode: 0o600 });
    const v6 = await runCommand([requireBinary('curl'), '-sS', '-K', config], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: rig.topology.dir, timeoutMs: 30_000 });
    expect(v6.stdout).toBe('good 2001:db8::9\n');
    expect(values(rig.topology, 'home.example.test', 'A')).toEqual(['198.51.100.9']);
    expect(values(rig.topology, 'home.example.test', 'AAAA')).toEqual(['2001:db8::9']);
  });

  it("without myip the requester's address is set", async () => {
    const answer = await nic(rig, pinned, 'hostname=pinned.example.test', { from: '127.0.0.2' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('good 127.0.0.2\n');
    expect(values(rig.topology, 'pinned.example.test', 'A')).toEqual(['127.0.0.2']);
    expect(values(rig.topology, 'pinned.example.test', 'AAAA')).toEqual([]);
  });

  it("behind a --trust-proxy, the address it forwards is the requester's; POST takes a form body", async () => {
    const proxied = await send(rig.serve.url, { method: 'GET', path: '/nic/update?hostname=home.example.test', headers: { ...basic(router.username, router.password), 'x-forwarded-for': '203.0.113.77' }, from: '127.0.0.4' });
    expect(proxied.body).toBe('good 203.0.113.77\n');
    // From a peer that is not a trusted proxy the header proves nothing: the peer's own address.
    const direct = await send(rig.serve.url, { method: 'GET', path: '/nic/update?hostname=home.example.test', headers: { ...basic(router.username, router.password), 'x-forwarded-for': '203.0.113.78' }, from: '127.0.0.5' });
    expect(direct.body).toBe('good 127.0.0.5\n');
    const posted = await send(rig.serve.url, {
      method: 'POST',
      path: '/nic/update',
      headers: { ...basic(router.username, router.password), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'hostname=home.example.test&myip=198.51.100.10',
    });
    expect(posted.body).toBe('good 198.51.100.10\n');
    expect(values(rig.topology, 'home.example.test', 'A')).toEqual(['198.51.100.10']);
  });

  it('one line per hostname in request order: good, nohost, notfqdn, and dnserr for a CNAME or a name outside the zones', async () => {
    const answer = await nic(rig, router, `hostname=${['home.example.test', 'dd1.example.test', 'not a name', 'alias.example.test', 'far.nowhere.test', 'nas.example.test'].map(encodeURIComponent).join(',')}&myip=198.51.100.8`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
    expect(answer.body).toBe('good 198.51.100.8\nnohost\nnotfqdn\ndnserr\ndnserr\ngood 198.51.100.8\n');
    expect(values(rig.topology, 'home.example.test', 'A')).toEqual(['198.51.100.8']);
    expect(values(rig.topology, 'dd1.example.test', 'A')).toEqual([]);
    expect(values(rig.topology, 'alias.example.test', 'A')).toEqual([]);
    expect(boxWrites(rig.topology)).toBe(2);
  });

  it('refusals write nothing: badauth (401), numhost, notfqdn, a --domain client, a malformed myip', async () => {
    const wrong = await nic(rig, { username: router.username, password: `${router.password}x` }, 'hostname=home.example.test&myip=192.0.2.1');
    expect([wrong.status, wrong.body]).toEqual([401, 'badauth\n']);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
    const none = await nic(rig, undefined, 'hostname=home.example.test&myip=192.0.2.1');
    expect([none.status, none.body]).toEqual([401, 'badauth\n']);
    const foreign = await nic(rig, pinned, 'hostname=pinned.example.test&myip=192.0.2.1', { from: '127.0.0.3' });
    expect([foreign.status, foreign.body]).toEqual([401, 'badauth\n']);
    const many = Array.from({ length: 21 }, (_, index) => `h${index}.example.test`).join(',');
    expect((await nic(rig, router, `hostname=${many}&myip=192.0.2.1`)).body).toBe('numhost\n');
    expect((await nic(rig, router, 'myip=192.0.2.1')).body).toBe('notfqdn\n');
    expect((await nic(rig, router, 'hostname=example&myip=192.0.2.1')).body).toBe('notfqdn\n');
    // A --domain grants _acme-challenge TXT only, never an address.
    expect((await nic(rig, txtOnly, 'hostname=a.example.test&myip=192.0.2.1')).body).toBe('nohost\n');
    expect((await nic(rig, txtOnly, 'hostname=_acme-challenge.a.example.test&myip=192.0.2.1')).body).toBe('nohost\n');
    // And a --ddns-host grants no TXT: httpreq refuses the challenge name beneath it.
    const txt = await present(rig.serve.url, router, '_acme-challenge.home.example.test.', newValue());
    expect(txt.status).toBe(403);
    for (const myip of ['300.1.1.1', '192.0.2.1,192.0.2.2', 'fe80::1%25eth0', 'example.test']) {
      const bad = await nic(rig, router, `hostname=home.example.test,nas.example.test&myip=${myip}`);
      expect([bad.status, bad.body]).toEqual([200, 'dnserr\ndnserr\n']);
    }
    expect(boxWrites(rig.topology)).toBe(0);
    expect(values(rig.topology, 'a.example.test', 'A')).toEqual([]);
    expect(values(rig.topology, 'home.example.test', 'A')).toEqual(['198.51.100.8']);
  });

  it('the real ddclient 3.10 sets two hosts in one request (config file)', async () => {
    const port = new URL(rig.serve.url).port;
    const run = await runDdclient(join(rig.topology.dir, 'ddclient'), [
      'ssl=no',
      'use=ip, ip=192.0.2.44',
      'protocol=dyndns2',
      `server=127.0.0.1:${port}`,
      `login=${ddclientClient.username}`,
      `password='${ddclientClient.password}'`,
      'dd1.example.test,dd2.other.test',
    ]);
    const { output } = run;
    expect(run.exitCode, output).toBe(0);
    expect(output).toContain('updating dd1.example.test: good: IP address set to 192.0.2.44');
    expect(output).toContain('updating dd2.other.test: good: IP address set to 192.0.2.44');
    expect(values(rig.topology, 'dd1.example.test', 'A')).toEqual(['192.0.2.44']);
    expect(values(rig.topology, 'dd2.other.test', 'A')).toEqual(['192.0.2.44']);
    const updates = rig.topology.emulator.requests.filter((request) => request.method === 'PUT');
    expect(updates.map((request) => request.path)).toEqual([expect.stringContaining('/dns/custom/dd1.example.test/A'), expect.stringContaining('/dns/custom/dd2.other.test/A')]);
    expect(output).not.toContain(ddclientClient.password);
    // Both hosts went in one request (ddclient groups hosts of one login and server).
    const audit = await auditEntries(auditLog, (entries) => entries.some((entry) => entry.client === 'ddclient'));
    expect(audit.filter((entry) => entry.client === 'ddclient').map((entry) => entry.name)).toEqual(['dd1.example.test,dd2.other.test']);
  });

  it('the real inadyn 2.10 (custom provider) sets its host, as an unprivileged user', async () => {
    const dir = join(rig.topology.dir, 'inadyn');
    await mkdir(join(dir, 'cache'), { recursive: true });
    const config = join(dir, 'inadyn.conf');
    const port = new URL(rig.serve.url).port;
    await writeFile(
      config,
      [
        'period = 300',
        'custom serve {',
        '    ssl            = false',
        `    username       = "${inadynClient.username}"`,
        `    password       = "${inadynClient.password}"`,
        `    ddns-server    = "127.0.0.1:${port}"`,
        '    ddns-path      = "/nic/update?hostname=%h&myip=%i"',
        '    checkip-command = "echo 192.0.2.55"',
        '    hostname       = "in1.example.test"',
        '}',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const command = [requireBinary('inadyn'), '-1', '--foreground', '-f', config, '--cache-dir', join(dir, 'cache'), '-P', join(dir, 'inadyn.pid'), '-l', 'debug'];
    // As root, run it as nobody: its files in a directory of its own, the directories above
    // (0700) made passable for the run and restored after.
    const unprivileged = process.getuid?.() === 0;
    const opened: { path: string; mode: number }[] = [];
    if (unprivileged) {
      for (let path = rig.topology.dir; path !== dirname(path) && path !== tmpdir().replace(/\/[^/]*$/, ''); path = dirname(path)) {
        const mode = (await stat(path)).mode & 0o7777;
        if ((mode & 0o001) === 0) {
          opened.push({ path, mode });
          await chmod(path, mode | 0o001);
        }
      }
      for (const path of [dir, join(dir, 'cache'), config]) await chown(path, NOBODY, NOBODY);
    }
    let run: CommandRun;
    try {
      run = await runCommand(unprivileged ? [requireBinary('setpriv'), `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...command] : command, {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
        cwd: dir,
        timeoutMs: 60_000,
      });
    } finally {
      for (const { path, mode } of opened.reverse()) await chmod(path, mode);
    }
    const output = run.stdout + run.stderr;
    expect(run.exitCode, output).toBe(0);
    expect(values(rig.topology, 'in1.example.test', 'A')).toEqual(['192.0.2.55']);
    expect(output).toMatch(/good 192\.0\.2\.55/);
    // Its cache of the address set was written by the user it ran as.
    const cached = await readdir(join(dir, 'cache'));
    expect(cached.length).toBeGreaterThan(0);
    for (const file of cached) expect((await stat(join(dir, 'cache', file))).uid).toBe(unprivileged ? NOBODY : process.getuid?.());
  });

  it('a locked-out source gets abuse (429) whatever it sends', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await nic(rig, { username: router.username, password: 'wrong' }, 'hostname=home.example.test', { from: '127.0.0.9' })).status).toBe(401);
    }
    const locked = await nic(rig, router, 'hostname=home.example.test&myip=192.0.2.9', { from: '127.0.0.9' });
    expect([locked.status, locked.body]).toEqual([429, 'abuse\n']);
    expect(locked.headers['retry-after']).toMatch(/^\d+$/);
    expect(boxWrites(rig.topology)).toBe(0);
  });

  it("TXT records (the partner's too) are untouched; the box saw only serve's session; the audit log names each request, never a secret", async () => {
    expect(values(rig.topology, 'home.example.test', 'TXT')).toEqual(['v=spf1 -all']);
    expect(values(rig.topology, '_acme-challenge.a.example.test', 'TXT')).toEqual([PARTNER_TXT]);
    expect(values(rig.topology, 'alias.example.test', 'CNAME')).toEqual(['home.example.test']);
    await nic(rig, router, 'hostname=home.example.test&myip=192.0.2.200');
    const seen = rig.topology.emulator.requests;
    expect(seen.length).toBeGreaterThan(0);
    for (const request of seen) {
      expect(['session', 'password']).toContain(request.authKind);
      if (request.authKind === 'password') expect(request.path).toMatch(/\/login$/);
    }
    const audit = await auditEntries(auditLog, (entries) => entries.at(-1)?.note === 'good');
    const updates = audit.filter((entry) => entry.action === 'nic-update');
    expect(updates.length).toBeGreaterThan(10);
    expect(updates.at(-1)).toMatchObject({ client: 'router', name: 'home.example.test', status: 200, note: 'good' });
    expect(updates).toContainEqual(expect.objectContaining({ client: null, status: 401, note: 'bad_credentials' }));
    expect(updates).toContainEqual(expect.objectContaining({ client: 'pinned', status: 401, note: 'source_not_allowed' }));
    expect(updates).toContainEqual(expect.objectContaining({ status: 429, note: 'locked_out' }));
    const text = JSON.stringify(audit) + rig.serve.output();
    for (const secret of [router.password, pinned.password, ddclientClient.password, inadynClient.password, TEST_PASSWORD, TEST_TOTP_SECRET]) expect(text).not.toContain(secret);
  });
});

describe('dyndns2 through serve (Power Mail-in-a-Box)', () => {
  let rig: Rig;
  let router: AddedClient;

  beforeAll(async () => {
    // On ::1: the requester's own address is then an IPv6 one.
    rig = await startRig(
      { lagMs: 200, flavor: 'power', records: [{ qname: 'home.example.test', rtype: 'TXT', value: 'keep me', ttl: 3600 }] },
      async (env) => {
        router = (await addClient(env, 'router', [], ['--ddns-host', 'home.example.test'])).client;
        return [];
      },
      { envOverrides: { MIAB_FLAVOR: 'power' }, host: '::1' },
    );
  });

  afterAll(async () => {
    await rig?.serve.stop();
    await rig?.topology.stop();
  });

  it('writes the addresses with a 60 s TTL in the form dialect; the TXT beside them stays', async () => {
    const answer = await nic(rig, router, 'hostname=home.example.test&myip=198.51.100.70,2001:db8::70', { from: '::1' });
    expect(answer.body).toBe('good 198.51.100.70,2001:db8::70\n');
    const records = rig.topology.emulator.records().filter((record) => record.qname === 'home.example.test');
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rtype: 'A', value: '198.51.100.70', ttl: 60 }),
        expect.objectContaining({ rtype: 'AAAA', value: '2001:db8::70', ttl: 60 }),
        expect.objectContaining({ rtype: 'TXT', value: 'keep me' }),
      ]),
    );
    expect(records).toHaveLength(3);
    const puts = rig.topology.emulator.requests.filter((request) => request.method === 'PUT');
    expect(puts.map((request) => request.body)).toEqual(['value=198.51.100.70&ttl=60', 'value=2001%3Adb8%3A%3A70&ttl=60']);
    rig.topology.emulator.clearLog();
    expect((await nic(rig, router, 'hostname=home.example.test&myip=198.51.100.70,2001:db8::70', { from: '::1' })).body).toBe('nochg 198.51.100.70,2001:db8::70\n');
    expect(boxWrites(rig.topology)).toBe(0);
  });

  it("without myip an IPv6 requester's address sets the AAAA record only", async () => {
    expect((await nic(rig, router, 'hostname=home.example.test', { from: '::1' })).body).toBe('good ::1\n');
    expect(values(rig.topology, 'home.example.test', 'AAAA')).toEqual(['::1']);
    expect(values(rig.topology, 'home.example.test', 'A')).toEqual(['198.51.100.70']);
  });
});

describe('dyndns2 through serve (cPanel)', () => {
  let serve: ServeProcess;
  let emulator: Awaited<ReturnType<typeof harness>>['emulator'];
  let router: AddedClient;

  const addressLines = (name: string): { type: string; ttl: number; data: readonly string[] }[] =>
    emulator
      .lines('example.test')
      .flatMap((line) => (line.type === 'record' && (line.recordType === 'A' || line.recordType === 'AAAA' || line.recordType === 'TXT') && line.dname === `${name}.` ? [{ type: line.recordType, ttl: line.ttl, data: line.data }] : []));
  const zoneWrites = (): number => emulator.requests.filter((request) => request.path.includes('/DNS/mass_edit_zone')).length;

  beforeAll(async () => {
    const cpanel = await harness('token', {
      records: [
        { zone: 'example.test', dname: 'home.example.test.', recordType: 'A', ttl: 14400, data: ['192.0.2.98'] },
        { zone: 'example.test', dname: 'home.example.test.', recordType: 'A', ttl: 14400, data: ['192.0.2.99'] },
        { zone: 'example.test', dname: 'home.example.test.', recordType: 'TXT', ttl: 14400, data: ['keep me'] },
      ],
    });
    emulator = cpanel.emulator;
    const env = { ...cpanel.env, MIAB_DNS01_PROVIDER: 'cpanel', MIAB_STATE_DIR: cpanel.stateDir, PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: process.env.TMPDIR ?? '/tmp' };
    router = (await addClient(env, 'router', [], ['--ddns-host', 'home.example.test'])).client;
    serve = await startServe(env);
  });

  afterAll(async () => {
    await serve?.stop();
    await stopAll();
  });

  it('replaces the A records (two become one) and adds the AAAA with a 60 s TTL in one zone edit each; the TXT stays; nochg reads only', async () => {
    const rig = { serve } as Rig;
    const answer = await nic(rig, router, 'hostname=home.example.test&myip=198.51.100.80,2001:db8::80');
    expect(answer.body).toBe('good 198.51.100.80,2001:db8::80\n');
    expect(addressLines('home.example.test')).toEqual(
      expect.arrayContaining([
        { type: 'A', ttl: 60, data: ['198.51.100.80'] },
        { type: 'AAAA', ttl: 60, data: ['2001:db8::80'] },
        { type: 'TXT', ttl: 14400, data: ['keep me'] },
      ]),
    );
    expect(addressLines('home.example.test')).toHaveLength(3);
    const writes = zoneWrites();
    expect(writes).toBe(2);
    expect((await nic(rig, router, 'hostname=home.example.test&myip=198.51.100.80,2001:db8::80')).body).toBe('nochg 198.51.100.80,2001:db8::80\n');
    expect(zoneWrites()).toBe(writes);
  });
});

describe('dyndns2 through serve over HTTPS', () => {
  let rig: Rig;
  let pki: TestPki;
  let router: AddedClient;

  beforeAll(async () => {
    pki = await createTestPki();
    rig = await startRig({ lagMs: 200 }, async (env) => {
      router = (await addClient(env, 'router', [], ['--ddns-host', 'tls.example.test'])).client;
      return ['--tls-cert', pki.leaf.chainPath, '--tls-key', pki.leaf.keyPath];
    });
  });

  afterAll(async () => {
    await rig?.serve.stop();
    await rig?.topology.stop();
    await pki?.cleanup();
  });

  it('ddclient with ssl=yes (trusting the CA file) and curl --cacert set the address', async () => {
    const port = new URL(rig.serve.url).port;
    const run = await runDdclient(join(rig.topology.dir, 'ddclient-tls'), [
      'ssl=yes',
      `ssl_ca_file=${pki.ca.certPath}`,
      'use=ip, ip=192.0.2.66',
      'protocol=dyndns2',
      `server=127.0.0.1:${port}`,
      `login=${router.username}`,
      `password='${router.password}'`,
      'tls.example.test',
    ]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('updating tls.example.test: good: IP address set to 192.0.2.66');
    expect(values(rig.topology, 'tls.example.test', 'A')).toEqual(['192.0.2.66']);
    const secure = await curl(rig, router, 'hostname=tls.example.test&myipv6=2001:db8::66', ['--cacert', pki.ca.certPath]);
    expect(replyBody(secure)).toBe('good 2001:db8::66\n');
    expect(values(rig.topology, 'tls.example.test', 'AAAA')).toEqual(['2001:db8::66']);
  });
});
