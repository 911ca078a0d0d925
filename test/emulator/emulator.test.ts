/**
 * The emulator against miab-api.md, through real HTTP requests. Fast: no nsd, zones go to
 * in-memory publishers; time-dependent behaviour uses the injectable clock.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { generateSync } from 'otplib';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZoneData, ZonePublisher } from '../fixtures/zones.js';
import { currentTotp, startEmulator, type EmulatorOptions, type MiabEmulator } from './index.js';
import { loadRunnerConfig } from './main.js';
import { scratchDir } from '../fixtures/scratch.js';

const ZONE = 'example.test';
const OTHER_ZONE = 'other.test';
const ADMIN = 'admin@example.test';
const PASSWORD = 'correct horse';
const TOTP_USER = 'mfa@example.test';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const MAIL_USER = 'user@example.test';
const TWO_DAYS = 2 * 24 * 3600 * 1000;
// 5 s into a 30 s TOTP step, so stepping the clock by 30 s lands in the next step.
const T0 = Date.UTC(2024, 5, 1, 12, 0, 5);

/** Records every publish with its (real) time, optionally slow or failing. */
class MemoryPublisher implements ZonePublisher {
  readonly published: { at: number; zones: readonly ZoneData[] }[] = [];
  active = 0;
  maxActive = 0;
  delayMs = 0;
  failWith: Error | undefined;

  async publish(zones: readonly ZoneData[]): Promise<void> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (this.failWith) throw this.failWith;
      this.published.push({ at: Date.now(), zones });
    } finally {
      this.active--;
    }
  }

  zone(name: string, index = this.published.length - 1): ZoneData | undefined {
    return this.published[index]?.zones.find((z) => z.name === name);
  }
}

interface Fixture {
  emu: MiabEmulator;
  primary: MemoryPublisher;
  clock: { now: number };
}

const running: MiabEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

async function start(overrides: Partial<EmulatorOptions> = {}): Promise<Fixture> {
  const clock = { now: T0 };
  const primary = new MemoryPublisher();
  const emu = await startEmulator({
    zones: [ZONE, OTHER_ZONE],
    users: [
      { email: ADMIN, password: PASSWORD },
      { email: TOTP_USER, password: PASSWORD, totpSecret: TOTP_SECRET },
      { email: MAIL_USER, password: PASSWORD, privileges: [] },
    ],
    now: () => clock.now,
    dns: { primary },
    ...overrides,
  });
  running.push(emu);
  return { emu, primary, clock };
}

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

interface CallOptions {
  auth?: string;
  totp?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  dispatcher?: Agent;
}

interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(emu: MiabEmulator, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = options.auth;
  if (options.totp) headers['x-auth-token'] = options.totp;
  if (options.body !== undefined) headers['content-type'] ??= 'text/plain';
  const res = await request(emu.url + path, {
    method: method as 'GET',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const asAdmin = (): CallOptions => ({ auth: basic(ADMIN, PASSWORD) });

async function login(emu: MiabEmulator, user = ADMIN, password = PASSWORD, totp?: string): Promise<string> {
  const res = await call(emu, 'POST', '/login', { auth: basic(user, password), ...(totp ? { totp } : {}) });
  const body = JSON.parse(res.text) as { status: string; api_key?: string };
  expect(body.status).toBe('ok');
  return body.api_key ?? '';
}

describe('TOTP', () => {
  it('matches the RFC 6238 SHA-1 vector and otplib', () => {
    // RFC 6238 appendix B: secret "12345678901234567890", T=59 s -> 94287082 (8 digits).
    expect(currentTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000)).toBe('287082');
    for (const t of [T0, T0 + 30_000, 1_700_000_000_000]) {
      expect(currentTotp(TOTP_SECRET, t)).toBe(generateSync({ secret: TOTP_SECRET, epoch: Math.floor(t / 1000) }));
    }
  });
});

describe('POST /login', () => {
  it('answers ok with a 64-hex session key, in the daemon JSON format', async () => {
    const { emu } = await start();
    const res = await call(emu, 'POST', '/login', asAdmin());
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = JSON.parse(res.text) as { api_key: string };
    expect(body.api_key).toMatch(/^[0-9a-f]{64}$/);
    expect(res.text).toBe(
      `{\n  "api_key": "${body.api_key}",\n  "email": "${ADMIN}",\n  "privileges": [\n    "admin"\n  ],\n  "status": "ok"\n}\n`,
    );
  });

  it('answers every failure with 200 and the exact reason', async () => {
    const { emu } = await start();
    const cases: [CallOptions, object][] = [
      [{ auth: basic(ADMIN, 'wrong') }, { reason: 'Incorrect email address or password.', status: 'invalid' }],
      [{ auth: basic('nobody@example.test', PASSWORD) }, { reason: 'Incorrect email address or password.', status: 'invalid' }],
      [{ auth: basic(TOTP_USER, PASSWORD) }, { reason: 'missing-totp-token', status: 'missing-totp-token' }],
      [{ auth: basic(TOTP_USER, PASSWORD), totp: '000000' }, { reason: 'invalid-totp-token', status: 'invalid' }],
      [{}, { reason: 'Authorization header invalid.', status: 'invalid' }],
      [{ auth: 'Bearer abc' }, { reason: 'Authorization header invalid.', status: 'invalid' }],
      [{ auth: basic(emu.systemKey, '') }, { reason: 'Enter a password.', status: 'invalid' }],
      [{ auth: basic(emu.systemKey, 'x') }, { reason: 'Incorrect email address or password.', status: 'invalid' }],
    ];
    for (const [options, expected] of cases) {
      const res = await call(emu, 'POST', '/login', options);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual(expected);
    }
    expect((await call(emu, 'POST', '/login', { auth: basic(ADMIN, 'wrong') })).text).toBe(
      '{\n  "reason": "Incorrect email address or password.",\n  "status": "invalid"\n}\n',
    );
    expect(emu.failedLogins).toBe(cases.length + 1);
    // missing-totp-token is returned before the daemon logs a failed login.
    expect(emu.loggedFailedLogins).toBe(cases.length);
  });

  it('refuses a replayed TOTP code and accepts the next step code', async () => {
    const { emu, clock } = await start();
    const code = currentTotp(TOTP_SECRET, clock.now);
    await login(emu, TOTP_USER, PASSWORD, code);
    const replay = await call(emu, 'POST', '/login', { auth: basic(TOTP_USER, PASSWORD), totp: code });
    expect(JSON.parse(replay.text)).toEqual({ reason: 'invalid-totp-token', status: 'invalid' });
    // Same wall-clock step, but the next step's code is inside the window.
    await login(emu, TOTP_USER, PASSWORD, currentTotp(TOTP_SECRET, clock.now + 30_000));
    // Codes two steps away are outside the window.
    const far = await call(emu, 'POST', '/login', {
      auth: basic(TOTP_USER, PASSWORD),
      totp: currentTotp(TOTP_SECRET, clock.now + 90_000),
    });
    expect(JSON.parse(far.text)).toEqual({ reason: 'invalid-totp-token', status: 'invalid' });
    // The previous step's code is accepted once the clock moves on.
    clock.now += 30_000;
    await login(emu, TOTP_USER, PASSWORD, code);
  });

  it('remembers only ONE code per user (the last accepted): an older spent code of the window works again', async () => {
    const { emu, clock } = await start();
    const previous = currentTotp(TOTP_SECRET, clock.now - 30_000);
    const current = currentTotp(TOTP_SECRET, clock.now);
    const next = currentTotp(TOTP_SECRET, clock.now + 30_000);
    await login(emu, TOTP_USER, PASSWORD, current);
    await login(emu, TOTP_USER, PASSWORD, next); // another code of the window: accepted at once
    await login(emu, TOTP_USER, PASSWORD, current); // the box no longer remembers it
    await login(emu, TOTP_USER, PASSWORD, previous);
    const replay = await call(emu, 'POST', '/login', { auth: basic(TOTP_USER, PASSWORD), totp: previous });
    expect(JSON.parse(replay.text)).toEqual({ reason: 'invalid-totp-token', status: 'invalid' });
    expect(emu.failedLogins).toBe(1);
  });

  it('keeps the last accepted code across a daemon restart (mfa.py stores it in the database)', async () => {
    const { emu, clock } = await start();
    const code = currentTotp(TOTP_SECRET, clock.now);
    await login(emu, TOTP_USER, PASSWORD, code);
    await emu.restart();
    const replay = await call(emu, 'POST', '/login', { auth: basic(TOTP_USER, PASSWORD), totp: code });
    expect(JSON.parse(replay.text)).toEqual({ reason: 'invalid-totp-token', status: 'invalid' });
    await login(emu, TOTP_USER, PASSWORD, currentTotp(TOTP_SECRET, clock.now + 30_000));
  });

  it('GET /login is 405 and GET /me is 404', async () => {
    const { emu } = await start();
    const get = await call(emu, 'GET', '/login', asAdmin());
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('OPTIONS, POST');
    expect((await call(emu, 'GET', '/me', asAdmin())).status).toBe(404);
  });
});

describe('authentication failures on API endpoints', () => {
  it('401 with X-Reason, WWW-Authenticate and a text body by default', async () => {
    const { emu } = await start();
    for (const accept of [undefined, '*/*']) {
      const res = await call(emu, 'GET', '/dns/zones', {
        auth: basic(ADMIN, 'wrong'),
        ...(accept ? { headers: { accept } } : {}),
      });
      expect(res.status).toBe(401);
      expect(res.headers['x-reason']).toBe('Incorrect email address or password.');
      expect(res.headers['www-authenticate']).toBe('Basic realm="Mail-in-a-Box Management Server"');
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.text).toBe('Incorrect email address or password.\n');
    }
  });

  it('a JSON body for other Accept values', async () => {
    const { emu } = await start();
    const res = await call(emu, 'GET', '/dns/zones', {
      auth: basic(ADMIN, 'wrong'),
      headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.text).toBe('{"status": "error", "reason": "Incorrect email address or password."}\n');
  });

  it('a stale session key fails exactly like a wrong password and is counted', async () => {
    const { emu } = await start();
    const wrong = await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, 'f'.repeat(64)) });
    const before = emu.failedLogins;
    const key = await login(emu);
    await emu.restart();
    const stale = await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, key) });
    expect(stale.status).toBe(401);
    expect(stale.text).toBe(wrong.text);
    expect(stale.headers['x-reason']).toBe(wrong.headers['x-reason']);
    expect(emu.failedLogins).toBe(before + 1);
  });

  it('non-admin users get "You are not an administrator."', async () => {
    const { emu } = await start();
    const res = await call(emu, 'GET', '/dns/zones', { auth: basic(MAIL_USER, PASSWORD) });
    expect(res.status).toBe(401);
    expect(res.text).toBe('You are not an administrator.\n');
    // They can still log in (the box only checks the password there).
    const body = JSON.parse((await call(emu, 'POST', '/login', { auth: basic(MAIL_USER, PASSWORD) })).text) as object;
    expect(body).toMatchObject({ status: 'ok', privileges: [] });
  });

  it('counts requests without Authorization but the daemon does not log them', async () => {
    const { emu } = await start();
    const res = await call(emu, 'GET', '/dns/custom');
    expect(res.status).toBe(401);
    expect(res.text).toBe('Authorization header invalid.\n');
    expect(emu.failedLogins).toBe(1);
    expect(emu.loggedFailedLogins).toBe(0);
    expect(emu.requests.at(-1)?.authKind).toBe('none');
  });

  it('answers AJAX requests with 403 and no challenge header', async () => {
    const { emu } = await start();
    const res = await call(emu, 'GET', '/dns/zones', { headers: { 'x-requested-with': 'XMLHttpRequest' } });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('password + TOTP works once per code on API calls', async () => {
    const { emu, clock } = await start();
    const code = currentTotp(TOTP_SECRET, clock.now);
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(TOTP_USER, PASSWORD), totp: code })).status).toBe(200);
    const again = await call(emu, 'GET', '/dns/zones', { auth: basic(TOTP_USER, PASSWORD), totp: code });
    expect(again.headers['x-reason']).toBe('invalid-totp-token');
    const none = await call(emu, 'GET', '/dns/zones', { auth: basic(TOTP_USER, PASSWORD) });
    expect(none.headers['x-reason']).toBe('missing-totp-token');
  });
});

