import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBoxConfig, sessionSecrets } from './config.js';
import { parseCredentials } from './credentials-file.js';
import { SETTING_NAMES } from './settings.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const KEYS = new Set<string>(SETTING_NAMES);
const parse = (text: string): Map<string, string> => parseCredentials(text, '/etc/miab.conf', KEYS);

let dir: string;
beforeAll(async () => {
  dir = await scratchDir('credentials');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the credentials file comment rule', () => {
  it('takes " #" as the start of a comment, and # inside a value as part of it', () => {
    const settings = parse('# a comment\n  ; another\npassword = pa#ss;word  # the admin password\ntotp_secret = JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP   # only when 2FA is on\nemail=a@b.test#x\n');
    expect(settings.get('MIAB_PASSWORD')).toBe('pa#ss;word');
    expect(settings.get('MIAB_TOTP_SECRET')).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    expect(settings.get('MIAB_EMAIL')).toBe('a@b.test#x');
  });

  it('takes a quoted value verbatim, " #" included, with \\" and \\\\ in double quotes', () => {
    const settings = parse(`password = "a #b \\"c\\" \\\\d"  # comment\nemail = ' x # y '\n`);
    expect(settings.get('MIAB_PASSWORD')).toBe('a #b "c" \\d');
    expect(settings.get('MIAB_EMAIL')).toBe(' x # y ');
  });

  it('names the file and line of every bad line, all in one error', () => {
    expect(() => parse('url = x\npassword = "open\nbogus = 1\nnot a pair\npassword = "a" b\n')).toThrow(
      /\/etc\/miab\.conf line 2: the value opens a " quote that never closes; \/etc\/miab\.conf line 3: unknown key "bogus".*; \/etc\/miab\.conf line 4: expected "key = value"; \/etc\/miab\.conf line 5: unexpected text after the closing "/,
    );
    expect(() => parse('url = a\nurl = b\n')).toThrow(/line 2: "url" is set twice \(also url \(\/etc\/miab\.conf line 1\)\)/);
  });

  it("loads the README's credentials file example as printed", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const match = /cat > (\S+) <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(readme);
    expect(match?.[1]).toMatch(/miab-dns01\.conf$/);
    const file = join(dir, 'readme.conf');
    await writeFile(file, `${match?.[2] ?? ''}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    const config = await loadBoxConfig({ env: { MIAB_CONFIG: file, MIAB_STATE_DIR: join(dir, 'state') } });
    expect(config.apiUrl).toBe('https://box.example.com/admin');
    expect(config.auth).toMatchObject({ kind: 'session', email: 'admin@example.com', totp: true });
    expect(sessionSecrets(config)).toEqual({ password: 'your-admin-password', totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' });
  });
});
