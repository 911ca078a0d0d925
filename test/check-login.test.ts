/**
 * `check` says which credential it verified: with a cached session the password is not tried
 * (a wrong or changed password would surface only when the session ends, mid-renewal), and it
 * says so; `check --login` sends the password and TOTP now, and a refusal it meets is remembered
 * for every later process, like any refused login (docs/logins.md). Real CLI, emulator.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type MiabEmulator } from './emulator/index.js';
import { runCli } from './fixtures/cli.js';
import { scratchDir } from './fixtures/scratch.js';
import { TEST_PASSWORD, TEST_TOTP_SECRET } from './fixtures/topology.js';

const VALUE = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
let emulator: MiabEmulator;
let dir: string;
let userIndex = 0;
let email: string;

beforeAll(async () => {
  dir = await scratchDir('check-login');
  emulator = await startEmulator({
    zones: ['example.test'],
    users: Array.from({ length: 8 }, (_, index) => ({ email: `admin${index}@example.test`, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET })),
  });
  await writeFile(join(dir, 'right'), `${TEST_PASSWORD}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'wrong'), 'not-the-password-0815\n', { mode: 0o600 });
});

afterAll(async () => {
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  email = `admin${userIndex++}@example.test`;
  emulator.clearLog();
});

function env(password: 'right' | 'wrong'): Record<string, string> {
  return { MIAB_URL: emulator.url, MIAB_EMAIL: email, MIAB_PASSWORD_FILE: join(dir, password), MIAB_TOTP_SECRET: TEST_TOTP_SECRET, MIAB_STATE_DIR: join(dir, email) };
}

function logins(): number {
  return emulator.requests.filter((request) => request.path.endsWith('/login')).length;
}

describe('check', () => {
  it('a first check logs in and says so, with a correct plural', async () => {
    const result = await runCli(['check'], { env: env('right') });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^session: +logged in with the password and a TOTP code \(1 login\)$/m);
    expect(result.stdout).not.toMatch(/\(0 login|\(1 logins/);
    expect(result.stdout).toMatch(/^OK: configuration and credentials work/m);
  });

  it('with a cached session and a wrong password: exit 0, saying the password was not tried', async () => {
    expect((await runCli(['check'], { env: env('right') })).code).toBe(0);
    const result = await runCli(['check'], { env: env('wrong') });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^session: +reused the cached session; the password was not tried \("miab-dns01 check --login" tries it\)$/m);
    expect(result.stdout).toMatch(/^OK: configuration and the cached session work \(the password was not tried\)/m);
    const json = JSON.parse((await runCli(['check', '--json'], { env: env('wrong') })).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ session: 'reused', logins: 0, verified: 'session' });
    expect(logins()).toBe(1);
  });

  it('check --login with a wrong password: one failed login, exit 2, remembered for the next process', async () => {
    expect((await runCli(['check'], { env: env('right') })).code).toBe(0);
    const result = await runCli(['check', '--login'], { env: env('wrong') });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/auth-invalid-credentials|refused the login/);
    expect(emulator.failedLogins).toBe(1);
    // The refusal is remembered: a second check --login is the user's explicit choice, but a
    // plain check without a session would fail at once. The cached session itself still works
    // (the box did not end it), so hooks keep working without any login until it ends.
    emulator.clearLog();
    expect((await runCli(['present', '--no-wait', 'a.example.test', VALUE], { env: env('wrong') })).code).toBe(0);
    expect((await runCli(['cleanup', 'a.example.test', VALUE], { env: env('wrong') })).code).toBe(0);
    expect((await runCli(['logout'], { env: env('wrong') })).code).toBe(0);
    const after = await runCli(['check'], { env: env('wrong') });
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/no login was sent now/);
    expect(logins()).toBe(0);
  });

  it('check --login with the right password sends one login even with a cached session, and the old session ends', async () => {
    expect((await runCli(['check'], { env: env('right') })).code).toBe(0);
    const result = await runCli(['check', '--login', '--json'], { env: env('right') });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ session: 'logged-in', logins: 1, verified: 'password' });
    expect(logins()).toBe(2);
    expect(emulator.requests.filter((request) => request.path.endsWith('/logout'))).toHaveLength(1);
    // The new session is the cached one now: a plain check reuses it.
    expect(JSON.parse((await runCli(['check', '--json'], { env: env('right') })).stdout)).toMatchObject({ session: 'reused' });
    expect(logins()).toBe(2);
  });

  it('check --login tries once more despite a remembered refusal: the box\'s password was reset to this one meanwhile', async () => {
    emulator.updateUser(email, { password: 'another-password-1' });
    expect((await runCli(['check'], { env: env('right') })).code).toBe(2);
    expect((await runCli(['check'], { env: env('right') })).stderr).toMatch(/no login was sent now/);
    expect(logins()).toBe(1);
    emulator.updateUser(email, { password: TEST_PASSWORD });
    // Without --login: still remembered (the credentials did not change here).
    expect((await runCli(['check'], { env: env('right') })).code).toBe(2);
    expect(logins()).toBe(1);
    const result = await runCli(['check', '--login'], { env: env('right') });
    expect(result.code).toBe(0);
    expect(logins()).toBe(2);
    // The success forgot the refusal: hooks work again.
    expect((await runCli(['present', '--no-wait', 'a.example.test', VALUE], { env: env('right') })).code).toBe(0);
    expect((await runCli(['cleanup', 'a.example.test', VALUE], { env: env('right') })).code).toBe(0);
    expect(logins()).toBe(2);
  });
});
