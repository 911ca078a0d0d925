/**
 * State files and retry loops.
 * - Every state file (session cache, journal, TOTP step, ACME account key) is written
 *   atomically (temp file + rename: a reader never sees half a file) with mode 0600, in
 *   directories created 0700, even under a permissive umask; damaged state is survived.
 * - Every retry or wait loop is bounded in attempts and in time: box requests, the write
 *   read-back, logins, the login lock, the TOTP step wait and the propagation wait.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionAuthenticator, sessionPaths } from '../../src/providers/mailinabox/session.js';
import { BoxClient } from '../../src/providers/mailinabox/client.js';
import type { BoxMethod, BoxResponse, Transport } from '../../src/providers/mailinabox/transport.js';
import { writePrivateFile } from '../../src/state/files.js';
import { withLock } from '../../src/state/lock.js';
import { silentLogger } from '../../src/util/log.js';
import { startEmulator, type MiabEmulator } from '../emulator/index.js';
import { CLI, REPO, runCli, runProgram } from '../fixtures/cli.js';
import { loopbackAddress } from '../fixtures/net.js';
import { acmeValue, adminUsers, boxEnv, logins, scratch, txt, walk, type Scratch } from './helpers.js';
import { scratchDir } from '../fixtures/scratch.js';

let emulator: MiabEmulator;
let where: Scratch;

beforeAll(async () => {
  emulator = await startEmulator({ zones: ['example.test'], users: adminUsers('state-', 4) });
  where = await scratch('state');
});

afterAll(async () => {
  await emulator?.stop();
  if (where) await rm(where.dir, { recursive: true, force: true });
});

function expectPrivateTree(entries: readonly { path: string; mode: number; kind: string }[]): void {
  for (const entry of entries) {
    expect(entry.kind, entry.path).not.toBe('other');
    expect(entry.mode.toString(8), entry.path).toBe(entry.kind === 'dir' ? '700' : '600');
    expect(entry.path.endsWith('.tmp'), `left-over temp file ${entry.path}`).toBe(false);
  }
}

describe('state files', () => {
  it('are 0600 in 0700 directories even under umask 000: session cache, TOTP step, journal, locks, account key', async () => {
    const stateDir = join(where.dir, 'umask-state');
    const env = boxEnv(emulator, 'state-0@example.test', { ...where, stateDir });
    const value = acmeValue('-');
    const underUmask0 = (argv: string[]) => runProgram(['/bin/sh', '-c', 'umask 000; exec "$@"', 'sh', ...argv], { env });
    expect(await underUmask0([process.execPath, CLI, 'present', '--no-wait', 'umask.example.test', value])).toMatchObject({ code: 0 });
    // The ACME account key, created through the real module under the same umask.
    const script = `import(${JSON.stringify(`${REPO}dist/acme/account.js`)}).then((m) => m.loadOrCreateAccountKey(${JSON.stringify(stateDir)}, 'https://127.0.0.1:1/dir', async () => 'PEM-KEY'))`;
    expect(await underUmask0([process.execPath, '--input-type=module', '-e', script])).toMatchObject({ code: 0 });

    const entries = await walk(stateDir);
    const names = entries.map((entry) => relative(stateDir, entry.path));
    expect(names).toEqual(expect.arrayContaining(['sessions', 'journal', 'locks', 'acme']));
    expect(names.filter((name) => /^sessions\/[0-9a-f]+\.json$/.test(name))).toHaveLength(1);
    expect(names.filter((name) => /^sessions\/[0-9a-f]+\.totp\.json$/.test(name))).toHaveLength(1);
    expect(names.filter((name) => /^journal\/[0-9a-f]+\.json$/.test(name))).toHaveLength(1);
    expect(names.filter((name) => /^acme\/account-[0-9a-f]+\.pem$/.test(name))).toHaveLength(1);
    expectPrivateTree(entries);

    expect(await underUmask0([process.execPath, CLI, 'cleanup', 'umask.example.test', value])).toMatchObject({ code: 0 });
    expectPrivateTree(await walk(stateDir));
  });

  it('are replaced atomically: concurrent writers, a reader never sees a partial or mixed file', async () => {
    const dir = join(where.dir, 'atomic');
    const path = join(dir, 'sub', 'state.json');
    const versions = Array.from({ length: 6 }, (_, index) => `${JSON.stringify({ writer: index })}${String(index).repeat(400_000)}\n`);
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        try {
          const text = await readFile(path, 'utf8');
          reads++;
          expect(versions.includes(text), `read ${text.length} characters that are no version`).toBe(true);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    })();
    for (let round = 0; round < 8; round++) await Promise.all(versions.map((version) => writePrivateFile(path, version)));
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(versions).toContain(await readFile(path, 'utf8'));
    expect(await readdir(join(dir, 'sub'))).toEqual(['state.json']);
    expectPrivateTree(await walk(dir));
  });

  it('every state write in src goes through writePrivateFile (temp + rename, 0600)', () => {
    // The lock file is created by a hard link of a complete temp file (its creation is the
    // atomic step); the certificate files of `issue` go through writePrivateFile, then get 0644
    // on purpose, in archive/<n>/ directories it creates (public: cert.pem must stay readable).
    // The run agent's socket directory is no state file: created 0700 and refused unless ours.
    const allowed = new Set(['state/files.ts', 'state/lock.ts', 'acme/certificate-files.ts', 'agent/address.ts']);
    const offenders: string[] = [];
    const visit = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) visit(path);
        else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !allowed.has(relative(join(REPO, 'src'), path))) {
          const text = readFileSync(path, 'utf8');
          for (const pattern of [/\bwriteFile(Sync)?\(/, /\bappendFile(Sync)?\(/, /\bcreateWriteStream\(/, /\bopen(Sync)?\([^)]*['"][wa]/, /\bmkdir(Sync)?\(/]) {
            if (pattern.test(text)) offenders.push(`${relative(REPO, path)}: ${pattern}`);
          }
        }
      }
    };
    visit(join(REPO, 'src'));
    expect(offenders).toEqual([]);
  });

  it('damaged state is survived: a corrupt session cache means one new login, stray temp files and corrupt journal entries are ignored', async () => {
    const stateDir = join(where.dir, 'damaged-state');
    const env = boxEnv(emulator, 'state-1@example.test', { ...where, stateDir });
    const { cache } = sessionPaths(stateDir, emulator.url, 'state-1@example.test');
    await mkdir(join(stateDir, 'sessions'), { recursive: true, mode: 0o700 });
    await mkdir(join(stateDir, 'journal'), { recursive: true, mode: 0o700 });
    await writeFile(cache, '{"apiKey": "trunc', { mode: 0o600 });
    await writeFile(join(stateDir, 'journal', 'deadbeef.json'), 'not json', { mode: 0o600 });
    await writeFile(join(stateDir, 'journal', '.abc.json.123.cafe.tmp'), '{"half":', { mode: 0o600 });
    emulator.clearLog();
    const value = acmeValue();
    const present = await runCli(['present', '--no-wait', 'damaged.example.test', value], { env });
    expect(present.code, present.stderr).toBe(0);
    expect(logins(emulator)).toHaveLength(1);
    const dryRun = await runCli(['cleanup', '--stale', '--dry-run'], { env });
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(await runCli(['cleanup', 'damaged.example.test', value], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator, '_acme-challenge.damaged.example.test')).toEqual([]);
  });
});

/** A transport that answers from a script and records what was sent. */
function scriptedClient(answer: (method: BoxMethod, url: string, sent: number) => BoxResponse | Promise<BoxResponse>, retry = {}): { client: BoxClient; sent: string[] } {
  const sent: string[] = [];
  const transport: Transport = {
    async send(method, url) {
      sent.push(`${method} ${new URL(url).pathname}`);
      return answer(method, url, sent.length);
    },
    async close() {},
  };
  const client = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 2, ...retry } });
  client.useAuthenticator({ mode: 'session', authorization: async () => 'Basic x', refreshAfterRejection: async () => undefined });
  return { client, sent };
}

