/**
 * The core against the Mail-in-a-Box emulator (TOTP on), through the real CLI in child
 * processes: auth and the session cache, exact TXT writes, zones and CNAMEs, errors.
 * No DNS here (`present --no-wait`); propagation has its own suite.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { currentTotp, startEmulator, type MiabEmulator } from './emulator/index.js';
import { runCli } from './fixtures/cli.js';
import { TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET } from './fixtures/topology.js';
import { scratchDir } from './fixtures/scratch.js';

const ZONES = ['example.test', 'other.test'];
const VALUE_A = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const VALUE_B = '-starts-with-a-dash_Zm9vYmFyYmF6cXV4cXV1eA';
const VALUE_C = '--double-dash_abcdefghijklmnopqrstuvwxyz01';

let emulator: MiabEmulator;
let testIndex = 0;

function adminEmail(index: number): string {
  return index === 0 ? TEST_EMAIL : `admin${index}@example.test`;
}
let dir: string;
let env: Record<string, string>;

function posts(): number {
  return emulator.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/login')).length;
}

function txt(name: string): string[] {
  return emulator
    .records()
    .filter((record) => record.qname === name && record.rtype === 'TXT')
    .map((record) => record.value);
}

function assertNoDangerousRequests(): void {
  for (const request of emulator.requests) {
    expect(request.method).not.toBe('PUT');
    if (request.method === 'DELETE') expect(request.body.trim()).not.toBe('');
  }
}

beforeAll(async () => {
  emulator = await startEmulator({
    zones: ZONES,
    // One admin per test: the box refuses a TOTP code it saw last from the same user, so tests
    // sharing a user inside one 30 s step would wait on each other.
    users: [
      ...Array.from({ length: 60 }, (_, index) => ({ email: adminEmail(index), password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET })),
      { email: 'user@example.test', password: 'user-password-1', privileges: [] },
      { email: 'nototp@example.test', password: 'nototp-password-1' },
    ],
    records: [
      { qname: '_acme-challenge.a.example.test', rtype: 'TXT', value: 'unrelated-value' },
      { qname: '_acme-challenge.delegated.example.test', rtype: 'CNAME', value: 'delegated.other.test' },
      { qname: '_acme-challenge.elsewhere.example.test', rtype: 'CNAME', value: 'acme.dns-provider.invalid' },
    ],
  });
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  dir = await scratchDir('core');
  await writeFile(join(dir, 'password'), `${TEST_PASSWORD}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'totp'), TEST_TOTP_SECRET, { mode: 0o600 });
  env = {
    MIAB_URL: emulator.url,
    MIAB_EMAIL: adminEmail(testIndex++),
    MIAB_PASSWORD_FILE: join(dir, 'password'),
    MIAB_TOTP_SECRET_FILE: join(dir, 'totp'),
    MIAB_STATE_DIR: join(dir, 'state'),
  };
  emulator.clearLog();
});

afterEach(() => {
  assertNoDangerousRequests();
});

describe('present and cleanup', () => {
  it('adds and removes exactly one value, keeping an unrelated value and the other wildcard value', async () => {
    expect(await runCli(['present', '--no-wait', 'a.example.test', VALUE_A], { env })).toMatchObject({ code: 0 });
    expect(await runCli(['present', '--no-wait', '*.a.example.test', VALUE_B], { env })).toMatchObject({ code: 0 });
    expect(txt('_acme-challenge.a.example.test').sort()).toEqual([VALUE_B, VALUE_A, 'unrelated-value'].sort());
    const journal = await readdir(join(dir, 'state', 'journal'));
    expect(journal).toHaveLength(2);

    expect(await runCli(['cleanup', '_acme-challenge.a.example.test.', VALUE_A], { env })).toMatchObject({ code: 0 });
    expect(txt('_acme-challenge.a.example.test').sort()).toEqual([VALUE_B, 'unrelated-value'].sort());
    expect(await runCli(['cleanup', '--', '*.a.example.test', VALUE_B], { env })).toMatchObject({ code: 0 });
    expect(txt('_acme-challenge.a.example.test')).toEqual(['unrelated-value']);
    expect(await readdir(join(dir, 'state', 'journal'))).toEqual([]);
    // One login for four processes: the session key is cached and reused.
    expect(posts()).toBe(1);
  });

  it('is idempotent and accepts values starting with - and --', async () => {
    for (let round = 0; round < 2; round++) {
      expect(await runCli(['present', '--no-wait', 'b.example.test', VALUE_C], { env })).toMatchObject({ code: 0 });
    }
    expect(txt('_acme-challenge.b.example.test')).toEqual([VALUE_C]);
    for (let round = 0; round < 2; round++) {
      expect(await runCli(['cleanup', 'b.example.test', VALUE_C], { env })).toMatchObject({ code: 0 });
    }
    expect(txt('_acme-challenge.b.example.test')).toEqual([]);
  });

  it('sends lower-case punycode names without trailing dot', async () => {
    expect(await runCli(['present', '--no-wait', 'BÜCHER.Example.Test.', VALUE_A], { env })).toMatchObject({ code: 0 });
    expect(txt('_acme-challenge.xn--bcher-kva.example.test')).toEqual([VALUE_A]);
    expect(await runCli(['cleanup', 'bücher.example.test', VALUE_A], { env })).toMatchObject({ code: 0 });
    expect(txt('_acme-challenge.xn--bcher-kva.example.test')).toEqual([]);
  });

  it('follows a CNAME at the challenge name into another box zone', async () => {
    expect(await runCli(['present', '--no-wait', 'delegated.example.test', VALUE_A], { env })).toMatchObject({ code: 0 });
    expect(txt('delegated.other.test')).toEqual([VALUE_A]);
    expect(txt('_acme-challenge.delegated.example.test')).toEqual([]);
    expect(await runCli(['cleanup', 'delegated.example.test', VALUE_A], { env })).toMatchObject({ code: 0 });
    expect(txt('delegated.other.test')).toEqual([]);
  });

  it('refuses a CNAME that leads outside the box, writing nothing', async () => {
    const result = await runCli(['present', '--no-wait', 'elsewhere.example.test', VALUE_A], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cname-conflict.*acme\.dns-provider\.invalid.*drop the whole zone/s);
    expect(emulator.requests.filter((request) => request.method === 'POST' && request.path.includes('/dns/custom'))).toEqual([]);
  });

  it('refuses a name outside every zone, naming the zones, before any write', async () => {
    const result = await runCli(['present', '--no-wait', 'www.not-on-this-box.test', VALUE_A], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the box serves: example.test, other.test');
    expect(emulator.requests.filter((request) => request.path.includes('/dns/custom'))).toEqual([]);
  });
});

/** Waits for the next TOTP step if fewer than 15 s are left in this one. */
async function startOfRoomyTotpStep(): Promise<void> {
  const leftMs = 30_000 - (Date.now() % 30_000);
  if (leftMs < 15_000) await new Promise((resolve) => setTimeout(resolve, leftMs + 50));
}

