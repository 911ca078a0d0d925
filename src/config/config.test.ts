import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBoxConfig, normalizeApiUrl, normalizeFingerprint } from './config.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'miab-config-'));
}

const BASE = { MIAB_STATE_DIR: '/tmp/unused-state' };

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
    expect(lego.auth).toEqual({ kind: 'session', email: 'a@box.test', password: 's3cret-pw', totpSecret: undefined });
    const acmesh = await loadBoxConfig({ env: { ...BASE, MIAB_Server: 'box.test', MIAB_Username: 'b@box.test', MIAB_Password: 'pw2' } });
    expect(acmesh.apiUrl).toBe('https://box.test/admin');
    expect(acmesh.auth).toMatchObject({ email: 'b@box.test', password: 'pw2' });
  });

  it('applies flag > environment > credentials file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'creds.ini');
    await writeFile(file, '# comment\nurl = https://file.test\nemail = file@box.test\npassword = from-file\ntotp_secret = JBSW Y3DP EHPK 3PXP\n', { mode: 0o600 });
    const config = await loadBoxConfig({ env: { ...BASE, MIAB_CONFIG: file, MIAB_EMAIL: 'env@box.test' }, flags: { MIAB_URL: 'https://flag.test' } });
    expect(config.apiUrl).toBe('https://flag.test/admin');
    expect(config.auth).toEqual({ kind: 'session', email: 'env@box.test', password: 'from-file', totpSecret: 'JBSWY3DPEHPK3PXP' });
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