const status = (code: number, text = ''): BoxResponse => ({ status: code, headers: {}, text });

describe('retry loops are bounded', () => {
  it('box requests: 1 attempt + 4 retries on transient faults, then the error', async () => {
    const { client, sent } = scriptedClient(() => status(502, 'Bad Gateway'));
    await expect(client.zones()).rejects.toMatchObject({ code: 'box-http', status: 502 });
    expect(sent).toHaveLength(5);
  });

  it('box requests: the total retry time is capped too', async () => {
    const { client, sent } = scriptedClient(async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return status(503);
    }, { retries: 50, maxRetryTimeMs: 200 });
    const started = Date.now();
    await expect(client.zones()).rejects.toMatchObject({ code: 'box-http' });
    expect(sent.length).toBeLessThan(10);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a 200 that is not JSON (a proxy page, a wrong URL) is a box-http error, not a crash', async () => {
    const { client } = scriptedClient(() => status(200, '<html>Welcome</html>'));
    await expect(client.zones()).rejects.toMatchObject({ code: 'box-http' });
    await expect(client.records('_acme-challenge.a.example.test', 'TXT')).rejects.toMatchObject({ code: 'box-http' });
  });

  it('a write that only ever gets 504s: at most 5 POSTs and 4 read-backs (the loops do not nest)', async () => {
    const { client, sent } = scriptedClient((method) => (method === 'GET' ? status(200, '[]') : status(504, 'Gateway Time-out')));
    await expect(client.addRecord('_acme-challenge.a.example.test', 'TXT', 'value-1')).rejects.toMatchObject({ status: 504 });
    expect(sent.filter((line) => line.startsWith('POST'))).toHaveLength(5);
    expect(sent.filter((line) => line.startsWith('GET'))).toHaveLength(4);
  });

  it('a write whose read-backs fail too: still at most 5 attempts in all', async () => {
    const { client, sent } = scriptedClient((method) => (method === 'GET' ? status(502) : status(504)));
    await expect(client.removeRecord('_acme-challenge.a.example.test', 'TXT', 'value-1')).rejects.toMatchObject({ code: 'box-http' });
    expect(sent).toEqual(['DELETE /admin/dns/custom/_acme-challenge.a.example.test/TXT', ...Array(4).fill('GET /admin/dns/custom/_acme-challenge.a.example.test/TXT')]);
  });

  it('logins: a box that rejects every session gets 2 logins per process, never more', async () => {
    const dir = await scratchDir('hardening-logins');
    try {
      let keys = 0;
      const sent: string[] = [];
      const transport: Transport = {
        async send(method, url) {
          const path = new URL(url).pathname;
          sent.push(`${method} ${path}`);
          if (path.endsWith('/login')) return status(200, JSON.stringify({ status: 'ok', api_key: `${++keys}`.padStart(64, '0'), privileges: ['admin'] }));
          return { status: 401, headers: { 'x-reason': 'Invalid email address or password.' }, text: '' };
        },
        async close() {},
      };
      const client = new BoxClient({ apiUrl: 'https://box.test/admin', transport, log: silentLogger, retry: { minTimeoutMs: 1, maxTimeoutMs: 2 } });
      const auth = new SessionAuthenticator({
        credentials: { apiUrl: 'https://box.test/admin', email: 'a@box.test', password: 'pw-1234', totpSecret: undefined },
        stateDir: dir,
        endpoint: client,
        log: silentLogger,
      });
      client.useAuthenticator(auth);
      for (let call = 0; call < 3; call++) await expect(client.zones()).rejects.toMatchObject({ code: 'auth-session-rejected' });
      expect(sent.filter((line) => line.endsWith('/login'))).toHaveLength(2);
      expect(auth.loginsSent).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the login lock: a lock held by a live process times out (lock-timeout) instead of waiting forever', async () => {
    const dir = await scratchDir('hardening-lock');
    try {
      const path = join(dir, 'held.lock');
      await writeFile(path, `${process.pid}\n`); // held by a live process: us
      const started = Date.now();
      await expect(withLock(path, async () => 'never', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'lock-timeout' });
      expect(Date.now() - started).toBeLessThan(2_000);
      // A lock left by a dead process is taken over at once.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      await writeFile(path, `${dead}\n`);
      await expect(withLock(path, async () => 'taken', { timeoutMs: 300 })).resolves.toBe('taken');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the propagation wait: MIAB_PROPAGATION_TIMEOUT ends it (exit 1), and present takes its record back', async () => {
    const env = boxEnv(emulator, 'state-2@example.test', { ...where, stateDir: join(where.dir, 'timeout-state') }, {
      MIAB_NAMESERVERS: `${loopbackAddress()}:5353`, // nothing listens there
      MIAB_PROPAGATION_TIMEOUT: '2',
    });
    const value = acmeValue('--');
    const started = Date.now();
    const result = await runCli(['present', 'timeout.example.test', value], { env });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/\[propagation-timeout\]/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(txt(emulator, '_acme-challenge.timeout.example.test')).toEqual([]);
    expect(await readdir(join(where.dir, 'timeout-state', 'journal'))).toEqual([]);
  });
});

describe('cleanup --stale and zombies', () => {
  /** A child killed with -9 whose parent (an exec'd sleep) never reaps it: state Z. */
  async function zombie(onTestFinished: (fn: () => void) => void): Promise<number> {
    const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    onTestFinished(() => void parent.kill('SIGKILL'));
    const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    const stateOf = (id: number): string => readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]?.split(' ')[0] ?? '';
    for (let attempt = 0; attempt < 100 && readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep'; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    process.kill(pid, 'SIGKILL');
    for (let attempt = 0; attempt < 100 && stateOf(pid) !== 'Z'; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stateOf(pid)).toBe('Z');
    return pid;
  }

  it('a record whose writer and owner linger as zombies is stale (listed by --dry-run)', async ({ onTestFinished }) => {
    const where = await scratch('zombie');
    onTestFinished(() => rm(where.dir, { recursive: true, force: true }));
    const writer = await zombie(onTestFinished);
    const owner = await zombie(onTestFinished);
    const entry = { apiUrl: 'https://box.example.test/admin', requestedName: '_acme-challenge.z.example.test', fqdn: '_acme-challenge.z.example.test', zone: 'example.test', value: 'zombie-value', pid: writer, ownerPid: owner, createdAt: new Date().toISOString() };
    await writePrivateFile(join(where.stateDir, 'journal', 'zombie.json'), JSON.stringify(entry));
    const result = await runCli(['cleanup', '--stale', '--dry-run'], { env: { MIAB_STATE_DIR: where.stateDir, MIAB_URL: entry.apiUrl } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('zombie-value');
  });
});

