/**
 * Shared pieces of the hardening suites: per-test emulator users, request-log queries, a
 * scratch dir with the secrets as 0600 files, a walk of the state dir, a sampler of the
 * command lines of a process tree, and an "owner" shell that stands for an ACME client.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { EmulatorUser, MiabEmulator, RequestLogEntry } from '../emulator/index.js';
import { loopbackAddress } from '../fixtures/net.js';
import { TEST_PASSWORD, TEST_TOTP_SECRET } from '../fixtures/topology.js';
import { scratchDir } from '../fixtures/scratch.js';

export { TEST_EMAIL, TEST_PASSWORD, TEST_TOTP_SECRET } from '../fixtures/topology.js';

/** A DNS-01 value (base64url of 32 bytes); `prefix` lets tests make values that start with `-`. */
export function acmeValue(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`.slice(0, 43);
}

/** `count` admin accounts with the distinctive password and TOTP secret: one per test. */
export function adminUsers(prefix: string, count: number, totp = true): EmulatorUser[] {
  return Array.from({ length: count }, (_, index) => ({
    email: `${prefix}${index}@example.test`,
    password: TEST_PASSWORD,
    ...(totp ? { totpSecret: TEST_TOTP_SECRET } : {}),
  }));
}

/** Every request that could change DNS data: the suites assert this stays empty on bad input. */
export function dnsWrites(emulator: MiabEmulator): RequestLogEntry[] {
  return emulator.requests.filter((request) => request.method !== 'GET' && request.path.includes('/dns/'));
}

export function logins(emulator: MiabEmulator): RequestLogEntry[] {
  return emulator.requests.filter((request) => request.method === 'POST' && /\/login$/.test(request.path.split('?')[0] ?? ''));
}

export function txt(emulator: MiabEmulator, qname: string): string[] {
  return emulator
    .records()
    .filter((record) => record.qname === qname && record.rtype === 'TXT')
    .map((record) => record.value);
}

/** Never PUT (replaces every value), never a DELETE without a value (deletes every value). */
export function expectNoDangerousRequests(emulator: MiabEmulator): void {
  for (const request of emulator.requests) {
    expect(request.method).not.toBe('PUT');
    if (request.method === 'DELETE') expect(request.body.trim()).not.toBe('');
  }
}

export interface Scratch {
  readonly dir: string;
  readonly passwordFile: string;
  readonly totpFile: string;
  readonly stateDir: string;
}

/** A temp dir holding the password and TOTP secret as 0600 files, and a (not yet created) state dir. */
export async function scratch(prefix: string): Promise<Scratch> {
  const dir = await scratchDir(`hardening-${prefix}`);
  const passwordFile = join(dir, 'password');
  const totpFile = join(dir, 'totp');
  await writeFile(passwordFile, `${TEST_PASSWORD}\n`, { mode: 0o600 });
  await writeFile(totpFile, `${TEST_TOTP_SECRET}\n`, { mode: 0o600 });
  return { dir, passwordFile, totpFile, stateDir: join(dir, 'state') };
}

/** Environment for one account against one emulator (no DNS settings: add them for waits). */
export function boxEnv(emulator: MiabEmulator, email: string, where: Scratch, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    MIAB_URL: emulator.url,
    MIAB_EMAIL: email,
    MIAB_PASSWORD_FILE: where.passwordFile,
    MIAB_TOTP_SECRET_FILE: where.totpFile,
    MIAB_STATE_DIR: where.stateDir,
    ...extra,
  };
}

export interface TreeEntry {
  readonly path: string;
  readonly mode: number;
  readonly kind: 'dir' | 'file' | 'other';
}

/** Every directory and file under `root` (root included), without following symlinks. */
export async function walk(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const kind = info.isDirectory() ? 'dir' : info.isFile() ? 'file' : 'other';
    out.push({ path, mode: info.mode & 0o7777, kind });
    if (kind === 'dir') for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(root);
  return out;
}

/** Content of every regular file under `root`, concatenated with the path before each. */
export async function allFileContents(root: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await walk(root)) {
    if (entry.kind === 'file') parts.push(`== ${entry.path}\n${await readFile(entry.path, 'latin1')}`);
  }
  return parts.join('\n');
}

/** Resolves once `condition` holds; fails the test with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Direct children from /proc/PID/task/TID/children: [] once the process is gone, undefined when the kernel lacks the file. */
function childrenFromProc(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    } catch {
      if (!existsSync(`/proc/${pid}/task/${tid}`)) continue; // the thread just ended
      return undefined;
    }
    if (text !== '') out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

/** PIDs of `root` and all its descendants right now. */
export function processTree(root: number): number[] {
  const viaChildren: number[] = [];
  const queue = [root];
  let supported = true;
  while (queue.length > 0 && supported) {
    const pid = queue.shift() as number;
    viaChildren.push(pid);
    const children = childrenFromProc(pid);
    if (children === undefined) supported = false;
    else queue.push(...children);
  }
  if (supported) return viaChildren;
  return processTreeByScan(root);
}

function processTreeByScan(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const parent = parentOf(Number(name));
    if (parent !== undefined) parents.set(Number(name), parent);
  }
  const tree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

export function childrenOf(pid: number): number[] {
  return processTree(pid).filter((candidate) => parentOf(candidate) === pid);
}

/**
 * Samples `/proc/<pid>/cmdline` of every process in the trees of the roots it is given, every
 * few milliseconds, so a test can assert what `ps` would have shown anyone on the machine.
 */
export class CmdlineSampler {
  readonly #roots = new Set<number>();
  readonly seen = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  samples = 0;

  add(pid: number): void {
    this.#roots.add(pid);
  }

  start(intervalMs = 5): this {
    this.#timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  sample(): void {
    this.samples += 1;
    for (const root of this.#roots) {
      for (const pid of processTree(root)) {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
          if (cmdline !== '') this.seen.set(`${pid} ${cmdline}`, cmdline);
        } catch {
          // gone already
        }
      }
    }
  }

  stop(): string[] {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    return [...this.seen.values()];
  }
}

/**
 * A shell script that stands for an ACME client: it runs its arguments as a child (not with
 * exec) and so is the owner miab-dns01 journals; with HOLD=1 in its environment it stays
 * alive afterwards until killed.
 */
export async function ownerScript(dir: string): Promise<string> {
  const path = join(dir, 'acme-client.sh');
  await writeFile(path, '#!/bin/sh\n"$@"\nstatus=$?\nif [ -n "$HOLD" ]; then sleep 600; fi\nexit $status\n');
  await chmod(path, 0o700);
  return path;
}

/** A deterministic PRNG (mulberry32): fuzz failures reproduce from the printed seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stack trace line as Node prints it (`    at fn (file:line:col)`). */
export const STACK_TRACE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

export interface BlackHole {
  /** `host:port` for MIAB_NAMESERVERS. */
  readonly server: string;
  /**
   * TXT queries (the propagation wait's) received so far; none is ever answered. The CNAME
   * check's question before the write is not counted: it comes before the record exists.
   */
  readonly queries: number;
  close(): Promise<void>;
}

/**
 * A nameserver that receives queries and never answers: a propagation wait that lists it
 * cannot end, and its first query proves the wait has begun.
 */
export async function blackHole(): Promise<BlackHole> {
  const host = loopbackAddress();
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', (message: Buffer) => {
    try {
      if (dnsPacket.decode(message).questions?.[0]?.type === 'TXT') queries += 1;
    } catch {
      // not a DNS message: not a query of the wait either
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  const { port } = socket.address();
  return {
    server: `${host}:${port}`,
    get queries() {
      return queries;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
