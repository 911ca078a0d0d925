/**
 * The certificate directory written by `issue`, laid out like certbot's archive/ + live/:
 *
 *   <out>/archive/<n>/{privkey,cert,chain,fullchain}.pem   one complete set per issuance
 *   <out>/live -> archive/<n>                               the current set
 *   <out>/privkey.pem -> live/privkey.pem (and the other three)
 *
 * A new set is written in full (each file synced) under a temporary name, then named
 * archive/<n>, and only then is `live` switched to it by one rename. Every path a server reads
 * (`<out>/privkey.pem` or `<out>/live/privkey.pem`) therefore shows the old set or the new one,
 * never a new key beside the old certificate. Writers of one `--out` take a lock, so two runs
 * never write it at once. Reading it back decides whether `--renew-within` may skip issuance.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readTextFile, writePrivateFile } from '../state/files.js';
import { withLock } from '../state/lock.js';

export interface CertificatePaths {
  readonly dir: string;
  readonly privkey: string;
  readonly cert: string;
  readonly chain: string;
  readonly fullchain: string;
}

const FILES = ['privkey', 'cert', 'chain', 'fullchain'] as const;
/** Sets kept in archive/: the current one and the ones before it, for a manual rollback. */
const KEEP_SETS = 3;

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

function isNumbered(name: string): boolean {
  return /^[1-9][0-9]*$/.test(name);
}

/** Points `path` at `target` by renaming a fresh symlink over it: readers see one or the other. */
async function switchSymlink(path: string, target: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await symlink(target, temp);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function linkTarget(path: string): Promise<string | undefined> {
  try {
    return (await lstat(path)).isSymbolicLink() ? await readlink(path) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a complete new set, switches `live` to it, and keeps `<out>/<file>.pem` pointing into `live`. */
export async function writeCertificateFiles(dir: string, issued: IssuedCertificate): Promise<CertificatePaths> {
  await mkdir(dir, { recursive: true });
  return withLock(join(dir, '.miab-dns01.lock'), async () => {
    const archive = join(dir, 'archive');
    await mkdir(archive, { recursive: true, mode: 0o755 });
    const entries = await readdir(archive);
    const numbers = entries.filter(isNumbered).map(Number);
    const next = Math.max(0, ...numbers) + 1;
    // Build the set under a name no reader follows, then give it its number in one rename.
    const building = join(archive, `.${next}.${process.pid}.tmp`);
    await rm(building, { recursive: true, force: true });
    await mkdir(building, { mode: 0o755 });
    const contents: Record<(typeof FILES)[number], string> = { privkey: issued.privateKey, cert: issued.certificate, chain: issued.chain, fullchain: issued.fullchain };
    for (const file of FILES) {
      const path = join(building, `${file}.pem`);
      await writePrivateFile(path, contents[file]);
      if (file !== 'privkey') await chmod(path, 0o644);
    }
    await rename(building, join(archive, String(next)));
    await switchSymlink(join(dir, 'live'), join('archive', String(next)));
    for (const file of FILES) {
      const path = join(dir, `${file}.pem`);
      const target = join('live', `${file}.pem`);
      // A regular file here was written by an older version: replaced once by the link.
      if ((await linkTarget(path)) !== target) await switchSymlink(path, target);
    }
    for (const old of numbers.filter((number) => number <= next - KEEP_SETS)) await rm(join(archive, String(old)), { recursive: true, force: true });
    for (const leftover of entries.filter((name) => name.endsWith('.tmp'))) await rm(join(archive, leftover), { recursive: true, force: true });
    return certificatePaths(dir);
  });
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
