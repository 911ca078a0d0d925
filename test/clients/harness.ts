/**
 * Shared by the real-client suites in this directory: one loopback topology per file (the
 * emulator with TOTP, nsd primary + lagging secondary, Pebble validating through the LAGGING
 * secondary), one emulator user and one state dir per client run (the box refuses a TOTP code
 * it saw last from the same user), and the checks every run must pass:
 * - nothing left on the box, the pre-seeded unrelated value untouched, the journal empty;
 * - only POST and value-carrying DELETE requests, each DELETE for a value this run wrote;
 * - exactly one password login;
 * - the password and TOTP secret in no output, no file the client wrote, no argv.
 *
 * Hooks run `node` through PATH: a `node` stand-in first on PATH records the argv of every
 * node process the hooks start, then execs the real node (same process: the ACME client
 * stays the parent, so the owner detection sees the real process tree).
 */
import { Buffer } from 'node:buffer';
import { createSocket } from 'node:dgram';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { expect } from 'vitest';
import type { CustomRecord, EmulatorFlavor, MiabEmulator } from '../emulator/index.js';
import type { ClientRun, CommandRun } from '../fixtures/acme-clients.js';
import { REPO } from '../fixtures/cli.js';
import { startTopology, TEST_PASSWORD, TEST_TOTP_SECRET, type Topology } from '../fixtures/topology.js';
import { scratchDir } from '../fixtures/scratch.js';

/** Apex + wildcard in one zone (two values at one name) and a name in the second zone. */
export const NAMES = ['a.example.test', '*.a.example.test', 'b.other.test'] as const;
export const HOOKS = `${REPO}hooks`;
export const UNRELATED: CustomRecord = { qname: '_acme-challenge.a.example.test', rtype: 'TXT', value: 'unrelated-preseeded-value_keep-me' };

export interface ClientSuite {
  readonly topology: Topology;
  /** Scratch dir for this file (removed by stop()). */
  readonly root: string;
  /** Directory holding the argv-recording `node`; put it first on PATH. */
  readonly shimDir: string;
  /** A fresh client run: its own emulator user, state dir, work dir and argv log. */
  newRun(label: string): Promise<RunContext>;
  stop(): Promise<void>;
}

export interface RunContext {
  readonly label: string;
  readonly email: string;
  readonly stateDir: string;
  /** Private work dir for the client (passed as the runner's workDir). */
  readonly workDir: string;
  /** One line per node process the hooks started (its argv, NUL-separated -> spaces). */
  readonly argvLog: string;
  /** MIAB_* for the hooks (password and TOTP secret as _FILE), PATH with the node recorder. */
  readonly env: Record<string, string>;
}

/** Users client1..clientN@example.test, password and TOTP secret as the topology's admin. */
function clientEmail(index: number): string {
  return `client${index}@example.test`;
}

