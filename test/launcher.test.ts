/**
 * One launcher for every entry point: the `miab-dns01` command (package.json's bin), the hook
 * scripts and acme.sh's dns_miab_dns01.sh all start node through bin/miab-dns01, with the same
 * start-up flags. A stand-in node (MIAB_DNS01_NODE) prints the arguments it was started with.
 */
import { chmod, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runProgram } from './fixtures/cli.js';
import { scratchDir } from './fixtures/scratch.js';

const MAIN = `${REPO}dist/cli/main.js`;
const FLAGS = ['--liftoff-only'];
let dir: string;
let fakeNode: string;

beforeAll(async () => {
  dir = await scratchDir('launcher');
  fakeNode = join(dir, 'node');
  await writeFile(fakeNode, '#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\nprintf "entry=%s\\n" "${MIAB_DNS01_ENTRY:-unset}"\n', { mode: 0o755 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function started(argv: readonly string[], env: Record<string, string> = {}): Promise<string[]> {
  const result = await runProgram(argv, { env: { MIAB_DNS01_NODE: fakeNode, ...env } });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trimEnd().split('\n');
}

describe('one launcher', () => {
  it("package.json's bin is the launcher, and it starts node with the flags", async () => {
    const pkg = JSON.parse(await readFile(`${REPO}package.json`, 'utf8')) as { bin: Record<string, string>; files: string[] };
    expect(pkg.bin).toEqual({ 'miab-dns01': 'bin/miab-dns01' });
    expect(pkg.files).toContain('bin');
    expect(await started([`${REPO}bin/miab-dns01`, 'zones'])).toEqual([...FLAGS, MAIN, 'zones', 'entry=unset']);
    // Linked onto the PATH (as npm does), it still finds its package.
    const linked = join(dir, 'miab-dns01');
    await symlink(`${REPO}bin/miab-dns01`, linked);
    expect(await started([linked, '--version'])).toEqual([...FLAGS, MAIN, '--version', 'entry=unset']);
  });

  it.each(['certbot-auth', 'certbot-cleanup', 'lego-exec', 'dehydrated-hook'])('hooks/%s goes through it, with the same flags', async (hook) => {
    expect(await started([`${REPO}hooks/${hook}`, 'a', 'b'])).toEqual([...FLAGS, MAIN, 'hook', hook, 'a', 'b', 'entry=unset']);
    // Copied elsewhere: MIAB_DNS01_HOME's launcher.
    const copy = join(dir, `copy-${hook}`);
    await writeFile(copy, await readFile(`${REPO}hooks/${hook}`, 'utf8'));
    await chmod(copy, 0o755);
    expect(await started([copy, 'x'], { MIAB_DNS01_HOME: REPO })).toEqual([...FLAGS, MAIN, 'hook', hook, 'x', 'entry=unset']);
  });

  it("acme.sh's dns_miab_dns01.sh goes through it, with the same flags", async () => {
    const script = `. ${REPO}hooks/dns_miab_dns01.sh\n_err() { echo "$*" >&2; }\n_miab_dns01_cli hook acmesh add -- _acme-challenge.a.example.test value\n`;
    expect(await started(['sh', '-c', script], { MIAB_DNS01_HOME: REPO })).toEqual([...FLAGS, MAIN, 'hook', 'acmesh', 'add', '--', '_acme-challenge.a.example.test', 'value', 'entry=unset']);
  });

  it('without node, every entry point says how to fix it in its own name and exits 2', async () => {
    for (const [argv, name] of [
      [[`${REPO}bin/miab-dns01`, 'zones'], 'miab-dns01'],
      [[`${REPO}hooks/lego-exec`, 'present'], 'lego-exec'],
    ] as const) {
      const result = await runProgram(argv, { env: { MIAB_DNS01_NODE: join(dir, 'no-such-node') } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${name}: MIAB_DNS01_NODE=`);
    }
  });
});
