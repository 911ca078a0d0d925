import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { parseCpanelConfig } from './config.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

function failure(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError thrown');
}

describe('parseCpanelConfig', () => {
  it('defaults to token auth when a token is given', () => {
    expect(parseCpanelConfig({ CPANEL_BASE_URL: 'https://host.example.com:2083', CPANEL_USERNAME: 'alice', CPANEL_TOKEN: 'T0KEN' })).toEqual({
      baseUrl: 'https://host.example.com:2083',
      auth: { method: 'token', username: 'alice', token: 'T0KEN' },
      tls: { caFile: undefined, fingerprint: undefined },
    });
  });

  it('defaults to session auth with a password, normalising the TOTP secret', () => {
    const config = parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083/', CPANEL_USERNAME: 'alice', CPANEL_PASSWORD: 'pw', CPANEL_TOTP_SECRET: 'jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp' });
    expect(config.auth).toEqual({ method: 'session', username: 'alice', password: 'pw', totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' });
    expect(config.baseUrl).toBe('https://h.example:2083');
  });

  it('reads acme.sh names when ours are unset, and a bare host means port 2083', () => {
    const config = parseCpanelConfig({ cPanel_Hostname: 'host.example.com', cPanel_Username: 'bob', cPanel_Apitoken: 'ACMESH' });
    expect(config).toMatchObject({ baseUrl: 'https://host.example.com:2083', auth: { method: 'token', username: 'bob', token: 'ACMESH' } });
    expect(parseCpanelConfig({ CPANEL_BASE_URL: 'https://x.example', CPANEL_USERNAME: 'alice', cPanel_Username: 'bob', CPANEL_TOKEN: 'T' }).auth.username).toBe('alice');
  });

  it('reads secrets from <NAME>_FILE (one trailing newline dropped) and the credentials-file keys', () => {
    const files: Record<string, string> = { '/run/pw': 'from-file\n' };
    const config = parseCpanelConfig(
      { CPANEL_AUTH: 'otp-header', CPANEL_PASSWORD_FILE: '/run/pw' },
      { cpanel_base_url: 'https://file.example:2083', cpanel_username: 'carol', cpanel_totp_secret: SECRET, cpanel_password: 'ignored' },
      (path) => files[path] ?? '',
    );
    expect(config).toMatchObject({ baseUrl: 'https://file.example:2083', auth: { method: 'otp-header', username: 'carol', password: 'from-file', totpSecret: SECRET } });
  });

  it('reports every problem in one error', () => {
    const error = failure(() => parseCpanelConfig({ CPANEL_AUTH: 'magic', CPANEL_TOTP_SECRET: 'not base32!', CPANEL_TLS_FINGERPRINT: 'ab' }));
    expect(error.code).toBe('config-invalid');
    for (const part of ['CPANEL_BASE_URL is not set', 'CPANEL_USERNAME is not set', 'CPANEL_AUTH="magic"', 'CPANEL_TOTP_SECRET must be', 'CPANEL_TLS_FINGERPRINT must be']) {
      expect(error.message).toContain(part);
    }
    expect(error.message).toMatch(/^cpanel: configuration: /);
  });

  it('asks for a token or a password when neither is given', () => {
    const error = failure(() => parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083', CPANEL_USERNAME: 'alice' }));
    expect(error.code).toBe('config-missing');
    expect(error.message).toMatch(/set CPANEL_TOKEN .*or CPANEL_PASSWORD/);
  });

  it('refuses a token mode without a token, and a TOTP secret with a token', () => {
    expect(failure(() => parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example', CPANEL_USERNAME: 'a', CPANEL_AUTH: 'token', CPANEL_PASSWORD: 'pw' })).message).toContain('CPANEL_TOKEN (or CPANEL_TOKEN_FILE) is not set');
    expect(failure(() => parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example', CPANEL_USERNAME: 'a', CPANEL_TOKEN: 'T', CPANEL_TOTP_SECRET: SECRET })).message).toContain('API tokens never take a code');
  });

  it('refuses plain http except to loopback, and URLs with a path or credentials', () => {
    const insecure = failure(() => parseCpanelConfig({ CPANEL_BASE_URL: 'http://host.example.com:2082', CPANEL_USERNAME: 'a', CPANEL_TOKEN: 'T' }));
    expect(insecure.code).toBe('config-insecure-url');
    expect(insecure.message).toContain('https://host.example.com:2083');
    expect(parseCpanelConfig({ CPANEL_BASE_URL: 'http://127.0.0.1:2082', CPANEL_USERNAME: 'a', CPANEL_TOKEN: 'T' }).baseUrl).toBe('http://127.0.0.1:2082');
    expect(failure(() => parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example:2083/execute', CPANEL_USERNAME: 'a', CPANEL_TOKEN: 'T' })).message).toContain('without a path');
    expect(failure(() => parseCpanelConfig({ CPANEL_BASE_URL: 'https://u:p@h.example', CPANEL_USERNAME: 'a', CPANEL_TOKEN: 'T' })).message).toContain('must not contain credentials');
  });

  it('names an unreadable secret file', () => {
    const error = failure(() =>
      parseCpanelConfig({ CPANEL_BASE_URL: 'https://h.example', CPANEL_USERNAME: 'a', CPANEL_TOKEN_FILE: '/nope' }, {}, () => {
        throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      }),
    );
    expect(error.message).toContain('CPANEL_TOKEN_FILE=/nope cannot be read (ENOENT)');
  });
});
