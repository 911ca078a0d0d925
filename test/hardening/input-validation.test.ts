/**
 * Bad input and unsafe configuration: every case exits 2 with a message naming the problem,
 * before anything is written (the emulator never sees a POST, PUT or DELETE).
 */
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type MiabEmulator } from '../emulator/index.js';
import { runCli } from '../fixtures/cli.js';
import { acmeValue, adminUsers, boxEnv, dnsWrites, scratch, STACK_TRACE, TEST_PASSWORD, type Scratch } from './helpers.js';
import { scratchDir } from '../fixtures/scratch.js';

const VALUE = acmeValue();
const LONG_LABEL = 'x'.repeat(64);
/** 4 x 63 + 13 = 265 characters (plus the challenge label): over 253. */
const LONG_NAME = `${Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.')}.example.test`;

let emulator: MiabEmulator;
let where: Scratch;
/** input-99 is the credentials file's account; the others are handed out in order. */
let users = 0;

beforeAll(async () => {
  emulator = await startEmulator({
    zones: ['example.test', 'other.test'],
    users: [...adminUsers('input-', 100), { email: 'mailuser@example.test', password: TEST_PASSWORD, privileges: [] }],
  });
  where = await scratch('input');
});

afterAll(async () => {
  // Not one request that could change DNS data, over every case of this file.
  expect(dnsWrites(emulator)).toEqual([]);
  await emulator.stop();
  await rm(where.dir, { recursive: true, force: true });
});

/** Each case its own account and state dir: cases run concurrently and may log in. */
function freshEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const index = users++;
  return boxEnv(emulator, `input-${index}@example.test`, { ...where, stateDir: join(where.dir, `state-${index}`) }, extra);
}

type Case = readonly [label: string, args: readonly string[], message: RegExp];