export async function startClientSuite(options: { runs: number; name: string; records?: readonly CustomRecord[]; flavor?: EmulatorFlavor }): Promise<ClientSuite> {
  const users = Array.from({ length: options.runs }, (_, index) => ({
    email: clientEmail(index + 1),
    password: TEST_PASSWORD,
    totpSecret: TEST_TOTP_SECRET,
  }));
  const root = await scratchDir(`clients-${options.name}`);
  let topology: Topology;
  try {
    topology = await startTopology({ pebble: true, users, records: [UNRELATED, ...(options.records ?? [])], ...(options.flavor === undefined ? {} : { flavor: options.flavor }) });
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  const shimDir = await installNodeRecorder(join(root, 'bin'));
  let runs = 0;
  return {
    topology,
    root,
    shimDir,
    async newRun(label) {
      runs++;
      if (runs > options.runs) throw new Error(`startClientSuite({runs: ${options.runs}}) has no user left for run ${label}`);
      const email = clientEmail(runs);
      const dir = join(root, `${runs}-${label}`);
      const stateDir = join(dir, 'state');
      const workDir = join(dir, 'client');
      await mkdir(workDir, { recursive: true });
      const argvLog = join(dir, 'node-argv.log');
      await writeFile(argvLog, '');
      const env = await topology.env({
        MIAB_EMAIL: email,
        MIAB_STATE_DIR: stateDir,
        MIAB_TEST_ARGV_LOG: argvLog,
        PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      });
      topology.emulator.clearLog();
      return { label, email, stateDir, workDir, argvLog, env };
    },
    async stop() {
      await topology.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Writes the argv-recording `node` into `shimDir` (created) and returns `shimDir`: put it first
 * on PATH and set MIAB_TEST_ARGV_LOG. Shared with suites on other providers (test/cpanel).
 */
export async function installNodeRecorder(shimDir: string): Promise<string> {
  await mkdir(shimDir, { recursive: true });
  const shim = join(shimDir, 'node');
  await writeFile(
    shim,
    `#!/bin/sh\n[ -n "$MIAB_TEST_ARGV_LOG" ] && printf '%s\\n' "node $*" >> "$MIAB_TEST_ARGV_LOG"\nexec ${shellQuote(process.execPath)} "$@"\n`,
  );
  await chmod(shim, 0o755);
  return shimDir;
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// ------------------------------------------------------------------ box checks

/** TXT values at `_acme-challenge.*` names on the box now. */
export function challengeRecords(emulator: MiabEmulator): CustomRecord[] {
  return emulator.records().filter((record) => record.rtype === 'TXT' && record.qname.startsWith('_acme-challenge.'));
}

export function loginCount(emulator: MiabEmulator): number {
  return emulator.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/login')).length;
}

/** TXT values POSTed to the box (in order) since the last clearLog(). */
export function writtenValues(emulator: MiabEmulator): { path: string; value: string }[] {
  return emulator.requests
    .filter((request) => request.method === 'POST' && request.path.includes('/dns/custom/'))
    .map((request) => ({ path: request.path, value: request.body.trim() }));
}

/**
 * No PUT (replace every value), no DELETE without a value (delete every value), and each
 * DELETE removed a value this run had POSTed at that same name.
 */
export function expectOnlyExactWrites(emulator: MiabEmulator): void {
  const posted = new Set(writtenValues(emulator).map(({ path, value }) => `${path}\n${value}`));
  for (const request of emulator.requests) {
    expect(request.method, `${request.method} ${request.path}`).not.toBe('PUT');
    if (request.method === 'DELETE') {
      expect(request.body.trim(), `value-less DELETE ${request.path}`).not.toBe('');
      expect(posted.has(`${request.path}\n${request.body.trim()}`), `DELETE ${request.path} ${request.body} of a value this run did not write`).toBe(true);
    }
  }
}

/** Nothing of ours left on the box or in the journal; the unrelated value still there. */
export async function expectBoxClean(emulator: MiabEmulator, stateDir: string): Promise<void> {
  expect(challengeRecords(emulator)).toEqual([UNRELATED]);
  const journal = await readdir(join(stateDir, 'journal')).catch(() => []);
  expect(journal).toEqual([]);
}

// ------------------------------------------------------------------ journal owners

export interface JournalSighting {
  readonly fqdn: string;
  readonly value: string;
  /** The hook process that wrote the record. */
  readonly pid: number;
  /** The process the record belongs to: `cleanup --stale` leaves it alone while this lives. */
  readonly ownerPid: number;
}

/**
 * Polls the journal while a client runs and keeps every entry seen. The owner recorded must
 * be the ACME client itself (the process the runner started), not a shell or subshell that
 * exits while the client still needs the record: otherwise a `cleanup --stale` run meanwhile
 * (a cron job, another client's run) would delete the record before validation.
 */
export function watchJournal(stateDir: string, intervalMs = 50): { stop(): Promise<JournalSighting[]> } {
  const seen = new Map<string, JournalSighting>();
  const dir = join(stateDir, 'journal');
  let stopped = false;
  const poll = async (): Promise<void> => {
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files.filter((name) => name.endsWith('.json') && !seen.has(name))) {
      try {
        const entry = JSON.parse(await readFile(join(dir, file), 'utf8')) as JournalSighting;
        seen.set(file, { fqdn: entry.fqdn, value: entry.value, pid: entry.pid, ownerPid: entry.ownerPid });
      } catch {
        // removed between readdir and readFile: seen next time if it comes back
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return [...seen.values()];
    },
  };
}

// ------------------------------------------------------------------ secrets

/** The secrets and the Basic credential that would carry the password. */
export function secretsOf(email: string): string[] {
  return [TEST_PASSWORD, TEST_TOTP_SECRET, Buffer.from(`${email}:${TEST_PASSWORD}`).toString('base64')];
}

/** Every regular file under `dir` as text (missing dir: none). */
export async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const found: { path: string; text: string }[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.push({ path, text: await readFile(path, 'latin1') });
    }
  };
  await walk(dir);
  return found;
}

/**
 * The password, the TOTP secret and the Basic credential appear in no output of any command
 * the client ran, in no argv (client or hooks), in no file the client or the tool wrote.
 */
export async function expectNoSecretLeak(
  run: Pick<RunContext, 'email' | 'argvLog' | 'workDir' | 'stateDir'>,
  commands: readonly CommandRun[],
  extra: readonly { label: string; text: string }[] = [],
  /** The secrets to look for. @default the box account's (secretsOf(run.email)) */
  secrets: readonly string[] = secretsOf(run.email),
): Promise<void> {
  const places: { label: string; text: string }[] = [...extra];
  for (const [index, command] of commands.entries()) {
    places.push({ label: `argv of command ${index}`, text: command.argv.join(' ') });
    places.push({ label: `stdout of command ${index}`, text: command.stdout });
    places.push({ label: `stderr of command ${index}`, text: command.stderr });
  }
  const argvLog = await readFile(run.argvLog, 'utf8');
  places.push({ label: 'argv of the hooks', text: argvLog });
  for (const file of [...(await filesUnder(run.workDir)), ...(await filesUnder(run.stateDir))]) {
    places.push({ label: `file ${file.path}`, text: file.text });
  }
  for (const secret of secrets) {
    for (const place of places) expect(place.text.includes(secret), `a secret appears in ${place.label}`).toBe(false);
  }
}

/** The hooks really ran through the node recorder (so the argv check saw them). */
export async function hookArgv(run: Pick<RunContext, 'argvLog'>): Promise<string[]> {
  return (await readFile(run.argvLog, 'utf8')).split('\n').filter(Boolean);
}

// ------------------------------------------------------------------ DNS

/** TXT values at `name` as `server` (`host:port`, authoritative) serves them now. */
export async function txtAt(server: string, name: string): Promise<string[]> {
  const [host = '', portText = '53'] = server.split(':');
  const socket = createSocket('udp4');
  try {
    const id = Math.floor(Math.random() * 65535);
    const query = dnsPacket.encode({
      type: 'query',
      id,
      questions: [{ type: 'TXT', name, class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer],
    });
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer from ${server} for ${name}`)), 2000);
      socket.on('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      socket.send(new Uint8Array(query.buffer, query.byteOffset, query.byteLength), Number(portText), host);
    });
    const packet = dnsPacket.decode(reply);
    if (packet.id !== id) throw new Error('DNS reply id mismatch');
    return (packet.answers ?? [])
      .filter((answer): answer is dnsPacket.TxtAnswer => answer.type === 'TXT')
      .map((answer) => (Array.isArray(answer.data) ? answer.data : [answer.data]).map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join(''));
  } finally {
    socket.close();
  }
}

// ------------------------------------------------------------------ diagnostics

export function describeRun(run: ClientRun | undefined): string {
  if (!run) return '(no run)';
  return run.commands
    .map((c) => `$ ${c.argv.join(' ')}\nexit ${String(c.exitCode)} signal ${String(c.signal)} timedOut ${String(c.timedOut)} in ${c.durationMs} ms\n--- stdout\n${c.stdout}\n--- stderr\n${c.stderr}`)
    .join('\n');
}

/** Prints the run, the client's log file and Pebble's log when a test fails. */
export function failureDump(suite: () => { readonly topology: Pick<Topology, 'pebble'> } | undefined, run: () => ClientRun | undefined): () => Promise<void> {
  return async () => {
    const current = run();
    console.error(describeRun(current));
    if (current?.logPath) console.error(`--- ${current.logPath}\n${await readFile(current.logPath, 'utf8').catch(() => '(none)')}`);
    const pebble = suite()?.topology.pebble;
    if (pebble) console.error(`--- pebble log\n${(await pebble.readLog()).slice(-6000)}`);
  };
}

/** Mode bits of a file. */
export async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}