describe('sessions', () => {
  it('expire two days after the last use (sliding)', async () => {
    const { emu, clock } = await start();
    const auth = basic(ADMIN, await login(emu));
    clock.now += TWO_DAYS - 1000;
    expect((await call(emu, 'GET', '/dns/zones', { auth })).status).toBe(200);
    clock.now += TWO_DAYS - 1000; // 4 days after login, under 2 days after the last use
    expect((await call(emu, 'GET', '/dns/zones', { auth })).status).toBe(200);
    clock.now += TWO_DAYS;
    const expired = await call(emu, 'GET', '/dns/zones', { auth });
    expect(expired.status).toBe(401);
    expect(expired.headers['x-reason']).toBe('Incorrect email address or password.');
    expect(emu.liveSessions).toBe(0);
  });

  it('keep at most 64 live sessions, evicting the oldest', async () => {
    const { emu } = await start();
    const keys: string[] = [];
    for (let i = 0; i < 65; i++) keys.push(await login(emu));
    expect(emu.liveSessions).toBe(64);
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, keys[0] ?? '') })).status).toBe(401);
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, keys[1] ?? '') })).status).toBe(200);
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, keys[64] ?? '') })).status).toBe(200);
  });

  it('are bound to their user and bypass TOTP', async () => {
    const { emu, clock } = await start();
    const key = await login(emu, TOTP_USER, PASSWORD, currentTotp(TOTP_SECRET, clock.now));
    expect((await call(emu, 'GET', '/dns/custom', { auth: basic(TOTP_USER, key) })).status).toBe(200);
    expect((await call(emu, 'GET', '/dns/custom', { auth: basic(ADMIN, key) })).status).toBe(401);
  });

  it('end on logout with that key only; logout is always 200', async () => {
    const { emu } = await start();
    const key = await login(emu);
    const auth = basic(ADMIN, key);
    for (const other of [asAdmin(), { auth: basic(ADMIN, 'wrong') }, {}]) {
      const res = await call(emu, 'POST', '/logout', other);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
    }
    expect((await call(emu, 'GET', '/dns/zones', { auth })).status).toBe(200);
    expect((await call(emu, 'POST', '/logout', { auth })).status).toBe(200);
    expect((await call(emu, 'GET', '/dns/zones', { auth })).status).toBe(401);
    expect(emu.liveSessions).toBe(0);
  });

  it('end on restart and on a password change', async () => {
    const { emu } = await start();
    const first = await login(emu);
    await emu.restart();
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, first) })).status).toBe(401);
    const second = await login(emu);
    emu.updateUser(ADMIN, { password: 'new password' });
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, second) })).status).toBe(401);
    expect((await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, 'new password') })).status).toBe(200);
  });
});

