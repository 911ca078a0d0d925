import { readFileSync } from 'node:fs';
import { lstat, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeCertificateFiles, type IssuedCertificate } from './certificate-files.js';
import { scratchDir } from '../../test/fixtures/scratch.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function outDir(): Promise<string> {
  const dir = await scratchDir('certs');
  dirs.push(dir);
  return dir;
}

/** A recognizable set: every file names its generation (big enough that writing takes a moment). */
function set(generation: string): IssuedCertificate {
  const pad = 'x'.repeat(64 * 1024);
  return { privateKey: `key ${generation} ${pad}`, certificate: `cert ${generation} ${pad}`, chain: `chain ${generation}`, fullchain: `fullchain ${generation} ${pad}` };
}

function generationOf(text: string): string {
  return text.split(' ')[1] ?? '';
}

describe('writeCertificateFiles', () => {
  it('a reader never sees the new key beside the old certificate while a set is replaced', async () => {
    const out = await outDir();
    for (let round = 0; round < 5; round++) {
      await writeCertificateFiles(out, set(`g${round}`));
      const seen: string[] = [];
      let writing = true;
      const reader = (async () => {
        while (writing) {
          // Key first, then the certificate: a server (re)loading its files.
          const key = generationOf(readFileSync(join(out, 'privkey.pem'), 'utf8'));
          const cert = generationOf(readFileSync(join(out, 'cert.pem'), 'utf8'));
          seen.push(`${key}/${cert}`);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await writeCertificateFiles(out, set(`g${round}b`));
      writing = false;
      await reader;
      expect(seen.length).toBeGreaterThan(0);
      for (const pair of seen) expect([`g${round}/g${round}`, `g${round}b/g${round}b`, `g${round}/g${round}b`]).toContain(pair);
    }
  });

  it('two runs writing one --out at once leave one complete set, in archive/ + live/', async () => {
    const out = await outDir();
    await Promise.all([writeCertificateFiles(out, set('a')), writeCertificateFiles(out, set('b'))]);
    const generations = await Promise.all(['privkey', 'cert', 'chain', 'fullchain'].map(async (file) => generationOf(await readFile(join(out, `${file}.pem`), 'utf8'))));
    expect(new Set(generations).size).toBe(1);
    expect((await readdir(join(out, 'archive'))).sort()).toEqual(['1', '2']);
    expect(await readlink(join(out, 'live'))).toBe(join('archive', '2'));
    expect((await lstat(join(out, 'privkey.pem'))).isSymbolicLink()).toBe(true);
    expect((await stat(join(out, 'privkey.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(out, 'cert.pem'))).mode & 0o777).toBe(0o644);
    expect((await readdir(out)).sort()).toEqual(['archive', 'cert.pem', 'chain.pem', 'fullchain.pem', 'live', 'privkey.pem']);
  });

  it('replaces the plain files of the old layout by links, and keeps the last three sets', async () => {
    const out = await outDir();
    for (const file of ['privkey', 'cert', 'chain', 'fullchain']) await writeFile(join(out, `${file}.pem`), `${file} old`);
    for (const generation of ['n1', 'n2', 'n3', 'n4']) await writeCertificateFiles(out, set(generation));
    expect(generationOf(await readFile(join(out, 'privkey.pem'), 'utf8'))).toBe('n4');
    expect(generationOf(await readFile(join(out, 'live', 'cert.pem'), 'utf8'))).toBe('n4');
    expect((await readdir(join(out, 'archive'))).sort()).toEqual(['2', '3', '4']);
  });
});
