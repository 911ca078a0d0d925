import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseProviderName, PROVIDER_NAMES } from './config.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function credentialsFile(text: string): Promise<string> {
  const dir = await scratchDir('provider');
  made.push(dir);
  const file = join(dir, 'credentials.ini');
  await writeFile(file, text);
  await chmod(file, 0o600);
  return file;
}

const BASE = { MIAB_STATE_DIR: '/tmp/unused-state' };
const BOX = { ...BASE, MIAB_URL: 'https://box.test', MIAB_EMAIL: 'a@box.test', MIAB_PASSWORD: 'pw-provider-test' };
const CPANEL = { ...BASE, CPANEL_BASE_URL: 'https://host.test:2083', CPANEL_USERNAME: 'alice', CPANEL_TOKEN: 'TOKENPROVIDERTEST0123456789ABCDE' };

describe('provider selection', () => {
  it('defaults to mailinabox; names are case-insensitive', () => {
    expect(parseProviderName(undefined)).toBe('mailinabox');
    expect(parseProviderName(' cPanel ')).toBe('cpanel');
    expect(PROVIDER_NAMES).toEqual(['mailinabox', 'cpanel', 'serve']);
  });

  it('refuses an unknown provider as config-invalid, naming the allowed ones and where it came from', async () => {
    await expect(loadConfig({ env: { ...BOX, MIAB_DNS01_PROVIDER: 'route53' } })).rejects.toMatchObject({
      code: 'config-invalid',
      message: expect.stringMatching(/MIAB_DNS01_PROVIDER="route53" is not a known DNS provider; use one of: mailinabox, cpanel/),
    });
    await expect(loadConfig({ env: BOX, flags: { MIAB_DNS01_PROVIDER: 'nope' } })).rejects.toThrow(/--provider="nope"/);
  });

  it('reports an unknown provider together with the other problems, in one error', async () => {
    const error: unknown = await loadConfig({ env: { MIAB_DNS01_PROVIDER: 'nope', MIAB_STATE_DIR: 'relative' } }).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/2 configuration problems[\s\S]*not a known DNS provider[\s\S]*must be an absolute path/);
  });

  it('mailinabox by default: the box config, no cPanel settings needed', async () => {
    const { config, provider } = await loadConfig({ env: BOX });
    expect(config).toMatchObject({ provider: 'mailinabox', stateDir: '/tmp/unused-state' });
    expect(provider.name === 'mailinabox' && provider.box.apiUrl).toBe('https://box.test/admin');
  });

  it('cpanel from the environment: parsed by the cPanel parser, no box settings needed, and no secret in the shared config', async () => {
    const { config, provider } = await loadConfig({ env: { ...CPANEL, MIAB_DNS01_PROVIDER: 'cpanel' } });
    expect(config.provider).toBe('cpanel');
    expect(provider.name === 'cpanel' && provider.cpanel).toMatchObject({ baseUrl: 'https://host.test:2083', auth: { method: 'token', username: 'alice' } });
    expect(inspect(config, { depth: 10 })).not.toContain('TOKENPROVIDERTEST');
  });

  it('cpanel with missing settings: the cPanel problems and the shared ones in one error', async () => {
    const error: unknown = await loadConfig({ env: { MIAB_DNS01_PROVIDER: 'cpanel', MIAB_STATE_DIR: 'relative' } }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'config-invalid' });
    expect(String(error)).toMatch(/must be an absolute path[\s\S]*CPANEL_BASE_URL is not set/);
  });

  it('the credentials file selects the provider (`provider`) and holds the cPanel keys; the flag wins over it', async () => {
    const file = await credentialsFile('provider = cpanel\ncpanel_base_url = https://file.test:2083\ncpanel_username = bob\ncpanel_token = TOKENFROMFILE0123456789ABCDEFGHIJ\n');
    const { provider } = await loadConfig({ env: { ...BASE, MIAB_CONFIG: file } });
    expect(provider.name === 'cpanel' && provider.cpanel).toMatchObject({ baseUrl: 'https://file.test:2083', auth: { method: 'token', username: 'bob', token: 'TOKENFROMFILE0123456789ABCDEFGHIJ' } });
    // The environment wins over the file for cPanel's own keys too.
    const fromEnv = await loadConfig({ env: { ...BASE, MIAB_CONFIG: file, CPANEL_USERNAME: 'carol' } });
    expect(fromEnv.provider.name === 'cpanel' && fromEnv.provider.cpanel.auth.username).toBe('carol');
    await expect(loadConfig({ env: { ...BASE, MIAB_CONFIG: file }, flags: { MIAB_DNS01_PROVIDER: 'mailinabox' } })).rejects.toMatchObject({ code: 'config-missing' });
  });

  it('an unknown credentials-file key still names the known ones, provider and the cPanel keys among them', async () => {
    const file = await credentialsFile('providr = cpanel\n');
    await expect(loadConfig({ env: { ...BASE, MIAB_CONFIG: file } })).rejects.toThrow(/unknown key "providr"; known keys: provider, url, .*cpanel_base_url/);
  });
});
