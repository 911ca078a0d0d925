/**
 * `serve --dns-listen` with the real RFC 2136 clients (Debian 12): nsupdate and knsupdate
 * with keys from `clients add --tsig`, and certbot dns-rfc2136 / lego rfc2136 issuing apex +
 * wildcard certificates from Pebble. Box writes take 0.2 s; a partner value at the challenge
 * name (not written through serve) survives every delete; the box sees only serve's login.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from '../fixtures/topology.js';
import { runCli } from '../fixtures/cli.js';
import { newValue, startServe, type ServeProcess } from './helpers.js';
import { certificateNames } from '../fixtures/acme-clients.js';
import { PARTNER_VALUE, addTsigClient, boxWrites, dnsListenPort, nsupdateScript, runCertbotRfc2136, runLegoRfc2136, runNsupdate, slowBoxWrites, txtAt, type TsigClient } from './rfc2136-helpers.js';

const NAME = '_acme-challenge.a.example.test';
let topology: Topology;
let serve: ServeProcess;
let dnsPort: number;
let web1: TsigClient;
let env: Record<string, string>;

beforeAll(async () => {
  topology = await startTopology({ pebble: true, records: [{ qname: NAME, rtype: 'TXT', value: PARTNER_VALUE }] });
  env = await topology.env();
  web1 = await addTsigClient(env, 'web1', ['a.example.test'], ['--tsig-algorithm', 'hmac-md5', '--tsig-key-file', join(topology.dir, 'web1.key')]);
  dnsPort = await dnsListenPort();
  serve = await startServe(env, ['--dns-listen', `127.0.0.1:${dnsPort}`, '--audit-log', join(topology.dir, 'audit.log')]);
  slowBoxWrites(topology);
  topology.emulator.clearLog();
});

afterAll(async () => {
  await serve?.stop();
  await topology?.stop();
});

function expectNoLogin(): void {
  expect(topology.emulator.requests.filter((request) => request.path.endsWith('/login'))).toHaveLength(0);
}

describe('clients add --tsig', () => {
  it('prints the key once in the JSON, writes a 0600 BIND key file, and lists name and algorithm without the secret', async () => {
    expect(web1.tsig).toMatchObject({ name: 'web1.', algorithm: 'hmac-md5' });
    expect(Buffer.from(web1.tsig.secret, 'base64')).toHaveLength(16);
    const keyFile = join(topology.dir, 'web1.key');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, 'utf8')).toBe(`key "web1." {\n\talgorithm hmac-md5;\n\tsecret "${web1.tsig.secret}";\n};\n`);
    const list = await runCli(['clients', 'list'], { env });
    expect(list.stdout).toContain('tsig=web1./hmac-md5');
    expect(list.stdout).not.toContain(web1.tsig.secret);
  });

  it('refuses an unknown algorithm and --tsig-algorithm without --tsig, adding nothing', async () => {
    const bad = await runCli(['clients', 'add', 'x1', '--domain', 'a.example.test', '--tsig', '--tsig-algorithm', 'hmac-sha3'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--tsig-algorithm takes one of');
    const lone = await runCli(['clients', 'add', 'x2', '--domain', 'a.example.test', '--tsig-algorithm', 'hmac-sha1'], { env });
    expect(lone.code).not.toBe(0);
    expect((await runCli(['clients', 'list'], { env })).stdout).not.toMatch(/^x[12]\t/m);
  });
});

describe('nsupdate (BIND 9.18) and knsupdate (Knot 3.2)', () => {
  it('nsupdate -y (its hmac-md5) with a zone line adds; without one it finds the zone by a signed SOA query; the box sees only serve', async () => {
    const first = newValue();
    const second = newValue();
    const withZone = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update add ${NAME} 120 TXT "${first}"`], { zone: 'example.test' }), { inline: web1.tsig });
    expect(withZone.exitCode, withZone.stderr + serve.output()).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE, first].sort());
    const noZone = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update add ${NAME} 120 TXT "${second}"`]), { inline: web1.tsig });
    expect(noZone.exitCode, noZone.stderr + serve.output()).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE, first, second].sort());

    const one = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update delete ${NAME} TXT "${first}"`]), { inline: web1.tsig });
    expect(one.exitCode, one.stderr).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE, second].sort());
    const rrset = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update delete ${NAME} TXT`], { zone: 'example.test' }), { inline: web1.tsig });
    expect(rrset.exitCode, rrset.stderr).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE]);
    expectNoLogin();
  });

  it('nsupdate -k with the key file from clients add, over TCP (-v); the whole name (class ANY, type ANY) removes only its own values', async () => {
    const value = newValue();
    const add = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update add ${NAME} 120 TXT "${value}"`]), { file: join(topology.dir, 'web1.key') }, 'nsupdate', { tcp: true });
    expect(add.exitCode, add.stderr).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE, value].sort());
    const all = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update delete ${NAME}`]), { file: join(topology.dir, 'web1.key') }, 'nsupdate', { tcp: true });
    expect(all.exitCode, all.stderr).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE]);
  });

  it('knsupdate (its hmac-sha256 key) adds and deletes with an explicit zone', async () => {
    const knot = await addTsigClient(env, 'knot1', ['a.example.test']);
    expect(knot.tsig.algorithm).toBe('hmac-sha256');
    const value = newValue();
    const add = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update add ${NAME} 120 TXT "${value}"`], { zone: 'example.test.' }), { inline: knot.tsig }, 'knsupdate');
    expect(add.exitCode, add.stdout + add.stderr + serve.output()).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE, value].sort());
    const remove = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update delete ${NAME} TXT "${value}"`], { zone: 'example.test.' }), { inline: knot.tsig }, 'knsupdate');
    expect(remove.exitCode, remove.stdout + remove.stderr).toBe(0);
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE]);
  });

  it('nsupdate sets A and AAAA at a --ddns-host (delete RRset + add, as DDNS scripts send): the address is replaced; leaving none, or a name not its own, is refused', async () => {
    const router = await addTsigClient(env, 'router1', [], ['--ddns-host', 'home.example.test']);
    const addresses = (type: string): string[] => topology.emulator.records().filter((record) => record.qname === 'home.example.test' && record.rtype === type).map((record) => record.value);
    const set = await runNsupdate(topology.dir, nsupdateScript(dnsPort, ['update delete home.example.test A', 'update add home.example.test 60 A 192.0.2.7', 'update add home.example.test 60 AAAA 2001:db8:0:0::7']), { inline: router.tsig });
    expect(set.exitCode, set.stderr + serve.output().slice(-2000)).toBe(0);
    expect(addresses('A')).toEqual(['192.0.2.7']);
    expect(addresses('AAAA')).toEqual(['2001:db8::7']);
    const replaced = await runNsupdate(topology.dir, nsupdateScript(dnsPort, ['update add home.example.test 60 A 192.0.2.8']), { inline: router.tsig });
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    expect(addresses('A')).toEqual(['192.0.2.8']);
    topology.emulator.clearLog();
    const none = await runNsupdate(topology.dir, nsupdateScript(dnsPort, ['update delete home.example.test A']), { inline: router.tsig });
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toContain('REFUSED');
    const foreign = await runNsupdate(topology.dir, nsupdateScript(dnsPort, ['update add www.example.test 60 A 192.0.2.9']), { inline: router.tsig });
    expect(foreign.exitCode).not.toBe(0);
    const txt = await runNsupdate(topology.dir, nsupdateScript(dnsPort, [`update add ${NAME} 120 TXT "${newValue()}"`]), { inline: router.tsig });
    expect(txt.exitCode).not.toBe(0);
    expect(topology.emulator.requests.filter((request) => request.path.includes('/dns/custom') && request.method !== 'GET')).toHaveLength(0);
    expect(addresses('A')).toEqual(['192.0.2.8']);
  });

  it('writes one audit line per UPDATE with client, key, source, names and rcode, never the secret', async () => {
    const lines = (await readFile(join(topology.dir, 'audit.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const updates = lines.filter((line) => line.action === 'dns-update');
    expect(updates.length).toBeGreaterThanOrEqual(6);
    expect(updates[0]).toMatchObject({ client: 'web1', key: 'web1', ip: '127.0.0.1', name: NAME, rcode: 'NOERROR', status: 200 });
    const text = await readFile(join(topology.dir, 'audit.log'), 'utf8');
    for (const secret of [web1.tsig.secret, TEST_PASSWORD, TEST_TOTP_SECRET]) expect(text).not.toContain(secret);
    expect(serve.output()).not.toContain(web1.tsig.secret);
  });
});

describe('ACME clients issue apex + wildcard from Pebble through serve --dns-listen', () => {
  const DOMAINS = ['a.example.test', '*.a.example.test'];

  async function expectIssued(certPath: string, output: string): Promise<void> {
    const pebble = topology.pebble;
    if (!pebble) throw new Error('no Pebble');
    expect((await certificateNames(certPath).catch(() => [])).sort(), output).toEqual([...DOMAINS].sort());
    await pebble.verifyIssued(await readFile(certPath, 'utf8'));
    expect(txtAt(topology, NAME)).toEqual([PARTNER_VALUE]);
    expectNoLogin();
  }

  for (const algorithm of [undefined, 'HMAC-SHA256'] as const) {
    it(`certbot dns-rfc2136 with ${algorithm ?? 'its HMAC-MD5 default'}`, async () => {
      const pebble = topology.pebble;
      if (!pebble) throw new Error('no Pebble');
      const name = algorithm === undefined ? 'certbot-md5' : 'certbot-sha256';
      const client = await addTsigClient(env, name, ['a.example.test'], ['--tsig-algorithm', algorithm === undefined ? 'hmac-md5' : 'hmac-sha256']);
      topology.emulator.clearLog();
      const run = await runCertbotRfc2136({ directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, workDir: join(topology.dir, name), domains: DOMAINS, dnsPort }, client.tsig, algorithm === undefined ? {} : { algorithm });
      const log = await readFile(run.logPath, 'utf8').catch(() => '');
      const output = `${run.stdout}\n${run.stderr}\n${log.slice(-5000)}\n${serve.output().slice(-3000)}`;
      expect(run.exitCode, output).toBe(0);
      await expectIssued(run.certPath, output);
      expect(boxWrites(topology)).toBe(4);
    });
  }

  it('lego --dns rfc2136 (its hmac-sha1 default, delete RRset then add in one message, --dns.disable-cp)', async () => {
    const pebble = topology.pebble;
    if (!pebble) throw new Error('no Pebble');
    const client = await addTsigClient(env, 'lego1', ['a.example.test'], ['--tsig-algorithm', 'hmac-sha1']);
    topology.emulator.clearLog();
    const run = await runLegoRfc2136({ directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, workDir: join(topology.dir, 'lego1'), domains: DOMAINS, dnsPort }, client.tsig);
    const output = `${run.stdout}\n${run.stderr}\n${serve.output().slice(-3000)}`;
    expect(run.exitCode, output).toBe(0);
    await expectIssued(run.certPath, output);
  });
});