describe('authentication', () => {
  it('concurrent processes share one login', async () => {
    const names = ['c1', 'c2', 'c3', 'c4', 'c5'].map((label) => `${label}.example.test`);
    const results = await Promise.all(names.map((name) => runCli(['present', '--no-wait', name, VALUE_A], { env })));
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0, 0]);
    expect(posts()).toBe(1);
    await Promise.all(names.map((name) => runCli(['cleanup', name, VALUE_A], { env })));
  });

  it('caches the session in a 0600 file that holds neither password nor TOTP secret', async () => {
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0, stdout: 'example.test\nother.test\n' });
    const sessions = join(dir, 'state', 'sessions');
    for (const file of await readdir(sessions)) {
      expect((await stat(join(sessions, file))).mode & 0o777).toBe(0o600);
      const content = await readFile(join(sessions, file), 'utf8');
      expect(content).not.toContain(TEST_PASSWORD);
      expect(content).not.toContain(TEST_TOTP_SECRET);
    }
    expect((await stat(join(dir, 'state'))).mode & 0o077).toBe(0);
  });

  it('after a box restart right after a login: one more login at once, with the next step\'s code, no wait', async () => {
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0 });
    await emulator.restart();
    const started = Date.now();
    const result = await runCli(['present', '--no-wait', 'r.example.test', VALUE_A], { env });
    expect(result).toMatchObject({ code: 0 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(result.stderr).toContain('logging in again');
    expect(result.stderr).not.toMatch(/waiting/);
    expect(emulator.requests.filter((request) => request.path.endsWith('/login')).map((request) => request.status)).toEqual([200, 200]);
    // The forgotten session key is the only failed login: the TOTP code was never refused.
    expect(emulator.failedLogins).toBe(1);
    await runCli(['cleanup', 'r.example.test', VALUE_A], { env });
  });

  it('never waits for a TOTP step: a login right after another uses the next step\'s code at once', async () => {
    // Both logins must fall in one 30 s step for the second to find its code spent: start early
    // in a step (three CLI runs take seconds when other test files load the machine).
    await startOfRoomyTotpStep();
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0 });
    expect(await runCli(['logout'], { env })).toMatchObject({ code: 0 });
    const started = Date.now();
    const result = await runCli(['zones'], { env });
    expect(result).toMatchObject({ code: 0 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(result.stderr).toMatch(/current TOTP code was already used.*next step's code/);
    expect(result.stderr).not.toMatch(/waiting/);
    expect(posts()).toBe(2);
    expect(emulator.failedLogins).toBe(0);
  });

  it('one box through two URLs is one account: the second login never replays the first one\'s code', async () => {
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0 });
    // Same box, same account, another URL (so another session cache): a login is needed.
    const otherUrl = emulator.url.replace('127.0.0.1', 'localhost');
    expect(otherUrl).not.toBe(emulator.url);
    const started = Date.now();
    const result = await runCli(['zones'], { env: { ...env, MIAB_URL: otherUrl } });
    expect(result).toMatchObject({ code: 0 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(posts()).toBe(2);
    expect(emulator.failedLogins).toBe(0);
  });

  it('check reports the auth mode and zones, reusing the cached session', async () => {
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0 });
    const result = await runCli(['check'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/auth mode: +session/);
    expect(result.stdout).toMatch(/reused the cached session/);
    expect(result.stdout).toContain('example.test, other.test');
    expect(posts()).toBe(1);
  });

  it('logout ends the session on the box and deletes it locally', async () => {
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0 });
    expect(emulator.liveSessions).toBeGreaterThan(0);
    const before = emulator.liveSessions;
    expect(await runCli(['logout'], { env })).toMatchObject({ code: 0 });
    expect(emulator.liveSessions).toBe(before - 1);
    expect(await readdir(join(dir, 'state', 'sessions'))).not.toContainEqual(expect.stringMatching(/^[0-9a-f]+\.json$/));
  });

  it('a wrong password: one login attempt, exit 2, never retried', async () => {
    await writeFile(join(dir, 'password'), 'wrong-password', { mode: 0o600 });
    const result = await runCli(['present', '--no-wait', 'w.example.test', VALUE_A], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/auth-invalid-credentials.*Not retried/);
    expect(posts()).toBe(1);
    expect(emulator.requests.filter((request) => request.path.includes('/dns/custom'))).toEqual([]);
  });

  it('TOTP on but no secret configured: names MIAB_TOTP_SECRET', async () => {
    const { MIAB_TOTP_SECRET_FILE: _unused, ...withoutTotp } = env;
    const result = await runCli(['zones'], { env: withoutTotp });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing-totp-token.*MIAB_TOTP_SECRET/);
  });

  it('a wrong TOTP secret: one retry with the next code, then says to check the secret and the clock', async () => {
    await writeFile(join(dir, 'totp'), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', { mode: 0o600 });
    const result = await runCli(['zones'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/auth-invalid-totp.*clock/);
    expect(posts()).toBe(2);
  }, 60_000);

  it('a code just spent by another client: at once one more login with the next step\'s code, no wait', async () => {
    // The web UI (or another machine) logs in with the current code first.
    const other = await fetch(`${emulator.url}/login`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${env.MIAB_EMAIL}:${TEST_PASSWORD}`).toString('base64')}`, 'x-auth-token': currentTotp(TEST_TOTP_SECRET, Date.now()) },
    });
    expect(await other.json()).toMatchObject({ status: 'ok' });
    const started = Date.now();
    const result = await runCli(['zones'], { env });
    expect(result).toMatchObject({ code: 0, stdout: 'example.test\nother.test\n' });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(result.stderr).not.toMatch(/waiting/);
    // Ours: the current code (refused: the other client's), then the next step's (accepted).
    expect(posts()).toBeLessThanOrEqual(3);
    expect(emulator.failedLogins).toBeLessThanOrEqual(1);
  });

  it('an unreachable box is box-unreachable, named, at once: no login, no TOTP wait, no code spent', async () => {
    for (const url of ['https://127.0.0.1:1/admin', 'http://127.0.0.1:1/admin']) {
      const started = Date.now();
      const result = await runCli(['check', '--url', url], { env });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/error \[box-unreachable\]: cannot reach the box at 127\.0\.0\.1:1: connection refused/);
      expect(result.stderr).not.toMatch(/auth-session-rejected|logins|waiting/);
      expect(Date.now() - started).toBeLessThan(8_000);
    }
    // No code was spent: the next login, on the real box, uses the current one and is not refused.
    const sessions = await readdir(join(dir, 'state', 'sessions')).catch(() => []);
    expect(sessions.filter((name) => name.endsWith('.totp.json'))).toEqual([]);
    expect(emulator.requests).toEqual([]);
  });

  it('a non-admin account is refused with a message saying so', async () => {
    const result = await runCli(['zones'], { env: { ...env, MIAB_EMAIL: 'user@example.test', MIAB_PASSWORD_FILE: '', MIAB_PASSWORD: 'user-password-1' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/auth-not-admin.*not an administrator/);
  });

  it('an account without TOTP logs in with the password alone', async () => {
    const result = await runCli(['zones'], { env: { ...env, MIAB_EMAIL: 'nototp@example.test', MIAB_PASSWORD_FILE: '', MIAB_TOTP_SECRET_FILE: '', MIAB_PASSWORD: 'nototp-password-1' } });
    expect(result).toMatchObject({ code: 0, stdout: 'example.test\nother.test\n' });
  });
});