describe('system key', () => {
  it('is 32 hex, written 0600 without newline, regenerated on restart, admin without TOTP', async () => {
    const dir = await scratchDir('emu');
    try {
      const file = join(dir, 'api.key');
      const { emu } = await start({ systemKeyFile: file });
      const key = emu.systemKey;
      expect(key).toMatch(/^[0-9a-f]{32}$/);
      expect(await readFile(file, 'utf8')).toBe(key);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const res = await call(emu, 'GET', '/dns/zones', { auth: basic(key, '') });
      expect(res.status).toBe(200);
      expect(emu.requests.at(-1)?.authKind).toBe('system');
      await emu.restart();
      expect(emu.systemKey).not.toBe(key);
      expect(await readFile(file, 'utf8')).toBe(emu.systemKey);
      expect((await call(emu, 'GET', '/dns/zones', { auth: basic(key, '') })).status).toBe(401);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('can be written in the pre-v60 format with a trailing newline', async () => {
    const dir = await scratchDir('emu');
    try {
      const file = join(dir, 'api.key');
      const { emu } = await start({ systemKeyFile: file, systemKeyTrailingNewline: true });
      expect(await readFile(file, 'utf8')).toBe(emu.systemKey + '\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('custom DNS', () => {
  const TXT = `/dns/custom/_acme-challenge.${ZONE}/TXT`;

  it('lists zones and secondary nameservers', async () => {
    const { emu } = await start({ secondaryNameservers: ['ns.backup.test'] });
    const zones = await call(emu, 'GET', '/dns/zones', asAdmin());
    expect(zones.headers['content-type']).toBe('application/json');
    expect(zones.text).toBe(`[\n  "${ZONE}",\n  "${OTHER_ZONE}"\n]\n`);
    const secondary = await call(emu, 'GET', '/dns/secondary-nameserver', asAdmin());
    expect(JSON.parse(secondary.text)).toEqual({ hostnames: ['ns.backup.test'] });
  });

  it('POST appends, answers "updated DNS" or "OK", and publishes before answering', async () => {
    const { emu, primary } = await start();
    expect(primary.published).toHaveLength(1); // the zones served at start
    const serial0 = primary.zone(ZONE)?.serial ?? 0;
    const first = await call(emu, 'POST', TXT, { ...asAdmin(), body: 'token-1' });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(first.text).toBe(`updated DNS: ${ZONE}\n`);
    expect(primary.published).toHaveLength(2);
    expect(primary.zone(ZONE)?.serial).toBe(serial0 + 1);
    expect(primary.zone(ZONE)?.records).toEqual([{ name: `_acme-challenge.${ZONE}`, type: 'TXT', value: 'token-1' }]);
    expect(primary.zone(ZONE)?.nameservers).toEqual(['ns1.box.example.test', 'ns2.box.example.test']);
    expect(primary.zone(OTHER_ZONE)?.records).toEqual([]);

    expect((await call(emu, 'POST', TXT, { ...asAdmin(), body: 'token-1' })).text).toBe('OK');
    expect(primary.published).toHaveLength(2);
    expect((await call(emu, 'POST', TXT, { ...asAdmin(), body: 'token-2' })).text).toBe(`updated DNS: ${ZONE}\n`);
    expect(emu.records()).toEqual([
      { qname: `_acme-challenge.${ZONE}`, rtype: 'TXT', value: 'token-1' },
      { qname: `_acme-challenge.${ZONE}`, rtype: 'TXT', value: 'token-2' },
    ]);
  });

  it('PUT replaces every value, DELETE removes one value or, with an empty body, all', async () => {
    const { emu } = await start();
    for (const v of ['a', 'b', 'c']) await call(emu, 'POST', TXT, { ...asAdmin(), body: v });
    expect((await call(emu, 'PUT', TXT, { ...asAdmin(), body: 'p' })).text).toBe(`updated DNS: ${ZONE}\n`);
    expect(emu.records().map((r) => r.value)).toEqual(['p']);
    expect((await call(emu, 'PUT', TXT, { ...asAdmin(), body: 'p' })).text).toBe('OK');
    await call(emu, 'POST', TXT, { ...asAdmin(), body: 'q' });
    expect((await call(emu, 'DELETE', TXT, { ...asAdmin(), body: 'p' })).text).toBe(`updated DNS: ${ZONE}\n`);
    expect(emu.records().map((r) => r.value)).toEqual(['q']);
    expect((await call(emu, 'DELETE', TXT, { ...asAdmin(), body: 'missing' })).text).toBe('OK');
    await call(emu, 'POST', TXT, { ...asAdmin(), body: 'r' });
    await call(emu, 'POST', `/dns/custom/www.${ZONE}/A`, { ...asAdmin(), body: '192.0.2.1' });
    expect((await call(emu, 'DELETE', TXT, asAdmin())).text).toBe(`updated DNS: ${ZONE}\n`);
    expect(emu.records()).toEqual([{ qname: `www.${ZONE}`, rtype: 'A', value: '192.0.2.1' }]);
    expect((await call(emu, 'DELETE', TXT, asAdmin())).text).toBe('OK');
  });

  it('takes the raw body as ASCII with non-ASCII bytes dropped, trimmed; rtype upper-cased, default A', async () => {
    const { emu } = await start();
    // UTF-8 'é' is two bytes >= 0x80: both are dropped.
    const body = Buffer.from(' \t\u00e9tok\u00e9en\r\n', 'utf8');
    await call(emu, 'POST', `/dns/custom/_acme-challenge.${ZONE}/txt`, { ...asAdmin(), body });
    await call(emu, 'POST', `/dns/custom/host.${ZONE}`, { ...asAdmin(), body: '192.0.2.7' });
    expect(emu.records()).toEqual([
      { qname: `_acme-challenge.${ZONE}`, rtype: 'TXT', value: 'token' },
      { qname: `host.${ZONE}`, rtype: 'A', value: '192.0.2.7' },
    ]);
  });

  it('matches qnames exactly and answers 400 with the daemon texts', async () => {
    const { emu } = await start();
    const cases: [string, string, string, string][] = [
      ['POST', `/dns/custom/_acme-challenge.Example.test/TXT`, 'x', '_acme-challenge.Example.test is not a domain name or a subdomain of a domain name managed by this box.'],
      ['POST', `/dns/custom/_acme-challenge.${ZONE}./TXT`, 'x', `_acme-challenge.${ZONE}. is not a domain name or a subdomain of a domain name managed by this box.`],
      ['POST', `/dns/custom/xn--bcher-kva.unknown.test/TXT`, 'x', 'xn--bcher-kva.unknown.test is not a domain name or a subdomain of a domain name managed by this box.'],
      ['POST', `/dns/custom/bad%20name.${ZONE}/TXT`, 'x', 'Invalid name.'],
      ['POST', TXT, '   ', 'No value for the record provided.'],
      ['PUT', TXT, '', 'No value for the record provided.'],
      ['POST', `/dns/custom/x.${ZONE}/BOGUS`, 'v', "Unknown record type 'BOGUS'."],
      ['POST', `/dns/custom/x.${ZONE}/A`, 'nope', "'nope' does not appear to be an IPv4 or IPv6 address"],
      ['POST', `/dns/custom/${ZONE}/NS`, 'ns.elsewhere.test', 'NS records can only be set for subdomains.'],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await call(emu, method, path, { ...asAdmin(), body });
      expect({ path, status: res.status, text: res.text }).toEqual({ path, status: 400, text: message });
    }
    expect(emu.records()).toEqual([]);
    // Upper case inside a managed zone is accepted as-is (no lower-casing): a different name.
    await call(emu, 'POST', `/dns/custom/_ACME-challenge.${ZONE}/TXT`, { ...asAdmin(), body: 'v' });
    expect(emu.records()[0]?.qname).toBe(`_ACME-challenge.${ZONE}`);
  });

  it('GET returns JSON rows with sort orders and zone; without rtype only A records', async () => {
    const { emu } = await start();
    await call(emu, 'POST', TXT, { ...asAdmin(), body: 'one' });
    await call(emu, 'POST', `/dns/custom/b.${ZONE}/A`, { ...asAdmin(), body: '192.0.2.2' });
    await call(emu, 'POST', TXT, { ...asAdmin(), body: 'two' });
    await call(emu, 'POST', `/dns/custom/a.${OTHER_ZONE}/A`, { ...asAdmin(), body: '192.0.2.3' });
    const key = await login(emu);
    const all = await call(emu, 'GET', '/dns/custom', { auth: basic(ADMIN, key) });
    expect(all.headers['content-type']).toBe('application/json');
    // custom.yaml groups values per name: the second TXT value sits next to the first.
    expect(JSON.parse(all.text)).toEqual([
      { qname: `_acme-challenge.${ZONE}`, rtype: 'TXT', value: 'one', 'sort-order': { created: 0, qname: 0 }, zone: ZONE },
      { qname: `_acme-challenge.${ZONE}`, rtype: 'TXT', value: 'two', 'sort-order': { created: 1, qname: 1 }, zone: ZONE },
      { qname: `b.${ZONE}`, rtype: 'A', value: '192.0.2.2', 'sort-order': { created: 2, qname: 2 }, zone: ZONE },
      { qname: `a.${OTHER_ZONE}`, rtype: 'A', value: '192.0.2.3', 'sort-order': { created: 3, qname: 3 }, zone: OTHER_ZONE },
    ]);
    expect(all.text).toContain('\n    "sort-order": {\n      "created": 0,\n      "qname": 0\n    },\n');
    const txt = JSON.parse((await call(emu, 'GET', TXT, { auth: basic(ADMIN, key) })).text) as { value: string }[];
    expect(txt.map((r) => r.value)).toEqual(['one', 'two']);
    const onlyA = await call(emu, 'GET', `/dns/custom/_acme-challenge.${ZONE}`, { auth: basic(ADMIN, key) });
    expect(JSON.parse(onlyA.text)).toEqual([]);
    const b = JSON.parse((await call(emu, 'GET', `/dns/custom/b.${ZONE}`, { auth: basic(emu.systemKey, '') })).text) as object[];
    expect(b).toHaveLength(1);
  });

  it('GET /dns/custom/<qname> with password + TOTP fails with invalid-totp-token', async () => {
    const { emu, clock } = await start();
    const code = currentTotp(TOTP_SECRET, clock.now);
    const res = await call(emu, 'GET', TXT, { auth: basic(TOTP_USER, PASSWORD), totp: code });
    expect(res.status).toBe(401);
    expect(res.headers['x-reason']).toBe('invalid-totp-token');
    expect(res.text).toBe('invalid-totp-token\n');
    // The first (successful) check used the code up.
    const reuse = await call(emu, 'POST', '/login', { auth: basic(TOTP_USER, PASSWORD), totp: code });
    expect(JSON.parse(reuse.text)).toMatchObject({ status: 'invalid', reason: 'invalid-totp-token' });
    // The list endpoint authenticates once: a fresh code works there.
    const next = currentTotp(TOTP_SECRET, clock.now + 30_000);
    expect((await call(emu, 'GET', '/dns/custom', { auth: basic(TOTP_USER, PASSWORD), totp: next })).status).toBe(200);
  });

  it('answers a failing nsd reload with a 500 page while the record stays saved', async () => {
    const { emu, primary } = await start();
    primary.failWith = new Error('nsd-control reload failed');
    const res = await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' });
    expect(res.status).toBe(500);
    expect(res.text).toContain('<title>500 Internal Server Error</title>');
    expect(emu.records()).toHaveLength(1);
  });
});

describe('Power Mail-in-a-Box dialect (flavor: power)', () => {
  const NAME = `_acme-challenge.${ZONE}`;
  const TXT = `/dns/custom/${NAME}/TXT`;
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const form = (fields: Record<string, string>): CallOptions => ({ ...asAdmin(), headers: FORM, body: new URLSearchParams(fields).toString() });
  const values = (emu: MiabEmulator): string[] => emu.records().filter((r) => r.qname === NAME && r.rtype === 'TXT').map((r) => r.value);

  it('reads value and ttl from a form body; GET lists every record with its ttl', async () => {
    const { emu, primary } = await start({ flavor: 'power', records: [{ qname: NAME, rtype: 'TXT', value: 'partner' }] });
    const added = await call(emu, 'POST', TXT, form({ value: ' token+1/= ', ttl: '300' }));
    expect({ status: added.status, text: added.text }).toEqual({ status: 200, text: `updated DNS: ${ZONE}\n` });
    expect(emu.records()).toEqual([
      { qname: NAME, rtype: 'TXT', value: 'partner' },
      { qname: NAME, rtype: 'TXT', value: 'token+1/=', ttl: 300 },
    ]);
    expect(primary.zone(ZONE)?.records.map((r) => r.value)).toEqual(['partner', 'token+1/=']);
    expect((await call(emu, 'POST', TXT, form({ value: 'token+1/=', ttl: '300' }))).text).toBe('OK');
    const key = await login(emu);
    const listed = JSON.parse((await call(emu, 'GET', '/dns/custom', { auth: basic(ADMIN, key) })).text) as { value: string; ttl: number }[];
    expect(listed.map((r) => [r.value, r.ttl])).toEqual([
      ['partner', null],
      ['token+1/=', 300],
    ]);
    const one = JSON.parse((await call(emu, 'GET', TXT, { auth: basic(ADMIN, key) })).text) as { ttl: number }[];
    expect(one.map((r) => r.ttl)).toEqual([null, 300]);
  });

  it('a form DELETE removes exactly that value (its ttl is not needed); the partner stays', async () => {
    const { emu } = await start({ flavor: 'power', records: [{ qname: NAME, rtype: 'TXT', value: 'partner' }] });
    await call(emu, 'POST', TXT, form({ value: 'mine', ttl: '300' }));
    const removed = await call(emu, 'DELETE', TXT, form({ value: 'mine' }));
    expect({ status: removed.status, text: removed.text }).toEqual({ status: 200, text: `updated DNS: ${ZONE}\n` });
    expect(values(emu)).toEqual(['partner']);
    expect((await call(emu, 'DELETE', TXT, form({ value: 'mine' }))).text).toBe('OK');
  });

  it('a raw-body POST is "No value for the record provided." and changes nothing', async () => {
    const { emu, primary } = await start({ flavor: 'power', records: [{ qname: NAME, rtype: 'TXT', value: 'partner' }] });
    const published = primary.published.length;
    const res = await call(emu, 'POST', TXT, { ...asAdmin(), body: 'raw-token' });
    expect({ status: res.status, text: res.text }).toEqual({ status: 400, text: 'No value for the record provided.' });
    // A form-encoded body without the field is "no value" too.
    expect((await call(emu, 'POST', TXT, form({ ttl: '300' }))).status).toBe(400);
    expect(values(emu)).toEqual(['partner']);
    expect(primary.published).toHaveLength(published);
  });

  it('a raw-body DELETE reads as "no value" and removes EVERY value of that name and type', async () => {
    const { emu } = await start({
      flavor: 'power',
      records: [
        { qname: NAME, rtype: 'TXT', value: 'partner' },
        { qname: NAME, rtype: 'TXT', value: 'wildcard-value' },
        { qname: `other.${ZONE}`, rtype: 'TXT', value: 'elsewhere' },
        { qname: `www.${ZONE}`, rtype: 'A', value: '192.0.2.1' },
      ],
    });
    const res = await call(emu, 'DELETE', TXT, { ...asAdmin(), body: 'wildcard-value' });
    expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: `updated DNS: ${ZONE}\n` });
    expect(emu.records()).toEqual([
      { qname: `other.${ZONE}`, rtype: 'TXT', value: 'elsewhere' },
      { qname: `www.${ZONE}`, rtype: 'A', value: '192.0.2.1' },
    ]);
  });

  it('refuses a ttl that is not a whole number, and clamps one to [30 s, 30 days]', async () => {
    const { emu } = await start({ flavor: 'power' });
    for (const ttl of ['soon', '1.5']) {
      const res = await call(emu, 'POST', TXT, form({ value: 'v', ttl }));
      expect({ ttl, status: res.status, text: res.text }).toEqual({ ttl, status: 400, text: `invalid literal for int() with base 10: '${ttl}'` });
    }
    expect(emu.records()).toEqual([]);
    await call(emu, 'POST', TXT, form({ value: 'short', ttl: '5' }));
    await call(emu, 'POST', TXT, form({ value: 'long', ttl: '99999999' }));
    expect(emu.records().map((r) => [r.value, r.ttl])).toEqual([
      ['short', 30],
      ['long', 2_592_000],
    ]);
  });

  it('keeps upstream login, TOTP and session rules', async () => {
    const { emu, clock } = await start({ flavor: 'power' });
    const code = currentTotp(TOTP_SECRET, clock.now);
    const missing = await call(emu, 'POST', '/login', { auth: basic(TOTP_USER, PASSWORD) });
    expect(JSON.parse(missing.text)).toMatchObject({ status: 'missing-totp-token' });
    const key = await login(emu, TOTP_USER, PASSWORD, code);
    expect((await call(emu, 'POST', TXT, { auth: basic(TOTP_USER, key), headers: FORM, body: 'value=s' })).status).toBe(200);
    const replay = await call(emu, 'POST', '/login', { auth: basic(TOTP_USER, PASSWORD), totp: code });
    expect(JSON.parse(replay.text)).toMatchObject({ status: 'invalid', reason: 'invalid-totp-token' });
    const next = currentTotp(TOTP_SECRET, clock.now + 30_000);
    const reread = await call(emu, 'GET', TXT, { auth: basic(TOTP_USER, PASSWORD), totp: next });
    expect(reread.headers['x-reason']).toBe('invalid-totp-token');
    expect(values(emu)).toEqual(['s']);
  });

  it('upstream (the default) takes a form body as the raw value and lists no ttl', async () => {
    const { emu } = await start();
    await call(emu, 'POST', TXT, form({ value: 'v', ttl: '300' }));
    expect(values(emu)).toEqual(['value=v&ttl=300']);
    const listed = JSON.parse((await call(emu, 'GET', '/dns/custom', asAdmin())).text) as object[];
    expect(listed[0]).not.toHaveProperty('ttl');
  });

  it('addRecord writes as another client would: published, not logged', async () => {
    const { emu, primary } = await start({ flavor: 'power' });
    expect(await emu.addRecord({ qname: NAME, rtype: 'TXT', value: 'partner', ttl: 60 })).toBe(true);
    expect(await emu.addRecord({ qname: NAME, rtype: 'TXT', value: 'partner' })).toBe(false);
    expect(emu.records()).toEqual([{ qname: NAME, rtype: 'TXT', value: 'partner', ttl: 60 }]);
    expect(primary.zone(ZONE)?.records.map((r) => r.value)).toEqual(['partner']);
    expect(emu.requests).toEqual([]);
  });

  it('the runner takes MIAB_EMU_FLAVOR and refuses an unknown one', () => {
    expect(loadRunnerConfig({ MIAB_EMU_FLAVOR: 'power' }).flavor).toBe('power');
    expect(loadRunnerConfig({ MIAB_EMU_CONFIG: '{"flavor":"upstream"}' }).flavor).toBe('upstream');
    expect(() => loadRunnerConfig({ MIAB_EMU_FLAVOR: 'powermail' })).toThrow(/upstream.*power/);
  });
});

describe('one request at a time', () => {
  it('does not overlap two concurrent slow requests', async () => {
    const { emu, primary } = await start();
    primary.delayMs = 250;
    const started = Date.now();
    const [a, b] = await Promise.all([
      call(emu, 'POST', `/dns/custom/a.${ZONE}/TXT`, { ...asAdmin(), body: 'x' }),
      call(emu, 'POST', `/dns/custom/b.${ZONE}/TXT`, { ...asAdmin(), body: 'y' }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(primary.maxActive).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(480);
  });

  it('a slow request delays a fast one queued behind it', async () => {
    const { emu } = await start();
    emu.injectFaults([{ delayMs: 300, match: { pathPrefix: '/dns/custom' } }]);
    const started = Date.now();
    const slow = call(emu, 'GET', '/dns/custom', asAdmin());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fast = await call(emu, 'GET', '/dns/zones', asAdmin());
    expect(fast.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await slow).status).toBe(200);
  });
});

describe('lagging secondary', () => {
  it('gets each snapshot lagMs after the change, in order; stop() cancels pending ones', async () => {
    const primary = new MemoryPublisher();
    const secondary = new MemoryPublisher();
    const { emu } = await start({ dns: { primary, secondary: { publisher: secondary, lagMs: 300 } } });
    expect(secondary.published).toHaveLength(1); // zones at start, no lag
    const changedAt = Date.now();
    await call(emu, 'POST', `/dns/custom/_acme-challenge.${ZONE}/TXT`, { ...asAdmin(), body: 'one' });
    expect(primary.published).toHaveLength(2); // published inside the request
    expect(secondary.published).toHaveLength(1);
    emu.setSecondaryLag(20); // a later, faster transfer must not overtake the earlier one
    await call(emu, 'POST', `/dns/custom/_acme-challenge.${ZONE}/TXT`, { ...asAdmin(), body: 'two' });
    await emu.secondaryIdle();
    expect(secondary.published).toHaveLength(3);
    expect((secondary.published[1]?.at ?? 0) - changedAt).toBeGreaterThanOrEqual(290);
    const serials = secondary.published.map((p) => p.zones.find((z) => z.name === ZONE)?.serial ?? 0);
    expect(serials[2]).toBeGreaterThan(serials[1] ?? 0);
    expect(secondary.zone(ZONE)?.records.map((r) => r.value)).toEqual(['one', 'two']);

    emu.setSecondaryLag(200);
    await call(emu, 'POST', `/dns/custom/_acme-challenge.${ZONE}/TXT`, { ...asAdmin(), body: 'three' });
    await emu.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(secondary.published).toHaveLength(3);
  });
});

describe('faults', () => {
  const TXT = `/dns/custom/_acme-challenge.${ZONE}/TXT`;

  it('502/503 before the daemon: nginx page, nothing applied', async () => {
    const { emu } = await start();
    emu.injectFaults([{ status: 502 }, { status: 503 }]);
    const bad = await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' });
    expect(bad.status).toBe(502);
    expect(bad.text).toBe(
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
    );
    expect((await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' })).status).toBe(503);
    expect(emu.records()).toEqual([]);
    expect((await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' })).status).toBe(200);
    expect(emu.records()).toHaveLength(1);
  });

  it('504 after apply: the change lands and is published, the client gets a gateway timeout', async () => {
    const { emu, primary } = await start();
    emu.injectFaults([{ status: 504, afterApply: true, delayMs: 100 }]);
    const res = await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' });
    expect(res.status).toBe(504);
    expect(res.text).toContain('<center><h1>504 Gateway Time-out</h1></center>');
    expect(emu.records()).toHaveLength(1);
    expect(primary.zone(ZONE)?.records).toHaveLength(1);
  });

  it('500 after apply: Flask error page, record saved', async () => {
    const { emu } = await start();
    emu.injectFaults([{ status: 500, afterApply: true }]);
    const res = await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' });
    expect(res.status).toBe(500);
    expect(res.text).toContain('<h1>Internal Server Error</h1>');
    expect(emu.records()).toHaveLength(1);
  });

  it('reset drops the connection, before or after applying', async () => {
    const { emu } = await start();
    emu.injectFaults([{ reset: true }, { reset: true, afterApply: true }]);
    await expect(call(emu, 'POST', TXT, { ...asAdmin(), body: 'one' })).rejects.toThrow();
    expect(emu.records()).toEqual([]);
    await expect(call(emu, 'POST', TXT, { ...asAdmin(), body: 'two' })).rejects.toThrow();
    expect(emu.records().map((r) => r.value)).toEqual(['two']);
    expect(emu.requests.map((r) => r.status)).toEqual([0, 0]);
  });

  it('delays, matches by method and path prefix, and is consumed once', async () => {
    const { emu } = await start();
    emu.injectFaults([
      { status: 502, match: { method: 'POST', pathPrefix: '/dns/custom' } },
      { delayMs: 200, match: { pathPrefix: '/admin/dns/zones' } },
    ]);
    expect((await call(emu, 'GET', '/dns/custom', asAdmin())).status).toBe(200);
    expect(emu.pendingFaults()).toHaveLength(2);
    const started = Date.now();
    expect((await call(emu, 'GET', '/dns/zones', asAdmin())).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect((await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' })).status).toBe(502);
    expect((await call(emu, 'POST', TXT, { ...asAdmin(), body: 'v' })).status).toBe(200);
    expect(emu.pendingFaults()).toEqual([]);
    expect(emu.requests[2]?.fault).toEqual({ status: 502, match: { method: 'POST', pathPrefix: '/dns/custom' } });
  });

  it('can replace the page body', async () => {
    const { emu } = await start();
    emu.injectFaults([{ status: 503, body: 'maintenance' }]);
    expect((await call(emu, 'GET', '/dns/zones', asAdmin())).text).toBe('maintenance');
  });
});

describe('request log', () => {
  it('records method, path, auth kind, body, status and clock time', async () => {
    const { emu, clock } = await start();
    const key = await login(emu);
    clock.now += 1000;
    await call(emu, 'POST', `/dns/custom/_acme-challenge.${ZONE}/TXT?x=1`, { auth: basic(ADMIN, key), body: 'tok' });
    await call(emu, 'GET', '/dns/zones', { auth: basic(emu.systemKey, '') });
    await call(emu, 'GET', '/dns/zones', { auth: basic(ADMIN, 'wrong') });
    await call(emu, 'GET', '/dns/zones');
    expect(emu.requests.map(({ method, path, authKind, body, status, time }) => ({ method, path, authKind, body, status, time }))).toEqual([
      { method: 'POST', path: '/admin/login', authKind: 'password', body: '', status: 200, time: T0 },
      { method: 'POST', path: `/admin/dns/custom/_acme-challenge.${ZONE}/TXT?x=1`, authKind: 'session', body: 'tok', status: 200, time: T0 + 1000 },
      { method: 'GET', path: '/admin/dns/zones', authKind: 'system', body: '', status: 200, time: T0 + 1000 },
      { method: 'GET', path: '/admin/dns/zones', authKind: 'invalid', body: '', status: 401, time: T0 + 1000 },
      { method: 'GET', path: '/admin/dns/zones', authKind: 'none', body: '', status: 401, time: T0 + 1000 },
    ]);
    emu.clearLog();
    expect(emu.requests).toEqual([]);
    expect(emu.failedLogins).toBe(0);
  });
});

describe('transport', () => {
  it("serves the on-box form without /admin; nginx 404 outside /admin", async () => {
    const { emu } = await start({ basePath: '' });
    expect(emu.url).toBe(`http://127.0.0.1:${emu.port}`);
    expect((await call(emu, 'GET', '/dns/zones', asAdmin())).status).toBe(200);
    const boxed = await start();
    expect(boxed.emu.url).toBe(`http://127.0.0.1:${boxed.emu.port}/admin`);
    const outside = await request(`${boxed.emu.origin}/dns/zones`);
    expect(outside.statusCode).toBe(404);
    expect(await outside.body.text()).toContain('<center>nginx</center>');
  });

  it('refuses a non-loopback host', async () => {
    await expect(startEmulator({ zones: [ZONE], host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('serves HTTPS with a given certificate', async () => {
    const dir = await scratchDir('emu-tls');
    try {
      await promisify(execFile)('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ]);
      const key = await readFile(join(dir, 'key.pem'), 'utf8');
      const cert = await readFile(join(dir, 'cert.pem'), 'utf8');
      const { emu } = await start({ tls: { key, cert } });
      expect(emu.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/admin$/);
      const trusting = new Agent({ connect: { ca: cert } });
      try {
        const res = await call(emu, 'GET', '/dns/zones', { ...asAdmin(), dispatcher: trusting });
        expect(res.status).toBe(200);
      } finally {
        await trusting.close();
      }
      // Untrusted self-signed certificate: the request must fail, not be ignored.
      await expect(request(emu.url + '/dns/zones')).rejects.toThrow(/self-signed|self signed/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('standalone runner', () => {
  it('reads users from env', () => {
    const config = loadRunnerConfig({
      MIAB_EMU_ZONES: 'a.test, b.test',
      MIAB_EMU_USERS: `x@a.test:pw,y@a.test:pw2:${TOTP_SECRET}`,
      MIAB_EMU_BASE_PATH: '',
    });
    expect(config).toEqual({
      zones: ['a.test', 'b.test'],
      users: [
        { email: 'x@a.test', password: 'pw' },
        { email: 'y@a.test', password: 'pw2', totpSecret: TOTP_SECRET },
      ],
      basePath: '',
    });
  });

  it('starts from env, prints the URL, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url))], {
      env: {
        ...process.env,
        MIAB_EMU_ZONES: ZONE,
        MIAB_EMU_USERS: `${ADMIN}:${PASSWORD}`,
        MIAB_EMU_CONFIG: JSON.stringify({ records: [{ qname: `www.${ZONE}`, rtype: 'A', value: '192.0.2.9' }] }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const url = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', () => reject(new Error('runner exited before printing its URL')));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin$/);
      const res = await request(url + '/dns/custom', { headers: { authorization: basic(ADMIN, PASSWORD) } });
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(await res.body.text())).toMatchObject([{ qname: `www.${ZONE}`, value: '192.0.2.9' }]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