const ARGUMENT_CASES: readonly Case[] = [
  ['a name with a space', ['present', '--no-wait', 'a b.example.test', VALUE], /\[invalid-name\].*cannot contain spaces/],
  ['a name with a tab', ['cleanup', 'a\tb.example.test', VALUE], /\[invalid-name\].*cannot contain spaces/],
  ['an empty label', ['present', '--no-wait', 'a..example.test', VALUE], /\[invalid-name\].*empty label/],
  ['a leading dot', ['present', '--no-wait', '.a.example.test', VALUE], /\[invalid-name\].*empty label/],
  ['a lone dot', ['present', '--no-wait', '.', VALUE], /\[invalid-name\]/],
  ['a label over 63 characters', ['present', '--no-wait', `${LONG_LABEL}.example.test`, VALUE], /\[invalid-name\].*64 characters long; the limit is 63/],
  ['a name over 253 characters', ['present', '--no-wait', LONG_NAME, VALUE], /\[invalid-name\].*limited to 253/],
  ['a label with a slash', ['present', '--no-wait', 'a/b.example.test', VALUE], /\[invalid-name\].*may only hold letters/],
  ['a single-label name', ['present', '--no-wait', 'localhost', VALUE], /\[invalid-name\].*fully qualified/],
  ['a value in double quotes', ['present', '--no-wait', 'a.example.test', `"${VALUE}"`], /\[invalid-value\].*quotes/],
  ['a value with a single quote', ['present', '--no-wait', 'a.example.test', `ab'${VALUE}`], /\[invalid-value\].*quotes/],
  ['a value with a space', ['present', '--no-wait', 'a.example.test', `abc ${VALUE}`], /\[invalid-value\].*whitespace/],
  ['a value with a leading space', ['present', '--no-wait', 'a.example.test', ` ${VALUE}`], /\[invalid-value\].*whitespace/],
  ['a value with a newline', ['present', '--no-wait', 'a.example.test', `${VALUE}\n`], /\[invalid-value\].*whitespace/],
  ['a value with a tab', ['cleanup', 'a.example.test', `${VALUE}\tx`], /\[invalid-value\].*whitespace/],
  ['a non-ASCII value', ['present', '--no-wait', 'a.example.test', `${VALUE}é`], /\[invalid-value\].*non-ASCII/],
  ['an empty value', ['present', '--no-wait', 'a.example.test', ''], /\[invalid-value\].*empty/],
  ['an empty value after --', ['present', '--no-wait', '--', 'a.example.test', ''], /\[invalid-value\].*empty/],
  ['an empty value to cleanup', ['cleanup', 'a.example.test', ''], /\[invalid-value\].*empty/],
  ['a bad value after a -- between name and value', ['present', '--no-wait', 'a.example.test', '--', '-x y'], /\[invalid-value\].*whitespace/],
  ['a bad value after a -- to cleanup', ['cleanup', 'a.example.test', '--', '--x y'], /\[invalid-value\].*whitespace/],
  ['--json for a command without a result', ['present', '--json', 'a.example.test', VALUE], /\[usage\].*--json is available for/],
  ['a value over 255 characters', ['present', '--no-wait', 'a.example.test', 'v'.repeat(256)], /\[invalid-value\].*256 characters long/],
  ['an empty value to wait', ['wait', 'a.example.test', ''], /\[invalid-value\].*empty/],
  ['an unknown long option', ['present', '--bogus', 'a.example.test', VALUE], /\[usage\].*unknown option --bogus/],
  ['an unknown short option', ['present', '-x', 'a.example.test', VALUE], /\[usage\].*unknown option -x/],
  ['an unknown option of cleanup --stale', ['cleanup', '--stale', '--force'], /\[usage\].*unknown option --force/],
  ['--dry-run without --stale', ['cleanup', '--dry-run', 'a.example.test', VALUE], /\[usage\].*go with --stale/],
  ['a bad --older-than', ['cleanup', '--stale', '--older-than', '3 weeks'], /\[usage\].*--older-than takes a duration/],
  ['a password as an option', ['present', '--password=secret', 'a.example.test', VALUE], /\[usage\].*--password is not accepted/],
  ['a missing value', ['present', '--no-wait', 'a.example.test'], /\[usage\].*takes a name and a value \(got 1 argument\)/],
  ['too many arguments', ['present', 'a.example.test', VALUE, 'b.example.test', VALUE], /\[usage\].*takes a name and a value \(got 4 arguments\)/],
  ['an unknown command', ['presnt', 'a.example.test', VALUE], /unknown command "presnt"/],
  ['a name outside every zone', ['present', '--no-wait', 'www.not-on-this-box.test', VALUE], /\[zone-not-found\].*not-on-this-box\.test is not in any zone of this box; the box serves: example\.test, other\.test/],
  ['a zone suffix that is not a zone', ['present', '--no-wait', 'www.notexample.test', VALUE], /\[zone-not-found\]/],
];

describe.concurrent('bad arguments: exit 2 before any write', () => {
  it.for(ARGUMENT_CASES)('%s', async ([, args, message]) => {
    const result = await runCli(args, { env: freshEnv() });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(dnsWrites(emulator)).toEqual([]);
  });
});

