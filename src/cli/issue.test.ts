import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SECRET_VARIABLES, deployHookEnvironment } from './issue.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));
const paths = { dir: '/certs', cert: '/certs/cert.pem', privkey: '/certs/privkey.pem', chain: '/certs/chain.pem', fullchain: '/certs/fullchain.pem' };

/** Every variable name the sources read that looks like a credential: what a provider may add without declaring it. */
function credentialLookingVariables(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      for (const name of credentialLookingVariables(path)) found.add(name);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      for (const match of readFileSync(path, 'utf8').matchAll(/(?:env\.|['"`[])((?:MIAB|CPANEL|MAILINABOX|cPanel)_[A-Za-z0-9_]*(?:PASSWORD|SECRET|TOKEN|Password|Apitoken))\b/g)) {
        found.add(match[1] ?? '');
      }
    }
  }
  return found;
}

describe('the deploy hook environment', () => {
  it('holds no secret of any provider, in any of their names, and says where the certificate is', () => {
    const parent = Object.fromEntries([...SECRET_VARIABLES].map((name) => [name, `secret-of-${name}`]));
    const env = deployHookEnvironment({ ...parent, PATH: '/usr/bin', MIAB_URL: 'https://box.example.test/admin' }, paths, ['a.example.test', '*.a.example.test']);
    expect(Object.values(env).join('\n')).not.toContain('secret-of-');
    expect(env).toMatchObject({ PATH: '/usr/bin', MIAB_URL: 'https://box.example.test/admin', MIAB_CERT_PATH: '/certs/cert.pem', MIAB_DOMAINS: 'a.example.test *.a.example.test', RENEWED_LINEAGE: '/certs' });
  });

  it('the filtered list comes from the providers\' declarations: every credential variable the sources read is in it', () => {
    // Mail-in-a-Box (and acme.sh's / Certbot plugin's names), cPanel (and acme.sh's), a serve client.
    for (const name of ['MIAB_PASSWORD', 'MIAB_TOTP_SECRET', 'MAILINABOX_PASSWORD', 'MIAB_Password', 'CPANEL_TOKEN', 'CPANEL_PASSWORD', 'CPANEL_TOTP_SECRET', 'cPanel_Apitoken', 'MIAB_DNS01_SERVE_PASSWORD']) {
      expect(SECRET_VARIABLES).toContain(name);
    }
    const read = credentialLookingVariables(SRC);
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((name) => !SECRET_VARIABLES.has(name))).toEqual([]);
  });
});
