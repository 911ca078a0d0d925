/**
 * TLS to the box: the emulator serves HTTPS on 127.0.0.1 with (a) a self-signed certificate,
 * as a fresh Mail-in-a-Box does, and (b) a certificate from a private CA. Untrusted
 * certificates are refused with a message naming MIAB_CA_FILE and MIAB_TLS_FINGERPRINT;
 * MIAB_CA_FILE and a pinned fingerprint make them work; a wrong pin is refused. No refused
 * connection ever gets as far as an HTTP request (no credentials sent).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type MiabEmulator } from '../emulator/index.js';
import { runCli } from '../fixtures/cli.js';
import {
  createCertificateAuthority,
  createSelfSignedCertificate,
  createTestPki,
  issueLeafCertificate,
  type CertificateAuthority,
  type SelfSignedCertificate,
  type TestPki,
} from '../fixtures/certs.js';
import { acmeValue, logins, STACK_TRACE, TEST_PASSWORD, TEST_TOTP_SECRET, txt } from './helpers.js';
import { scratchDir } from '../fixtures/scratch.js';

const EMAIL = 'tls@example.test';

let dir: string;
let selfSigned: SelfSignedCertificate;
let pki: TestPki;
let otherCa: CertificateAuthority;
let selfSignedBox: MiabEmulator;
let caSignedBox: MiabEmulator;
let wrongNameBox: MiabEmulator;
let states = 0;

const certificates = new Map<MiabEmulator, { key: string; cert: string }>();

async function box(tls: { key: string; cert: string }): Promise<MiabEmulator> {
  const emulator = await startEmulator({ zones: ['example.test'], users: [{ email: EMAIL, password: TEST_PASSWORD }], tls });
  certificates.set(emulator, tls);
  return emulator;
}

/** Another emulator with the same certificate, whose request log belongs to one test alone. */
async function twin(emulator: MiabEmulator, onTestFinished: (fn: () => Promise<void>) => void): Promise<MiabEmulator> {
  const copy = await box(certificates.get(emulator) ?? { key: '', cert: '' });
  onTestFinished(() => copy.stop());
  return copy;
}

beforeAll(async () => {
  dir = await scratchDir('hardening-tls');
  // The URL is https://127.0.0.1:PORT/admin: the certificates name IP:127.0.0.1.
  selfSigned = await createSelfSignedCertificate({ names: ['127.0.0.1', 'box.example.test'], dir });
  pki = await createTestPki({ names: ['127.0.0.1', 'localhost'] });
  otherCa = await createCertificateAuthority({ commonName: 'some other CA' });
  const wrongName = await issueLeafCertificate(pki.ca, { names: ['box.example.test'], basename: 'wrong-name' });
  selfSignedBox = await box({ key: selfSigned.keyPem, cert: selfSigned.certPem });
  caSignedBox = await box({ key: pki.leaf.keyPem, cert: pki.leaf.certPem });
  wrongNameBox = await box({ key: wrongName.keyPem, cert: wrongName.certPem });
});

