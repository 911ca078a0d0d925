/**
 * The certificate directory written by `issue`: privkey.pem (0600), cert.pem, chain.pem and
 * fullchain.pem, each replaced atomically (temp file + rename) so a crash never leaves half
 * a file. Reading it back decides whether `--renew-within` may skip issuance.
 */
import { X509Certificate } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { readTextFile, writePrivateFile } from '../state/files.js';

export interface CertificatePaths {
  readonly dir: string;
  readonly privkey: string;
  readonly cert: string;
  readonly chain: string;
  readonly fullchain: string;
}

export function certificatePaths(dir: string): CertificatePaths {
  return { dir, privkey: join(dir, 'privkey.pem'), cert: join(dir, 'cert.pem'), chain: join(dir, 'chain.pem'), fullchain: join(dir, 'fullchain.pem') };
}

export interface IssuedCertificate {
  /** PEM private key of the certificate. */
  readonly privateKey: string;
  /** PEM of the leaf certificate alone. */
  readonly certificate: string;
  /** PEM of the intermediates (everything after the leaf). */
  readonly chain: string;
  /** Leaf followed by the intermediates. */
  readonly fullchain: string;
}

export function splitFullchain(fullchain: string): { certificate: string; chain: string } {
  const blocks = fullchain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const [leaf = '', ...rest] = blocks;
  return { certificate: `${leaf}\n`, chain: rest.length > 0 ? `${rest.join('\n')}\n` : '' };
}

export async function writeCertificateFiles(dir: string, issued: IssuedCertificate): Promise<CertificatePaths> {
  const paths = certificatePaths(dir);
  // Each file is replaced whole; the certificate files follow the key within milliseconds.
  await writePrivateFile(paths.privkey, issued.privateKey);
  for (const [path, content] of [
    [paths.cert, issued.certificate],
    [paths.chain, issued.chain],
    [paths.fullchain, issued.fullchain],
  ] as const) {
    await writePrivateFile(path, content);
    await chmod(path, 0o644);
  }
  return paths;
}

/** DNS names a certificate covers (lower-case, wildcards as `*.x`), and when it expires. */
export function describeCertificate(pem: string): { names: string[]; notAfter: Date } {
  const certificate = new X509Certificate(pem);
  const names = (certificate.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return { names, notAfter: new Date(certificate.validTo) };
}

export type RenewalDecision = { readonly renew: false; readonly daysLeft: number } | { readonly renew: true; readonly reason: string };

/** Whether the certificate in `dir` must be replaced to cover `domains` for more than `withinDays`. */
export async function renewalDecision(dir: string, domains: readonly string[], withinDays: number, now = Date.now()): Promise<RenewalDecision> {
  const pem = await readTextFile(certificatePaths(dir).cert);
  if (pem === undefined) return { renew: true, reason: 'no certificate yet' };
  let existing: { names: string[]; notAfter: Date };
  try {
    existing = describeCertificate(pem);
  } catch {
    return { renew: true, reason: 'the existing cert.pem cannot be read' };
  }
  const wanted = [...new Set(domains.map((domain) => domain.toLowerCase()))].sort();
  const have = [...new Set(existing.names)].sort();
  if (wanted.join(',') !== have.join(',')) return { renew: true, reason: `the existing certificate covers ${have.join(', ')}` };
  const daysLeft = (existing.notAfter.getTime() - now) / 86_400_000;
  return daysLeft > withinDays ? { renew: false, daysLeft } : { renew: true, reason: `it expires in ${daysLeft.toFixed(1)} days` };
}
