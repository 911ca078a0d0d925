import { spawn, spawnSync } from 'node:child_process';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/fixtures/scratch.js';
import { withLock } from './lock.js';

// The compiled module: the waiters are separate Node processes, as hook processes are.
const LOCK_MODULE = pathToFileURL(resolve('dist/state/lock.js')).href;

/**
 * One waiter process: takes the lock, logs enter/exit around a short critical section, and then
 * dies holding it (like a crashed hook), so every next holder must take over a stale lock.
 */
const WAITER = `
import { appendFileSync } from 'node:fs';
const { withLock } = await import(process.argv[1]);
const [, , path, log] = process.argv;
await withLock(path, async () => {
  appendFileSync(log, 'enter ' + process.pid + '\\n');
  await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
  appendFileSync(log, 'exit ' + process.pid + '\\n');
  process.exit(0);
}, { timeoutMs: 60_000 });
`;

function runWaiter(path: string, log: string): Promise<number | null> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WAITER, LOCK_MODULE, path, log], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('withLock', () => {
  it('many waiters on a stale lock whose holders keep dying: exactly one holder at a time', async () => {
    const dir = await scratchDir('lock');
    try {
      const path = join(dir, 'login.lock');
      const log = join(dir, 'log');
      await writeFile(log, '');
      for (let round = 0; round < 3; round++) {
        await writeFile(path, `${spawnSync(process.execPath, ['-e', '0']).pid}\n`); // a dead holder
        const statuses = await Promise.all(Array.from({ length: 12 }, () => runWaiter(path, log)));
        expect(statuses.every((status) => status === 0)).toBe(true);
      }
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(72);
      for (let index = 0; index < lines.length; index += 2) {
        const [enter, exit] = [lines[index] ?? '', lines[index + 1] ?? ''];
        expect(`${enter} / ${exit}`).toMatch(/^enter (\d+) \/ exit \1$/);
      }
      // No claim or temp file is left behind.
      expect((await readdir(dir)).sort()).toEqual(['log', 'login.lock']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a lock held by a live process is not taken over; the holder releases only its own lock', async () => {
    const dir = await scratchDir('lock');
    try {
      const path = join(dir, 'held.lock');
      await writeFile(path, `${process.pid}\n`);
      await expect(withLock(path, async () => 'never', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'lock-timeout' });
      expect(await readFile(path, 'utf8')).toBe(`${process.pid}\n`);
      await rm(path);
      await expect(withLock(path, async () => 'mine')).resolves.toBe('mine');
      await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
