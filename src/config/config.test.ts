import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBoxConfig, normalizeApiUrl, normalizeFingerprint, normalizeTotpSecret, sessionSecrets } from './config.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await scratchDir('config');
  made.push(dir);
  return dir;
}

const BASE = { MIAB_STATE_DIR: '/nonexistent/unused-state' };

describe('normalizeApiUrl', () => {
  it.each([
    ['box.example.com', 'https://box.example.com/admin'],
    ['https://box.example.com', 'https://box.example.com/admin'],
    ['https://box.example.com/admin/', 'https://box.example.com/admin'],
    ['http://127.0.0.1:10222', 'http://127.0.0.1:10222'],
    ['http://localhost:8080/admin', 'http://localhost:8080/admin'],
    ['http://[::1]:10222/', 'http://[::1]:10222'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeApiUrl(input)).toBe(expected);
  });

  it('accepts an 80-bit TOTP secret (cPanel\'s 16 characters) and refuses a shorter one with config-invalid, not a crash in the TOTP library', () => {
    expect(normalizeTotpSecret('QSAR BVKL ZHYH LJ3M')).toBe('QSARBVKLZHYHLJ3M');
    expect(() => normalizeTotpSecret('QSARBVKLZHYHLJ3')).toThrow(/is 15 characters long: a TOTP secret has at least 16 base32 characters \(80 bits/);
    expect(normalizeTotpSecret('jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp')).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    // A length no base32 secret has: a character missing or extra, refused (not a crash at login).
    expect(() => normalizeTotpSecret('QSARBVKLZHYHLJ3MQ')).toThrow(/is 17 characters long, which no base32 secret is/);
    // Bits past the last whole byte are cleared, as the box's decoder ignores them.
    expect(normalizeTotpSecret('QSARBVKLZHYHLJ3MQSAR7')).toBe('QSARBVKLZHYHLJ3MQSAR6');
  });

  it('refuses plain http to a non-loopback host', () => {
    expect(() => normalizeApiUrl('http://box.example.com/admin')).toThrow(/plain http:\/\/ to box.example.com.*https:\/\/box.example.com\/admin/);
  });

  it('refuses credentials in the URL and other schemes', () => {
    expect(() => normalizeApiUrl('https://me:pw@box.example.com')).toThrow(/must not contain credentials/);
    expect(() => normalizeApiUrl('ftp://box.example.com')).toThrow(/https/);
  });
});

describe('normalizeFingerprint', () => {
  const hex = 'ab'.repeat(32);
  it('accepts colons, case and openssl output', () => {
    expect(normalizeFingerprint(hex.toUpperCase())).toBe(hex);
    expect(normalizeFingerprint(hex.match(/../g)?.join(':') ?? '')).toBe(hex);
    expect(normalizeFingerprint(`sha256 Fingerprint=${hex.toUpperCase().match(/../g)?.join(':') ?? ''}`)).toBe(hex);
  });
  it('rejects anything else', () => {
    expect(() => normalizeFingerprint('abc')).toThrow(/MIAB_TLS_FINGERPRINT/);
  });
});

describe('loadBoxConfig', () => {
  it('names every missing variable in one error, exit 2', async () => {
    await expect(loadBoxConfig({ env: BASE })).rejects.toMatchObject({
      code: 'config-missing',
      exitCode: 2,
      message: expect.stringMatching(/MIAB_URL.*MIAB_EMAIL.*MIAB_PASSWORD/),
    });
  });

  it('reads lego and acme.sh aliases and _FILE variables', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'pw'), 's3cret-pw\n');
    const lego = await loadBoxConfig({ env: { ...BASE, MAILINABOX_BASE_URL: 'https://box.test', MAILINABOX_EMAIL: 'a@box.test', MAILINABOX_PASSWORD_FILE: join(dir, 'pw') } });
    expect(lego.auth).toEqual({ kind: 'session', email: 'a@box.test', totp: false });
    expect(sessionSecrets(lego)).toEqual({ password: 's3cret-pw', totpSecret: undefined });
    const acmesh = await loadBoxConfig({ env: { ...BASE, MIAB_Server: 'box.test', MIAB_Username: 'b@box.test', MIAB_Password: 'pw2' } });
    expect(acmesh.apiUrl).toBe('https://box.test/admin');
    expect(acmesh.auth).toMatchObject({ email: 'b@box.test' });
    expect(sessionSecrets(acmesh)?.password).toBe('pw2');
  });

  it('applies flag > environment > credentials file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'creds.ini');
    await writeFile(file, '# comment\nurl = https://file.test\nemail = file@box.test\npassword = from-file\ntotp_secret = JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP\n', { mode: 0o600 });
    const config = await loadBoxConfig({ env: { ...BASE, MIAB_CONFIG: file, MIAB_EMAIL: 'env@box.test' }, flags: { MIAB_URL: 'https://flag.test' } });
    expect(config.apiUrl).toBe('https://flag.test/admin');
    expect(config.auth).toEqual({ kind: 'session', email: 'env@box.test', totp: true });
    expect(sessionSecrets(config)).toEqual({ password: 'from-file', totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' });
  });

  it('keeps the password and TOTP secret out of the config object a library caller sees', async () => {
    const config = await loadBoxConfig({ env: { ...BASE, MIAB_URL: 'box.test', MIAB_EMAIL: 'a@box.test', MIAB_PASSWORD: 'pw-Zq8-unique', MIAB_TOTP_SECRET: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' } });
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10, showHidden: true }), JSON.stringify(Object.entries(config))]) {
      expect(shown).not.toContain('pw-Zq8-unique');
      expect(shown).not.toContain('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    }
    expect(config.settings.MIAB_PASSWORD).toBeUndefined();
    expect(sessionSecrets(config)?.password).toBe('pw-Zq8-unique');
  });

  it('reports every problem of every source in one error, each naming its origin', async () => {
    const dir = await tempDir();
    const file = join(dir, 'creds.ini');
    await writeFile(file, 'url = box.test\nemail = a@box.test\npassword = pw\ntotp_secret = 123456\npropagation_timeout = soon\n', { mode: 0o600 });
    const error: unknown = await loadBoxConfig({ env: { ...BASE, MIAB_CONFIG: file, MIAB_TLS_FINGERPRINT: 'abc', MIAB_STATE_DIR: 'relative' } }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'config-invalid', exitCode: 2 });
    const message = (error as Error).message;
    expect(message).toMatch(/^4 configuration problems/);
    expect(message).toContain(`totp_secret (${file} line 4) must be the base32 secret`);
    expect(message).toContain(`propagation_timeout (${file} line 5)`);
    expect(message).toContain('MIAB_TLS_FINGERPRINT must be a SHA-256 fingerprint');
    expect(message).toContain('MIAB_STATE_DIR="relative" must be an absolute path');
    // A value from the file is not blamed on a variable the user never set.
    expect(message).not.toMatch(/MIAB_TOTP_SECRET/);
  });

  it('refuses a credentials file readable by others, saying chmod 600', async () => {
    const dir = await tempDir();
    const file = join(dir, 'creds.ini');
    await writeFile(file, 'password = x\n');
    await chmod(file, 0o644);
    await expect(loadBoxConfig({ env: { ...BASE, MIAB_CONFIG: file } })).rejects.toMatchObject({
      code: 'config-insecure-permissions',
      exitCode: 2,
      message: expect.stringContaining(`chmod 600 ${file}`),
    });
  });

  it('rejects unknown keys in the credentials file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'creds.ini');
    await writeFile(file, 'passwrod = x\n', { mode: 0o600 });
    await expect(loadBoxConfig({ env: { ...BASE, MIAB_CONFIG: file } })).rejects.toThrow(/unknown key "passwrod"/);
  });

  it('uses the system key when MIAB_SYSTEM_KEY_FILE is set, defaulting to the on-box URL', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'api.key'), 'abc\n');
    const config = await loadBoxConfig({ env: { ...BASE, MIAB_SYSTEM_KEY_FILE: join(dir, 'api.key') } });
    expect(config.apiUrl).toBe('http://127.0.0.1:10222');
    expect(config.auth).toEqual({ kind: 'system-key', keyFile: join(dir, 'api.key') });
  });

  it('rejects a malformed TOTP secret and a non-ASCII password', async () => {
    const env = { ...BASE, MIAB_URL: 'box.test', MIAB_EMAIL: 'a@box.test' };
    await expect(loadBoxConfig({ env: { ...env, MIAB_PASSWORD: 'x', MIAB_TOTP_SECRET: '123456' } })).rejects.toThrow(/MIAB_TOTP_SECRET must be the base32 secret/);
    await expect(loadBoxConfig({ env: { ...env, MIAB_PASSWORD: 'pässword' } })).rejects.toThrow(/non-ASCII/);
  });

  it('refuses a relative state dir, which would depend on where a hook runs', async () => {
    const env = { MIAB_URL: 'box.test', MIAB_EMAIL: 'a@box.test', MIAB_PASSWORD: 'x', MIAB_STATE_DIR: 'http://box.test/admin' };
    await expect(loadBoxConfig({ env })).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringContaining('must be an absolute path') });
  });
});
