/** MIAB_FLAVOR and MIAB_TXT_TTL through the whole configuration pass (env and credentials file). */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBoxConfig } from './config.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

let dir: string;
beforeEach(async () => {
  dir = await scratchDir('flavor');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (): Record<string, string> => ({ MIAB_URL: 'https://box.test', MIAB_EMAIL: 'a@box.test', MIAB_PASSWORD: 'pw-flavor-test', MIAB_STATE_DIR: join(dir, 'state') });

describe('flavor settings', () => {
  it('default: upstream', async () => {
    expect((await loadBoxConfig({ env: base() })).dialect).toEqual({ flavor: 'upstream' });
  });

  it('MIAB_FLAVOR=power, with the default or a given TTL', async () => {
    expect((await loadBoxConfig({ env: { ...base(), MIAB_FLAVOR: 'power' } })).dialect).toEqual({ flavor: 'power', txtTtlSeconds: 300 });
    expect((await loadBoxConfig({ env: { ...base(), MIAB_FLAVOR: 'power', MIAB_TXT_TTL: '60' } })).dialect).toEqual({ flavor: 'power', txtTtlSeconds: 60 });
  });

  it('the credentials file: flavor = power, txt_ttl = 90', async () => {
    const file = join(dir, 'miab.conf');
    await writeFile(file, 'flavor = power   # Power Mail-in-a-Box\ntxt_ttl = 90\n', { mode: 0o600 });
    expect((await loadBoxConfig({ env: { ...base(), MIAB_CONFIG: file } })).dialect).toEqual({ flavor: 'power', txtTtlSeconds: 90 });
  });

  it('a bad flavour is config-invalid naming the file line and the allowed values, reported with other problems', async () => {
    const file = join(dir, 'miab.conf');
    await writeFile(file, 'flavor = powerful\n', { mode: 0o600 });
    const error: unknown = await loadBoxConfig({ env: { ...base(), MIAB_CONFIG: file, MIAB_STATE_DIR: 'relative' } }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'config-invalid' });
    expect((error as Error).message).toMatch(/flavor \(.*miab\.conf line 1\)="powerful" is not a Mail-in-a-Box flavour; use one of: upstream, power/);
    expect((error as Error).message).toContain('MIAB_STATE_DIR');
  });

  it('a TTL without the power flavour is config-invalid', async () => {
    await expect(loadBoxConfig({ env: { ...base(), MIAB_TXT_TTL: '300' } })).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringContaining('MIAB_FLAVOR=power') });
  });
});