describe.concurrent('bad configuration: exit 2 before any write', () => {
  it('a non-admin account', async () => {
    const result = await runCli(['present', '--no-wait', 'a.example.test', VALUE], {
      env: freshEnv({ MIAB_EMAIL: 'mailuser@example.test', MIAB_TOTP_SECRET_FILE: '' }),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\[auth-not-admin\].*mailuser@example\.test is not an administrator/);
    expect(dnsWrites(emulator).filter((request) => request.path.includes('/dns/'))).toEqual([]);
  });

  it.for([
    ['http:// to a host name', 'http://box.example.test/admin', /\[config-insecure-url\].*plain http:\/\/ to box\.example\.test.*use https:\/\/box\.example\.test\/admin/],
    ['http:// to a public IP', 'http://192.0.2.1/admin', /\[config-insecure-url\].*192\.0\.2\.1/],
    ['http:// to a host that only starts like loopback', 'http://127.0.0.1.nip.io/admin', /\[config-insecure-url\]/],
    ['a non-http scheme', 'ftp://box.example.test/admin', /\[config-invalid\].*https:\/\//],
    ['credentials in the URL', 'https://admin:pw@box.example.test/admin', /\[config-invalid\].*must not contain credentials/],
  ] as const)('%s', async ([, url, message]) => {
    const result = await runCli(['present', '--no-wait', 'a.example.test', VALUE], { env: freshEnv({ MIAB_URL: url }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('pw@');
    expect(dnsWrites(emulator)).toEqual([]);
  });

  it.for([
    ['world-readable', 0o644],
    ['group-readable', 0o640],
  ] as const)('a %s credentials file: names chmod 600', async ([, mode]) => {
    const dir = await scratchDir('hardening-config');
    try {
      const file = join(dir, 'miab.ini');
      await writeFile(file, `url = ${emulator.url}\nemail = input-99@example.test\npassword = ${TEST_PASSWORD}\n`);
      await chmod(file, mode);
      const env = freshEnv({ MIAB_CONFIG: file });
      delete env.MIAB_EMAIL;
      delete env.MIAB_PASSWORD_FILE;
      const result = await runCli(['present', '--no-wait', 'a.example.test', VALUE], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`\\[config-insecure-permissions\\].*${file.replace(/[.]/g, '\\.')} is readable by other users.*chmod 600 ${file.replace(/[.]/g, '\\.')}`));
      expect(result.stderr).not.toContain(TEST_PASSWORD);
      expect(dnsWrites(emulator)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a credentials file with several bad lines: one error naming the file and each line', async () => {
    const dir = await scratchDir('hardening-config');
    try {
      const file = join(dir, 'miab.ini');
      await writeFile(file, `url = ${emulator.url}\nemail = input-98@example.test\npassword = ${TEST_PASSWORD} # comment\ntotp_secret = not-base32!  # only when 2FA is on\npropagation_timeout = soon\n`, { mode: 0o600 });
      const env = freshEnv();
      for (const name of ['MIAB_URL', 'MIAB_EMAIL', 'MIAB_PASSWORD_FILE', 'MIAB_TOTP_SECRET_FILE']) delete env[name];
      const result = await runCli(['--config', file, 'present', '--no-wait', 'a.example.test', VALUE], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`[config-invalid]: 2 configuration problems`);
      expect(result.stderr).toContain(`totp_secret (${file} line 4) must be the base32 secret`);
      expect(result.stderr).toContain(`propagation_timeout (${file} line 5)`);
      expect(result.stderr).not.toContain('MIAB_TOTP_SECRET');
      expect(result.stderr).not.toContain(TEST_PASSWORD);
      expect(dnsWrites(emulator)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.for([
    ['a malformed fingerprint', { MIAB_TLS_FINGERPRINT: 'AB:CD' }, /\[config-invalid\].*MIAB_TLS_FINGERPRINT/],
    ['a CA file that does not exist', { MIAB_CA_FILE: '/nonexistent/ca.pem' }, /\[config-missing\].*MIAB_CA_FILE=\/nonexistent\/ca\.pem/],
    ['a malformed propagation timeout', { MIAB_PROPAGATION_TIMEOUT: 'soon' }, /\[config-invalid\].*MIAB_PROPAGATION_TIMEOUT/],
    ['a malformed nameserver list', { MIAB_NAMESERVERS: '127.0.0.1:99999' }, /\[config-invalid\].*MIAB_NAMESERVERS/],
    ['a malformed TOTP secret', { MIAB_TOTP_SECRET_FILE: '', MIAB_TOTP_SECRET: 'not base32!' }, /\[config-invalid\].*MIAB_TOTP_SECRET/],
    ['a missing password', { MIAB_PASSWORD_FILE: '' }, /\[config-missing\].*MIAB_PASSWORD or MIAB_PASSWORD_FILE/],
    ['an unreadable password file', { MIAB_PASSWORD_FILE: '/nonexistent/password' }, /\[config-missing\].*MIAB_PASSWORD_FILE=\/nonexistent\/password/],
  ] as const)('%s', async ([, extra, message]) => {
    const result = await runCli(['present', '--no-wait', 'a.example.test', VALUE], { env: freshEnv(extra) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(dnsWrites(emulator)).toEqual([]);
  });
});
