/**
 * 80-bit TOTP secrets (16 base32 characters), as cPanel's guide shows them (QSARBVKLZHYHLJ3M,
 * FZ4ZVGTMFTIOF54T) and many authenticator apps issue: accepted for every provider, through the
 * real CLI against both emulators (whose TOTP is their own, on node:crypto, not otplib's).
 * A shorter secret is refused before any request, with the clear message.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCpanelEmulator, type CpanelEmulator } from './cpanel-emulator/server.js';
import { startEmulator, type MiabEmulator } from './emulator/index.js';
import { runCli } from './fixtures/cli.js';
import { scratchDir } from './fixtures/scratch.js';

const BOX_SECRET = 'QSARBVKLZHYHLJ3M';
const CPANEL_SECRET = 'FZ4ZVGTMFTIOF54T';
const PASSWORD = 'Pw-80bit-totp-4711';
const VALUE = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';

let box: MiabEmulator;
let cpanel: CpanelEmulator;
let dir: string;

beforeAll(async () => {
  dir = await scratchDir('totp-80bit');
  box = await startEmulator({ zones: ['example.test'], users: [{ email: 'admin@example.test', password: PASSWORD, totpSecret: BOX_SECRET }] });
  cpanel = await startCpanelEmulator({ zones: ['example.test'], user: 'alice', password: PASSWORD, totpSecret: CPANEL_SECRET });
  await writeFile(join(dir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await box?.stop();
  await cpanel?.stop();
  await rm(dir, { recursive: true, force: true });
});

function boxEnv(secret: string, state: string): Record<string, string> {
  return { MIAB_URL: box.url, MIAB_EMAIL: 'admin@example.test', MIAB_PASSWORD_FILE: join(dir, 'password'), MIAB_TOTP_SECRET: secret, MIAB_STATE_DIR: join(dir, state) };
}

describe('a 16-character (80-bit) TOTP secret', () => {
  it('Mail-in-a-Box: logs in and writes, one login', async () => {
    box.clearLog();
    const env = boxEnv(BOX_SECRET, 'box');
    const checked = await runCli(['check'], { env });
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    expect(await runCli(['present', '--no-wait', 'a.example.test', VALUE], { env })).toMatchObject({ code: 0 });
    expect(await runCli(['cleanup', 'a.example.test', VALUE], { env })).toMatchObject({ code: 0 });
    expect(box.requests.filter((request) => request.path.endsWith('/login'))).toHaveLength(1);
    expect(box.failedLogins).toBe(0);
  });

  it('cPanel (session mode): logs in and lists the zones', async () => {
    const env = {
      MIAB_DNS01_PROVIDER: 'cpanel',
      CPANEL_BASE_URL: cpanel.url,
      CPANEL_USERNAME: 'alice',
      CPANEL_AUTH: 'session',
      CPANEL_PASSWORD_FILE: join(dir, 'password'),
      CPANEL_TOTP_SECRET: CPANEL_SECRET,
      MIAB_STATE_DIR: join(dir, 'cpanel'),
    };
    const checked = await runCli(['check', '--json'], { env });
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, provider: 'cpanel', zones: ['example.test'] });
    expect(cpanel.counts.failedLogins).toBe(0);
    expect(cpanel.counts.logins).toBe(1);
  });

  it('a 15-character secret is refused before any request, naming the variable and the minimum', async () => {
    box.clearLog();
    const result = await runCli(['check'], { env: boxEnv(BOX_SECRET.slice(0, 15), 'short') });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/MIAB_TOTP_SECRET is 15 characters long: a TOTP secret has at least 16 base32 characters/);
    expect(box.requests).toEqual([]);
  });
});
