/**
 * Cross-process mutual exclusion with lock files, so that concurrent hook processes share one
 * login and never interleave state writes. A lock left by a dead process is taken over.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MiabDns01Error } from '../errors.js';
import { sleep } from '../util/poll.js';
import { ensurePrivateDir, isNotFound } from './files.js';
import { isProcessAlive } from './processes.js';

export interface LockOptions {
  /** Give up after this long. @default 120_000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const RETRY_MS = 25;

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST') return false;
    throw error;
  }
}

/** A lock file still empty this long after its creation was left by a crash mid-write. */
const EMPTY_LOCK_GRACE_MS = 5_000;

async function removeIfOwnerDead(path: string): Promise<void> {
  let owner: number;
  let ageMs: number;
  try {
    owner = Number((await readFile(path, 'utf8')).trim());
    ageMs = Date.now() - (await stat(path)).mtimeMs;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  // An empty file is a lock being written right now, unless it has stayed empty too long.
  const abandoned = owner > 0 ? !isProcessAlive(owner) : ageMs > EMPTY_LOCK_GRACE_MS;
  if (abandoned) await unlink(path).catch(() => undefined);
}

/** Runs `work` while holding the lock file at `path`. */
export async function withLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await ensurePrivateDir(dirname(path));
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (!(await tryCreate(path))) {
    options.signal?.throwIfAborted();
    await removeIfOwnerDead(path);
    if (Date.now() > deadline) {
      throw new MiabDns01Error('lock-timeout', `timed out waiting for the lock ${path}; if no other miab-dns01 process is running, delete that file`);
    }
    await sleep(RETRY_MS + Math.random() * RETRY_MS, options.signal);
  }
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