describe('system key mode', () => {
  it('uses the key file on an on-box URL, without any login, and re-reads it after a restart', async () => {
    const keyFile = join(dir, 'api.key');
    const box = await startEmulator({ zones: ZONES, basePath: '', systemKeyFile: keyFile, systemKeyTrailingNewline: true });
    try {
      const keyEnv = { MIAB_URL: box.url, MIAB_SYSTEM_KEY_FILE: keyFile, MIAB_STATE_DIR: join(dir, 'state') };
      expect(await runCli(['present', '--no-wait', 'k.example.test', VALUE_A], { env: keyEnv })).toMatchObject({ code: 0 });
      await box.restart();
      expect(await runCli(['cleanup', 'k.example.test', VALUE_A], { env: keyEnv })).toMatchObject({ code: 0 });
      expect(box.requests.some((request) => request.path.endsWith('/login'))).toBe(false);
      expect(box.requests.filter((request) => request.path.includes('/dns/custom')).every((request) => request.authKind === 'system')).toBe(true);
      const check = await runCli(['check'], { env: keyEnv });
      expect(check.stdout).toMatch(/auth mode: +system-key/);
    } finally {
      await box.stop();
    }
  });
});

describe('usage and configuration errors exit 2', () => {
  it.each([
    [['present'], /takes a name and a value/],
    [['present', 'a.example.test'], /takes a name and a value/],
    [['present', '--bogus', 'a.example.test', VALUE_A], /unknown option --bogus/],
    [['present', 'a.example.test', VALUE_A, '--password', 'x'], /MIAB_PASSWORD_FILE/],
    [['frobnicate'], /unknown command/],
    [['present', '--no-wait', 'a b.example.test', VALUE_A], /spaces/],
    [['present', '--no-wait', 'a.example.test', '"quoted"'], /quotes/],
  ])('%j', async (args, message) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(emulator.requests).toEqual([]);
  });

  it('plain http to a non-loopback host is refused', async () => {
    const result = await runCli(['zones'], { env: { ...env, MIAB_URL: 'http://box.example.test/admin' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/config-insecure-url.*https:\/\/box.example.test\/admin/);
  });

  it('--version and --help work without configuration', async () => {
    expect((await runCli(['--version'], { env: {} })).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await runCli(['--help'], { env: {} });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('miab-dns01 present');
  });
});
