/** HTTPS to the cPanel server: system CAs plus CPANEL_CA_FILE, or a pinned fingerprint; never unverified. */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCpanelProvider, parseCpanelConfig } from '../../src/providers/cpanel/index.js';
import { silentLogger } from '../../src/util/log.js';
import { startCpanelEmulator, type CpanelEmulator } from '../cpanel-emulator/server.js';
import { createSelfSignedCertificate, createTestPki, type TestPki } from '../fixtures/certs.js';
import { TOKEN } from './harness.js';
import { scratchDir } from '../fixtures/scratch.js';

let pki: TestPki;
let selfSigned: Awaited<ReturnType<typeof createSelfSignedCertificate>>;
let caSigned: CpanelEmulator;
let pinned: CpanelEmulator;
let stateDir: string;

beforeAll(async () => {
  pki = await createTestPki({ names: ['127.0.0.1'] });
  selfSigned = await createSelfSignedCertificate({ names: ['127.0.0.1'] });
  const base = { zones: ['example.test'], user: 'alice', password: 'pw', tokens: [{ token: TOKEN }] };
  caSigned = await startCpanelEmulator({ ...base, tls: { key: pki.leaf.keyPem, cert: pki.leaf.certPem } });
  pinned = await startCpanelEmulator({ ...base, tls: { key: selfSigned.keyPem, cert: selfSigned.certPem } });
  stateDir = await scratchDir('cpanel-tls');
});

afterAll(async () => {
  await Promise.all([caSigned?.stop(), pinned?.stop()]);
  await pki?.cleanup();
  await rm(selfSigned.dir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

async function zonesVia(env: Record<string, string>): Promise<string[]> {
  const provider = await openCpanelProvider(parseCpanelConfig({ CPANEL_USERNAME: 'alice', CPANEL_TOKEN: TOKEN, ...env }), { stateDir, log: silentLogger });
  try {
    return [...(await provider.check()).zones];
  } finally {
    await provider.close();
  }
}

describe('TLS', () => {
  it('trusts CPANEL_CA_FILE and refuses an unknown CA', async () => {
    expect(await zonesVia({ CPANEL_BASE_URL: caSigned.url, CPANEL_CA_FILE: pki.ca.certPath })).toEqual(['example.test']);
    await expect(zonesVia({ CPANEL_BASE_URL: caSigned.url })).rejects.toMatchObject({ code: 'tls-untrusted' });
  });

  it('accepts a pinned self-signed certificate and refuses a different pin', async () => {
    expect(await zonesVia({ CPANEL_BASE_URL: pinned.url, CPANEL_TLS_FINGERPRINT: selfSigned.fingerprintLine })).toEqual(['example.test']);
    await expect(zonesVia({ CPANEL_BASE_URL: pinned.url, CPANEL_TLS_FINGERPRINT: 'AB'.repeat(32) })).rejects.toMatchObject({ code: 'tls-fingerprint-mismatch' });
  });
});