afterAll(async () => {
  await Promise.all([selfSignedBox, caSignedBox, wrongNameBox].map((emulator) => emulator?.stop()));
  await pki?.cleanup();
  if (otherCa) await rm(otherCa.dir, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

function envFor(emulator: MiabEmulator, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { MIAB_URL: emulator.url, MIAB_EMAIL: EMAIL, MIAB_PASSWORD: TEST_PASSWORD, MIAB_STATE_DIR: join(dir, `state-${states++}`), ...extra };
}

describe.concurrent('TLS to the box', () => {
  it('the emulators really serve https on 127.0.0.1', () => {
    for (const emulator of [selfSignedBox, caSignedBox, wrongNameBox]) expect(emulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/admin$/);
  });

  it.for([
    ['a self-signed certificate', () => selfSignedBox, undefined, /DEPTH_ZERO_SELF_SIGNED_CERT/],
    ['a certificate from an unknown CA', () => caSignedBox, undefined, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/],
    ['a certificate from another CA than MIAB_CA_FILE', () => caSignedBox, () => otherCa.certPath, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/],
    ['a trusted certificate for another name', () => wrongNameBox, () => pki.ca.certPath, /ERR_TLS_CERT_ALTNAME_INVALID/],
  ] as const)('refuses %s: exit 2, names MIAB_CA_FILE and MIAB_TLS_FINGERPRINT', async ([, emulator, caFile, reason], { onTestFinished }) => {
    const target = await twin(emulator(), onTestFinished);
    const extra: Record<string, string> = caFile === undefined ? {} : { MIAB_CA_FILE: caFile() };
    const result = await runCli(['present', '--no-wait', 'tls.example.test', acmeValue()], { env: envFor(target, extra) });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/error \[tls-untrusted\]: cannot verify the TLS certificate of 127\.0\.0\.1:\d+/);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).toContain('set MIAB_CA_FILE');
    expect(result.stderr).toContain('MIAB_TLS_FINGERPRINT');
    expect(result.stderr).not.toMatch(STACK_TRACE);
    // Refused during the handshake: not one HTTP request (so no credentials) reached the box.
    expect(target.requests).toEqual([]);
  });

  it('a TLS failure spends no TOTP code: once trusted, the login uses the current code at once', async ({ onTestFinished }) => {
    const email = 'tls-totp@example.test';
    const target = await startEmulator({ zones: ['example.test'], users: [{ email, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }], tls: { key: selfSigned.keyPem, cert: selfSigned.certPem } });
    onTestFinished(() => target.stop());
    const stateDir = join(dir, `state-${states++}`);
    const env = { ...envFor(target), MIAB_EMAIL: email, MIAB_TOTP_SECRET: TEST_TOTP_SECRET, MIAB_STATE_DIR: stateDir };
    const refused = await runCli(['zones'], { env });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/error \[tls-untrusted\]/);
    expect(refused.stderr).not.toMatch(/TOTP|waiting|logins/);
    expect((await readdir(join(stateDir, 'sessions')).catch(() => [])).filter((name) => name.endsWith('.totp.json'))).toEqual([]);

    const trusted = await runCli(['zones'], { env: { ...env, MIAB_TLS_FINGERPRINT: selfSigned.fingerprint } });
    expect(trusted).toMatchObject({ code: 0, stdout: 'example.test\n' });
    // No TOTP wait: its message is absent and the one login was accepted (no time bound: it
    // would measure the machine's load).
    expect(trusted.stderr).not.toMatch(/already used|waiting/);
    expect(logins(target).map((request) => request.status)).toEqual([200]);
    expect(target.failedLogins).toBe(0);
  });

  it('works with MIAB_CA_FILE naming the CA that signed the certificate', async () => {
    const env = envFor(caSignedBox, { MIAB_CA_FILE: pki.ca.certPath });
    const value = acmeValue('-');
    expect(await runCli(['zones'], { env })).toMatchObject({ code: 0, stdout: 'example.test\n' });
    expect(await runCli(['present', '--no-wait', 'ca.example.test', value], { env })).toMatchObject({ code: 0 });
    expect(txt(caSignedBox, '_acme-challenge.ca.example.test')).toEqual([value]);
    expect(await runCli(['cleanup', 'ca.example.test', value], { env })).toMatchObject({ code: 0 });
    expect(txt(caSignedBox, '_acme-challenge.ca.example.test')).toEqual([]);
  });

  it.for([
    ['as openssl prints it (AB:CD:...)', () => selfSigned.fingerprint],
    ['as the whole openssl line', () => selfSigned.fingerprintLine],
    ['in lower case without colons', () => selfSigned.fingerprint.replace(/:/g, '').toLowerCase()],
  ] as const)('works with the self-signed certificate pinned %s', async ([, pin]) => {
    const env = envFor(selfSignedBox, { MIAB_TLS_FINGERPRINT: pin() });
    const value = acmeValue();
    const name = `pin${states}.example.test`;
    expect(await runCli(['present', '--no-wait', name, value], { env })).toMatchObject({ code: 0 });
    expect(txt(selfSignedBox, `_acme-challenge.${name}`)).toEqual([value]);
    expect(await runCli(['cleanup', name, value], { env })).toMatchObject({ code: 0 });
    expect(txt(selfSignedBox, `_acme-challenge.${name}`)).toEqual([]);
  });

  it.for([
    ['another certificate\'s fingerprint', () => selfSignedBox, () => pki.leaf.certPem],
    ['the self-signed fingerprint, on the CA-signed box', () => caSignedBox, () => selfSigned.certPem],
  ] as const)('refuses a wrong pin (%s): exit 2, tls-fingerprint-mismatch, no request', async ([, emulator, pinnedPem], { onTestFinished }) => {
    const target = await twin(emulator(), onTestFinished);
    const wrongPin = new X509Certificate(pinnedPem()).fingerprint256;
    // The pin replaces CA validation, so a trusted CA does not rescue a mismatch.
    const result = await runCli(['zones'], { env: envFor(target, { MIAB_TLS_FINGERPRINT: wrongPin, MIAB_CA_FILE: pki.ca.certPath }) });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/error \[tls-fingerprint-mismatch\]: the certificate of 127\.0\.0\.1:\d+ \(SHA-256 [0-9a-f]{64}\) does not match MIAB_TLS_FINGERPRINT/);
    expect(target.requests).toEqual([]);
  });
});
