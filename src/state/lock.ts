/**
 * Cross-process mutual exclusion with lock files, so that concurrent hook processes share one
 * login and never interleave state writes. A lock left by a dead process is taken over.
 *
 * A lock file holds its holder's identity (PID and start time) from the moment it exists: it is
 * written to a temp file and hard-linked into place, which fails if the lock exists. Taking over
 * a dead holder's lock is atomic too: a waiter first claims that exact lock file by hard-linking
 * it to a name derived from its inode (only one waiter can create that name), checks the claim
 * is still the dead holder's file, and only then unlinks the lock. Without the claim, two
 * waiters that both saw the dead holder could each delete the lock, the second one deleting the
 * lock the first had just created: two holders.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MiabDns01Error } from '../errors.js';
import { sleep } from '../util/poll.js';
import { ensurePrivateDir, isNotFound } from './files.js';
import { isProcessAlive, processIdentity, type ProcessIdentity } from './processes.js';

export interface LockOptions {
  /** Give up after this long. @default 120_000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const RETRY_MS = 25;

/** A lock file still empty this long after its creation was left by a crash mid-write (older versions wrote in place). */
const EMPTY_LOCK_GRACE_MS = 5_000;

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

let ownContent: string | undefined;
function lockContent(): string {
  if (ownContent === undefined) {
    const me = processIdentity(process.pid);
    ownContent = `${me.pid}${me.startTime === undefined ? '' : ` ${me.startTime}`}\n`;
  }
  return ownContent;
}

/** `<pid> [<start time>]`; a bare PID is what older versions wrote. */
function parseHolder(content: string): ProcessIdentity | undefined {
  const [pid, startTime] = content.trim().split(/\s+/).map(Number);
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return undefined;
  return startTime === undefined || !Number.isFinite(startTime) ? { pid } : { pid, startTime };
}

async function tryCreate(path: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, lockContent(), { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    if (errorCode(error) === 'EPERM' || errorCode(error) === 'ENOTSUP' || errorCode(error) === 'ENOSYS') return tryCreateWithoutLinks(path);
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** For file systems without hard links: exclusive create, then write (briefly empty). */
async function tryCreateWithoutLinks(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(lockContent());
    await handle.close();
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/** Removes the lock at `path` if its holder is gone, such that only one waiter ever does. */
async function takeOverIfAbandoned(path: string): Promise<void> {
  let content: string;
  let inode: number;
  let ageMs: number;
  try {
    const handle = await open(path, 'r');
    try {
      const info = await handle.stat();
      content = await handle.readFile('utf8');
      inode = info.ino;
      ageMs = Date.now() - info.mtimeMs;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const holder = parseHolder(content);
  // An empty file is a lock being written right now, unless it has stayed empty too long.
  const abandoned = holder !== undefined ? !isProcessAlive(holder.pid, holder.startTime) : ageMs > EMPTY_LOCK_GRACE_MS;
  if (!abandoned) return;
  const claim = `${path}.stale-${inode}`;
  try {
    await link(path, claim);
  } catch (error) {
    // EEXIST: another waiter is taking this lock over. ENOENT: it is already gone.
    if (errorCode(error) === 'EEXIST' || errorCode(error) === 'ENOENT') return;
    if (errorCode(error) === 'EPERM' || errorCode(error) === 'ENOTSUP' || errorCode(error) === 'ENOSYS') {
      await unlink(path).catch(() => undefined);
      return;
    }
    throw error;
  }
  try {
    // The claim names whatever file was at `path` when we linked: act only if that is still
    // the abandoned lock we judged (the same inode, the same holder), not a newer lock.
    const claimed = await stat(claim);
    if (claimed.ino === inode && (await readFile(claim, 'utf8')) === content) await unlink(path);
  } finally {
    await unlink(claim).catch(() => undefined);
  }
}

/** Runs `work` while holding the lock file at `path`. */
export async function withLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await ensurePrivateDir(dirname(path));
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (!(await tryCreate(path))) {
    options.signal?.throwIfAborted();
    await takeOverIfAbandoned(path);
    if (Date.now() > deadline) {
      throw new MiabDns01Error('lock-timeout', `timed out waiting for the lock ${path}; if no other miab-dns01 process is running, delete that file`);
    }
    await sleep(RETRY_MS + Math.random() * RETRY_MS, options.signal);
  }
  try {
    return await work();
  } finally {
    // Only our own lock: never one another process holds after wrongly taking ours over.
    if ((await readFile(path, 'utf8').catch(() => undefined)) === lockContent()) await unlink(path).catch(() => undefined);
  }
}
