/**
 * `serve` through the real CLI against the emulator (TOTP on) and nsd: both protocols, the
 * two-slot rule, scope and source checks, the lockout, the audit log and secrets.
 * Sources: 127.0.0.2 is the client's allowed machine, 127.0.0.3 a foreign one, 127.0.0.4 a
 * trusted proxy, 127.0.0.5/6 attackers.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from '../fixtures/topology.js';
import { txtAt } from '../clients/harness.js';
import { acmeDnsUpdate, addClient, basic, newValue, present, send, startServe, type AddedClient, type ServeProcess } from './helpers.js';

let topology: Topology;
let env: Record<string, string>;
let serve: ServeProcess;
let web1: AddedClient;
let web2: AddedClient;
let pinned: AddedClient;
let auditLog: string;
const outputs: string[] = [];

function boxWrites(): number {
  return topology.emulator.requests.filter((request) => (request.method === 'POST' || request.method === 'DELETE') && request.path.includes('/dns/custom/')).length;
}

function txt(name: string): string[] {
  return topology.emulator
    .records()
    .filter((record) => record.qname === name && record.rtype === 'TXT')
    .map((record) => record.value);
}

beforeAll(async () => {
  topology = await startTopology({ lagMs: 300 });
  env = await topology.env();
  auditLog = join(topology.dir, 'audit.log');
  const added1 = await addClient(env, 'web1', ['a.example.test', 'b.other.test'], ['--server-url', 'http://127.0.0.1:1']);
  web1 = added1.client;
  web2 = (await addClient(env, 'web2', ['c.example.test'])).client;
  pinned = (await addClient(env, 'pinned', ['d.example.test'], ['--allow-from', '127.0.0.2/32'])).client;
  outputs.push(added1.stderr);
  serve = await startServe(env, ['--audit-log', auditLog, '--trust-proxy', '127.0.0.4']);
});

afterAll(async () => {
  await serve?.stop();
  await topology?.stop();
});

beforeEach(() => {
  topology.emulator.clearLog();
});

describe('clients add / list', () => {
  it('prints the acme-dns storage map once; the registry holds only hashes, mode 0600', async () => {
    expect(web1.password).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(web1.username).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(web1.acme_dns).sort()).toEqual(['a.example.test', 'b.other.test']);
    const entry = web1.acme_dns['a.example.test'];
    expect(entry).toMatchObject({ username: web1.username, password: web1.password, fulldomain: '_acme-challenge.a.example.test', allowfrom: [], server_url: 'http://127.0.0.1:1' });
    expect(entry?.subdomain).toMatch(/^[0-9a-f-]{36}$/);
    expect(entry?.subdomain).not.toBe(web1.acme_dns['b.other.test']?.subdomain);
    expect(pinned.acme_dns['d.example.test']?.allowfrom).toEqual(['127.0.0.2/32']);
    const registry = join(env.MIAB_STATE_DIR ?? '', 'serve', 'clients.json');
    expect((await stat(registry)).mode & 0o777).toBe(0o600);
    const text = await readFile(registry, 'utf8');
    for (const client of [web1, web2, pinned]) expect(text).not.toContain(client.password);
    const list = await runCli(['clients', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('web1\tdomains=a.example.test,b.other.test\tallow-from=any');
    expect(list.stdout).toContain('pinned\tdomains=d.example.test\tallow-from=127.0.0.2/32');
    expect(list.stdout + list.stderr).not.toContain(web1.password);
    const duplicate = await runCli(['clients', 'add', 'web1', '--domain', 'x.example.test'], { env });
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toContain('serve-client-exists');
  });
});

describe('httpreq', () => {
  it('present waits for every nameserver, echoes the body; cleanup removes exactly that value (libdns key case)', async () => {
    const value = newValue();
    const answer = await send(serve.url, { path: '/present', headers: basic(web1.username, web1.password), body: JSON.stringify({ FQDN: '_acme-challenge.a.example.test.', Value: value }) });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(`"${value}"`);
    expect(JSON.parse(answer.body)).toEqual({ fqdn: '_acme-challenge.a.example.test.', value });
    // Answered only once the lagging secondary serves it.
    expect(await txtAt(`${topology.secondaryAddress}:${topology.dnsPort}`, '_acme-challenge.a.example.test')).toContain(value);
    const other = newValue();
    expect((await present(serve.url, web1, '_acme-challenge.a.example.test.', other)).status).toBe(200);
    const cleanup = await send(serve.url, { path: '/cleanup', headers: basic(web1.username, web1.password), body: JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value }) });
    expect(cleanup.status).toBe(200);
    expect(txt('_acme-challenge.a.example.test')).toEqual([other]);
    await send(serve.url, { path: '/cleanup', headers: basic(web1.username, web1.password), body: JSON.stringify({ fqdn: '_acme-challenge.a.example.test.', value: other }) });
    expect(txt('_acme-challenge.a.example.test')).toEqual([]);
  });

  it('RAW mode computes the digest from the key authorization', async () => {
    const keyAuth = `token-${newValue()}.thumbprint`;
    const body = JSON.stringify({ domain: 'b.other.test', token: 'token', keyAuth });
    const answer = await send(serve.url, { path: '/present', headers: basic(web1.username, web1.password), body });
    expect(answer.status).toBe(200);
    const { createHash } = await import('node:crypto');
    const value = createHash('sha256').update(keyAuth).digest('base64url');
    expect(txt('_acme-challenge.b.other.test')).toEqual([value]);
    expect((await send(serve.url, { path: '/cleanup', headers: basic(web1.username, web1.password), body })).status).toBe(200);
    expect(txt('_acme-challenge.b.other.test')).toEqual([]);
  });
});

describe('acme-dns', () => {
  it('/update as goacmedns sends it; two slots per domain, the oldest evicted before the third answer', async () => {
    const account = web1.acme_dns['a.example.test'];
    if (!account) throw new Error('no account');
    const values = [newValue(), newValue(), newValue()];
    for (const value of values) {
      const answer = await acmeDnsUpdate(serve.url, account, value);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ txt: value });
    }
    expect(txt('_acme-challenge.a.example.test').sort()).toEqual(values.slice(1).sort());
    // The other domain's slots are its own.
    const otherAccount = web1.acme_dns['b.other.test'];
    if (!otherAccount) throw new Error('no account');
    const otherValue = newValue();
    expect((await acmeDnsUpdate(serve.url, otherAccount, otherValue)).status).toBe(200);
    expect(txt('_acme-challenge.a.example.test').sort()).toEqual(values.slice(1).sort());
    expect(txt('_acme-challenge.b.other.test')).toEqual([otherValue]);
  });

  it('/health 200, /register 403 with a JSON error, bad input 400', async () => {
    expect((await send(serve.url, { method: 'GET', path: '/health' })).status).toBe(200);
    const register = await send(serve.url, { path: '/register', body: '{}' });
    expect(register.status).toBe(403);
    expect(JSON.parse(register.body).error).toContain('clients add');
    const account = web2.acme_dns['c.example.test'];
    if (!account) throw new Error('no account');
    const headers = { 'X-Api-User': account.username, 'X-Api-Key': account.password };
    expect(JSON.parse((await send(serve.url, { path: '/update', headers, body: 'not json' })).body)).toEqual({ error: 'malformed_json_payload' });
    expect(JSON.parse((await send(serve.url, { path: '/update', headers, body: JSON.stringify({ subdomain: account.subdomain, txt: 'bad"value' }) })).body)).toEqual({ error: 'bad_txt' });
    expect(JSON.parse((await send(serve.url, { path: '/update', headers, body: JSON.stringify({ subdomain: 'nope', txt: newValue() }) })).body)).toEqual({ error: 'bad_subdomain' });
    expect(boxWrites()).toBe(0);
  });
});

describe('scope and abuse', () => {
  it('refuses names outside the client, wrong passwords and other clients\' subdomains, writing nothing', async () => {
    const value = newValue();
    for (const fqdn of ['_acme-challenge.c.example.test.', '_acme-challenge.sub.a.example.test.', '_acme-challenge.example.test.', '_acme-challenge.a.example.test.evil.test.', 'a.example.test.']) {
      const answer = await present(serve.url, web1, fqdn, value, '127.0.0.7');
      expect(answer.status, fqdn).toBe(403);
    }
    const raw = await send(serve.url, { path: '/present', headers: basic(web1.username, web1.password), body: JSON.stringify({ domain: 'c.example.test', token: 't', keyAuth: 't.x' }), from: '127.0.0.7' });
    expect(raw.status).toBe(403);
    expect((await present(serve.url, { username: web1.username, password: `${web1.password}x` }, '_acme-challenge.a.example.test.', value, '127.0.0.7')).status).toBe(401);
    const stolen = { ...(web2.acme_dns['c.example.test'] ?? { username: '', password: '', subdomain: '' }), subdomain: web1.acme_dns['a.example.test']?.subdomain ?? '' };
    const cross = await acmeDnsUpdate(serve.url, stolen, value, '127.0.0.7');
    expect(cross.status).toBe(401);
    expect(JSON.parse(cross.body)).toEqual({ error: 'forbidden' });
    expect(boxWrites()).toBe(0);
  });

  it('--allow-from: the TCP peer counts; X-Forwarded-For only from a trusted proxy', async () => {
    const account = pinned.acme_dns['d.example.test'];
    if (!account) throw new Error('no account');
    const value = newValue();
    expect((await acmeDnsUpdate(serve.url, account, value, '127.0.0.3')).status).toBe(401);
    expect((await present(serve.url, pinned, '_acme-challenge.d.example.test.', value, '127.0.0.3')).status).toBe(403);
    // Spoofed header from an untrusted peer.
    const spoofed = await send(serve.url, { path: '/present', headers: { ...basic(pinned.username, pinned.password), 'x-forwarded-for': '127.0.0.2' }, body: JSON.stringify({ fqdn: '_acme-challenge.d.example.test.', value }), from: '127.0.0.3' });
    expect(spoofed.status).toBe(403);
    // Through the trusted proxy, for a foreign machine, even with a forged left-most entry.
    const viaProxyForeign = await send(serve.url, { path: '/present', headers: { ...basic(pinned.username, pinned.password), 'x-forwarded-for': '127.0.0.2, 127.0.0.3' }, body: JSON.stringify({ fqdn: '_acme-challenge.d.example.test.', value }), from: '127.0.0.4' });
    expect(viaProxyForeign.status).toBe(403);
    expect(boxWrites()).toBe(0);
    expect(txt('_acme-challenge.d.example.test')).toEqual([]);
    // The allowed machine, directly and through the proxy.
    expect((await acmeDnsUpdate(serve.url, account, value, '127.0.0.2')).status).toBe(200);
    const second = newValue();
    const viaProxy = await send(serve.url, { path: '/present', headers: { ...basic(pinned.username, pinned.password), 'x-forwarded-for': '127.0.0.2' }, body: JSON.stringify({ fqdn: '_acme-challenge.d.example.test.', value: second }), from: '127.0.0.4' });
    expect(viaProxy.status).toBe(200);
    expect(txt('_acme-challenge.d.example.test').sort()).toEqual([value, second].sort());
  });

  it('10 failed authentications from one address: 429 for that address only, valid credentials included', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await present(serve.url, { username: web2.username, password: 'guess' }, '_acme-challenge.c.example.test.', newValue(), '127.0.0.5')).status).toBe(401);
    }
    const blocked = await present(serve.url, web2, '_acme-challenge.c.example.test.', newValue(), '127.0.0.5');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    expect((await send(serve.url, { method: 'GET', path: '/health', from: '127.0.0.5' })).status).toBe(429);
    const value = newValue();
    expect((await present(serve.url, web2, '_acme-challenge.c.example.test.', value, '127.0.0.6')).status).toBe(200);
    expect(txt('_acme-challenge.c.example.test')).toEqual([value]);
  });

  it('bodies over 4 KiB get 413, nothing written', async () => {
    const big = JSON.stringify({ fqdn: '_acme-challenge.c.example.test.', value: 'x'.repeat(5000) });
    const answer = await send(serve.url, { path: '/present', headers: basic(web2.username, web2.password), body: big, from: '127.0.0.8' });
    expect(answer.status).toBe(413);
    expect(boxWrites()).toBe(0);
  });

  it('audit log: mode 0600, one JSON line per request with the required fields, no secret anywhere', async () => {
    expect((await stat(auditLog)).mode & 0o777).toBe(0o600);
    const lines = (await readFile(auditLog, 'utf8')).trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) for (const key of ['time', 'client', 'ip', 'action', 'name', 'status']) expect(entry, JSON.stringify(entry)).toHaveProperty(key);
    expect(entries).toContainEqual(expect.objectContaining({ client: 'web1', ip: '127.0.0.1', action: 'present', name: '_acme-challenge.a.example.test', status: 200 }));
    expect(entries).toContainEqual(expect.objectContaining({ client: 'web1', action: 'update', name: '_acme-challenge.a.example.test', status: 200 }));
    expect(entries).toContainEqual(expect.objectContaining({ client: 'web1', action: 'evict', name: '_acme-challenge.a.example.test' }));
    expect(entries).toContainEqual(expect.objectContaining({ client: null, ip: '127.0.0.5', action: 'present', status: 401 }));
    expect(entries).toContainEqual(expect.objectContaining({ client: 'pinned', ip: '127.0.0.3', status: 403 }));
    expect(entries).toContainEqual(expect.objectContaining({ client: 'pinned', ip: '127.0.0.2', action: 'present', status: 200 }));
    expect(entries).toContainEqual(expect.objectContaining({ action: 'register', status: 403 }));
    const places = [await readFile(auditLog, 'utf8'), serve.output(), ...outputs];
    const secrets = [TEST_PASSWORD, TEST_TOTP_SECRET, web1.password, web2.password, pinned.password];
    for (const place of places) for (const secret of secrets) expect(place.includes(secret)).toBe(false);
  });
});

describe('registry changes while serve runs', () => {
  it('a client added later works at once, a removed one is refused at once; list shows last use', async () => {
    const { client } = await addClient(env, 'later', ['l.example.test']);
    const value = newValue();
    expect((await present(serve.url, client, '_acme-challenge.l.example.test.', value, '127.0.0.9')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const list = await runCli(['clients', 'list'], { env });
    expect(list.stdout).toMatch(/^later\t.*\tlast-use=\d{4}-\d\d-\d\dT/m);
    const removed = await runCli(['clients', 'remove', 'later'], { env });
    expect(removed.code).toBe(0);
    expect((await present(serve.url, client, '_acme-challenge.l.example.test.', newValue(), '127.0.0.9')).status).toBe(401);
    expect((await runCli(['clients', 'remove', 'later'], { env })).stderr).toContain('serve-client-not-found');
  });
});

describe('delegation mode (--delegation-zone)', () => {
  it('a domain not on the box writes only at its own name in the box zone, by both protocols', async () => {
    const { client } = await addClient(env, 'foreign', ['foreign.test'], ['--delegation-zone', 'other.test']);
    const account = client.acme_dns['foreign.test'];
    if (!account) throw new Error('no account');
    expect(account.fulldomain).toBe(`_acme-challenge.${account.subdomain}.other.test`);
    const first = newValue();
    expect((await acmeDnsUpdate(serve.url, account, first, '127.0.0.10')).status).toBe(200);
    expect(txt(account.fulldomain)).toEqual([first]);
    // lego follows the CNAME and sends the target; a client that does not sends its own name.
    const second = newValue();
    expect((await present(serve.url, client, `${account.fulldomain}.`, second, '127.0.0.10')).status).toBe(200);
    const third = newValue();
    expect((await present(serve.url, client, '_acme-challenge.foreign.test.', third, '127.0.0.10')).status).toBe(200);
    expect(txt(account.fulldomain).sort()).toEqual([first, second, third].sort());
    expect(txt('_acme-challenge.foreign.test')).toEqual([]);
    // Another delegated name in the same zone is not this client's.
    const web1Sub = web1.acme_dns['a.example.test']?.subdomain ?? '';
    expect((await present(serve.url, client, `_acme-challenge.${web1Sub}.other.test.`, newValue(), '127.0.0.10')).status).toBe(403);
    expect((await present(serve.url, client, '_acme-challenge.other.test.', newValue(), '127.0.0.10')).status).toBe(403);
    for (const value of [second, third]) {
      expect((await send(serve.url, { path: '/cleanup', headers: basic(client.username, client.password), body: JSON.stringify({ fqdn: '_acme-challenge.foreign.test.', value }), from: '127.0.0.10' })).status).toBe(200);
    }
    expect(txt(account.fulldomain)).toEqual([first]);
  });
});
