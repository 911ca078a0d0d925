import { stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MiabDns01Error } from '../errors.js';
import { scratchDir } from '../../test/fixtures/scratch.js';
import { ensurePrivateDir } from './files.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function failure(dir: string): Promise<MiabDns01Error> {
  const error = await ensurePrivateDir(dir).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(MiabDns01Error);
  return error as MiabDns01Error;
}

describe('ensurePrivateDir', () => {
  it('makes the missing levels 0700, and again is a no-op (also when racing itself)', async () => {
    const base = await scratchDir('files');
    dirs.push(base);
    const dir = join(base, 'a', 'b', 'c');
    await Promise.all([ensurePrivateDir(dir), ensurePrivateDir(dir), ensurePrivateDir(join(dir, 'd'))]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(base, 'a'))).mode & 0o777).toBe(0o700);
    await ensurePrivateDir(dir);
  });

  it('a directory procfs cannot take ends in config-invalid naming it (Node\'s recursive mkdir loops for ever there)', async () => {
    const error = await failure('/proc/miab-state/journal');
    expect(error.code).toBe('config-invalid');
    expect(error.message).toContain('/proc/miab-state');
    expect(error.message).toContain('MIAB_STATE_DIR');
  });

  it('a path under a regular file ends in config-invalid naming it', async () => {
    const base = await scratchDir('files');
    dirs.push(base);
    const file = join(base, 'plain-file');
    await writeFile(file, 'x');
    for (const dir of [join(file, 'state', 'journal'), file]) {
      const error = await failure(dir);
      expect(error.code).toBe('config-invalid');
      expect(error.message).toContain(dir);
      expect(error.message).toMatch(/is a file, not a directory/);
    }
  });
});
