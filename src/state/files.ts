/**
 * State files (session cache, journal, TOTP step, account key) are private and must never be
 * seen half-written: every write goes to a 0600 temp file in the same directory, then rename.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, basename, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

function reasonOf(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const reasons: Record<string, string> = {
    ENOENT: 'its parent does not take new directories',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
  };
  return reasons[code] ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Creates `dir` and its missing parents (mode 0700), one level at a time. Not Node's
 * `mkdir({ recursive: true })`: on a file system that answers ENOENT for the new directory
 * and EEXIST for its parent (procfs: `/proc/miab-state`) that one loops for ever. A directory
 * that cannot be made is a `config-invalid` naming the path that failed.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    const info = await stat(current).catch((error: unknown) => (isNotFound(error) ? undefined : cannotCreate(dir, current, error)));
    if (info !== undefined) {
      if (!info.isDirectory()) cannotCreate(dir, current, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
      break;
    }
    missing.push(current);
    if (dirname(current) === current) break;
  }
  for (const path of missing.reverse()) {
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (error) {
      // EEXIST: another process made it meanwhile (fine, if it is a directory).
      const made = typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST' && (await stat(path).catch(() => undefined))?.isDirectory() === true;
      if (!made) cannotCreate(dir, path, error);
    }
  }
}

function cannotCreate(dir: string, failed: string, error: unknown): never {
  const where = failed === resolve(dir) ? dir : `${dir} (at ${failed})`;
  throw new ConfigError('config-invalid', `cannot create the directory ${where}: ${reasonOf(error)}; choose a directory this user can create (for state: MIAB_STATE_DIR, or state_dir in the credentials file)`, { cause: error });
}

/** Writes `content` to `path` atomically with mode 0600 (readers see the old or the new file). */
export async function writePrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** The file's text, or undefined when it does not exist (other errors are thrown). */
export async function readTextFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function readJsonFile<T>(path: string, isValid: (value: unknown) => value is T): Promise<T | undefined> {
  const text = await readTextFile(path);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isValid(value) ? value : undefined;
  } catch {
    // A file we cannot parse is treated as absent: state is a cache, and every writer replaces it whole.
    return undefined;
  }
}

export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An append-only private log (the serve audit log): created 0600, a looser existing file
 * tightened to 0600, lines appended in order. Not temp + rename: a log grows, it is not replaced.
 */
export async function openPrivateAppendStream(path: string): Promise<WriteStream> {
  const handle = await open(path, 'a', 0o600);
  await handle.close();
  await chmod(path, 0o600);
  return createWriteStream(path, { flags: 'a', mode: 0o600 });
}
