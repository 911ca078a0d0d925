/**
 * Interrupted runs. The propagation wait is made endless on purpose (MIAB_NAMESERVERS lists,
 * besides the real primary, a loopback "black hole" that takes queries and never answers; its
 * first query shows the wait has begun), then:
 * - `kill -9` leaves a journaled record; `cleanup --stale` removes it, and only it: an entry
 *   whose owner (the ACME client) is alive stays, `--dry-run` changes nothing, and
 *   `--older-than` sweeps old entries whatever their owners;
 * - SIGTERM, SIGINT and SIGHUP remove the record before the process exits with 128+N;
 * - a `present` typed in a shell that stays open has no owner: once it is killed (or its
 *   removal failed on SIGTERM), `cleanup --stale` takes its record.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../emulator/index.js';
import { isProcessAlive } from '../../src/state/processes.js';
import { CLI, REPO, runCli, runProgram, type CliResult } from '../fixtures/cli.js';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { acmeValue, adminUsers, blackHole, boxEnv, childrenOf, dnsWrites, expectNoDangerousRequests, logins, ownerScript, processTree, scratch, txt, waitUntil, type BlackHole } from './helpers.js';

const UNRELATED = 'pre-existing-unrelated-value';
const NAMES = ['crash', 'term', 'int', 'hup'].map((label) => `${label}.example.test`);

let topology: Topology;

beforeAll(async () => {
  topology = await startTopology({
    lagMs: 500,
    users: adminUsers('interrupt-', 6),
    records: NAMES.map((name) => ({ qname: `_acme-challenge.${name}`, rtype: 'TXT', value: UNRELATED })),
  });
});

afterAll(async () => {
  await topology?.stop();
});

/** Environment whose propagation wait cannot end: one listed nameserver never answers. */
async function longWaitEnv(user: number, hole: BlackHole): Promise<Record<string, string>> {
  const { primaryAddress, dnsPort } = topology;
  return topology.env({
    MIAB_EMAIL: `interrupt-${user}@example.test`,
    MIAB_STATE_DIR: join(topology.dir, `interrupt-state-${user}`),
    MIAB_NAMESERVERS: `${primaryAddress}:${dnsPort},${hole.server}`,
    MIAB_PROPAGATION_TIMEOUT: '120',
  });
}

async function journal(env: Record<string, string>): Promise<string[]> {
  return readdir(join(env.MIAB_STATE_DIR ?? '', 'journal')).catch(() => []);
}

function killTree(pid: number): void {
  for (const member of processTree(pid).reverse()) {
    try {
      process.kill(member, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('kill -9 during the wait, then cleanup --stale', () => {
  it('sweeps the record of a dead writer whose owner is gone, keeps one whose owner lives, --dry-run changes nothing, --older-than sweeps it', async () => {
    const { emulator } = topology;
    const holes = [await blackHole(), await blackHole()];
    const env = await longWaitEnv(0, holes[0] as BlackHole);
    const heldEnv = { ...(await longWaitEnv(0, holes[1] as BlackHole)), HOLD: '1' };
    const qname = '_acme-challenge.crash.example.test';
    const owner = await ownerScript(topology.dir);
    const orphaned = acmeValue('-');
    const owned = acmeValue('--');
    emulator.clearLog();

    // Two "ACME clients" (shell scripts) each run a present; the second client stays alive.
    const ownerPids: number[] = [];
    const runs: Promise<CliResult>[] = [
      runProgram([owner, process.execPath, CLI, 'present', 'crash.example.test', orphaned], { env, onSpawn: (pid) => ownerPids.push(pid) }),
      runProgram([owner, process.execPath, CLI, 'present', 'crash.example.test', owned], { env: heldEnv, onSpawn: (pid) => ownerPids.push(pid) }),
    ];
    try {
      // Both presents are in their endless propagation wait once each black hole hears from them.
      await waitUntil(() => holes.every((hole) => hole.queries > 0), 'both presents in their wait');
      expect(txt(emulator, qname)).toHaveLength(3);
      expect(await journal(env)).toHaveLength(2);
      // Each entry names its writer and, as owner, the "ACME client" script that ran it.
      const entries = await Promise.all((await journal(env)).map(async (file) => JSON.parse(await readFile(join(env.MIAB_STATE_DIR ?? '', 'journal', file), 'utf8')) as { value: string; pid: number; ownerPid: number }));
      expect(entries.map((entry) => [entry.value, entry.ownerPid]).sort()).toEqual([[orphaned, ownerPids[0]], [owned, ownerPids[1]]].sort());
      for (const entry of entries) expect(childrenOf(entry.ownerPid)).toContain(entry.pid);
      // kill -9 the miab-dns01 processes (not their owners).
      for (const ownerPid of ownerPids) {
        const [writer] = childrenOf(ownerPid);
        expect(writer, 'the present process under its owner').toBeDefined();
        process.kill(writer as number, 'SIGKILL');
      }
      const first = await runs[0];
      expect(first?.code).toBe(137); // the first owner exits with its child's status
      expect(first?.stderr).toMatch(/checking that 2 nameservers serve 1 TXT record/); // killed in the wait
      expect(txt(emulator, qname).sort()).toEqual([UNRELATED, orphaned, owned].sort());
      expect(await journal(env)).toHaveLength(2);
      emulator.clearLog();

      // --dry-run lists the one stale entry (name, value, age) and changes nothing.
      const entriesBefore = await journal(env);
      const dryRun = await runCli(['cleanup', '--stale', '--dry-run'], { env });
      expect(dryRun.code, dryRun.stderr).toBe(0);
      expect(dryRun.stdout).toMatch(new RegExp(`^${qname.replace(/\./g, '\\.')}\\t${orphaned}\\t\\d+s\\t`, 'm'));
      expect(dryRun.stdout).not.toContain(owned);
      expect(await journal(env)).toEqual(entriesBefore);
      expect(emulator.requests).toEqual([]);
      expect(txt(emulator, qname)).toHaveLength(3);

      // The real sweep: only the record whose writer and owner are both gone.
      const sweep = await runCli(['cleanup', '--stale'], { env });
      expect(sweep.code, sweep.stderr).toBe(0);
      expect(sweep.stdout).toContain(`removed ${qname}\t${orphaned}`);
      expect(sweep.stdout).not.toContain(owned);
      expect(txt(emulator, qname).sort()).toEqual([UNRELATED, owned].sort());
      expect(dnsWrites(emulator).map((request) => `${request.method} ${request.body}`)).toEqual([`DELETE ${orphaned}`]);
      expect(await journal(env)).toHaveLength(1);

      // Nothing more to sweep while the owner lives.
      emulator.clearLog();
      const again = await runCli(['cleanup', '--stale'], { env });
      expect(again).toMatchObject({ code: 0, stdout: '' });
      expect(again.stderr).toContain('no stale records');
      expect(dnsWrites(emulator)).toEqual([]);

      // --older-than sweeps old entries whatever their owners.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const old = await runCli(['cleanup', '--stale', '--older-than', '1s'], { env });
      expect(old.code, old.stderr).toBe(0);
      expect(old.stdout).toContain(`removed ${qname}\t${owned}`);
      expect(txt(emulator, qname)).toEqual([UNRELATED]);
      expect(await journal(env)).toEqual([]);
      expect(dnsWrites(emulator).map((request) => `${request.method} ${request.body}`)).toEqual([`DELETE ${owned}`]);

      // Other names were never touched, and the whole story cost one login.
      for (const name of NAMES.slice(1)) expect(txt(emulator, `_acme-challenge.${name}`)).toEqual([UNRELATED]);
      expect(logins(emulator)).toHaveLength(0);
      expectNoDangerousRequests(emulator);
    } finally {
      for (const pid of ownerPids) killTree(pid);
      await Promise.all(runs);
      await Promise.all(holes.map((hole) => hole.close()));
    }
  });
});

describe.concurrent('a signal during a wait removes the record, then exits 128+N', () => {
  it.for([
    ['SIGTERM', 1, 143],
    ['SIGINT', 2, 130],
    ['SIGHUP', 3, 129],
  ] as const)('%s', async ([signal, user, status]) => {
    const { emulator } = topology;
    const hole = await blackHole();
    const env = await longWaitEnv(user, hole);
    const name = NAMES[user] ?? '';
    const qname = `_acme-challenge.${name}`;
    const value = acmeValue('-');
    let pid = 0;
    const run = runCli(['present', name, value], { env, onSpawn: (spawned) => (pid = spawned) });
    try {
      await waitUntil(() => hole.queries > 0, 'the present in its wait');
      expect(txt(emulator, qname)).toContain(value);
      expect(await journal(env)).toHaveLength(1);
      process.kill(pid, signal);
      const result = await run;
      expect(result.signal).toBeNull();
      expect(result.code, result.stderr).toBe(status);
      expect(result.stderr).toMatch(/checking that 2 nameservers serve 1 TXT record[^]*error \[interrupted\]/);
      expect(result.stderr).toContain(`error [interrupted]: stopped by ${signal}; removed the record this run had written`);
      expect(result.stderr).toContain(`removed TXT ${qname}`);
      expect(txt(emulator, qname)).toEqual([UNRELATED]);
      expect(await journal(env)).toEqual([]);
    } finally {
      if (pid > 0) killTree(pid);
      await run;
      await hole.close();
    }
  });

});

/** A shell reading commands from its stdin, as a terminal's shell does: it stays open after each command. */
function openShell(env: Record<string, string>): { readonly pid: number; run(argv: readonly string[]): void; close(): Promise<string> } {
  const child = spawn('sh', [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', TMPDIR: tmpdir(), ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<string>((resolve) => child.once('close', () => resolve(stderr)));
  return {
    pid: child.pid ?? 0,
    run: (argv) => child.stdin.write(`${argv.map((arg) => `'${arg}'`).join(' ')}\n`),
    close: async () => {
      child.stdin.end();
      return closed;
    },
  };
}

describe('a present typed in a shell that stays open', () => {
  it('kill -9 of the present: its record has no owner, and cleanup --stale removes it while the shell is open', async () => {
    const { emulator } = topology;
    const hole = await blackHole();
    const env = await longWaitEnv(4, hole);
    const qname = '_acme-challenge.typed.example.test';
    const value = acmeValue();
    const shell = openShell(env);
    try {
      shell.run([process.execPath, CLI, 'present', 'typed.example.test', value]);
      await waitUntil(() => hole.queries > 0, 'the present in its wait');
      const [writer] = childrenOf(shell.pid);
      expect(writer, 'the present process under the shell').toBeDefined();
      const [file = ''] = await journal(env);
      const entry = JSON.parse(await readFile(join(env.MIAB_STATE_DIR ?? '', 'journal', file), 'utf8')) as { pid: number; ownerPid?: number };
      expect(entry.pid).toBe(writer);
      expect(entry.ownerPid, 'a shell a person types in is no ACME run').toBeUndefined();
      process.kill(writer as number, 'SIGKILL');
      await waitUntil(() => !isProcessAlive(writer as number), 'the present to die');
      expect(txt(emulator, qname)).toEqual([value]);

      const sweep = await runCli(['cleanup', '--stale'], { env });
      expect(sweep.code, sweep.stderr).toBe(0);
      expect(sweep.stdout).toContain(`removed ${qname}\t${value}`);
      expect(isProcessAlive(shell.pid), 'the shell is still open').toBe(true);
      expect(txt(emulator, qname)).toEqual([]);
      expect(await journal(env)).toEqual([]);
    } finally {
      for (const pid of childrenOf(shell.pid)) killTree(pid);
      await shell.close();
      await hole.close();
    }
  });

  it('SIGTERM whose DELETE fails: the record stays in the journal, says so, and cleanup --stale removes it while the shell is open', async () => {
    const { emulator } = topology;
    const hole = await blackHole();
    const env = await longWaitEnv(5, hole);
    const qname = '_acme-challenge.abandoned.example.test';
    const value = acmeValue();
    const shell = openShell(env);
    try {
      shell.run([process.execPath, CLI, 'present', 'abandoned.example.test', value]);
      await waitUntil(() => hole.queries > 0, 'the present in its wait');
      const [writer] = childrenOf(shell.pid);
      expect(writer, 'the present process under the shell').toBeDefined();
      emulator.injectFaults([{ status: 500, match: { method: 'DELETE', pathPrefix: `/dns/custom/${qname}` } }]);
      process.kill(writer as number, 'SIGTERM');
      await waitUntil(() => !isProcessAlive(writer as number), 'the present to end');
      expect(emulator.pendingFaults(), 'the DELETE was sent and failed').toEqual([]);
      expect(txt(emulator, qname)).toEqual([value]);
      expect(await journal(env)).toHaveLength(1);

      const sweep = await runCli(['cleanup', '--stale'], { env });
      expect(sweep.code, sweep.stderr).toBe(0);
      expect(sweep.stdout).toContain(`removed ${qname}\t${value}`);
      expect(isProcessAlive(shell.pid), 'the shell is still open').toBe(true);
      expect(txt(emulator, qname)).toEqual([]);
      expect(await journal(env)).toEqual([]);
      const said = await shell.close();
      expect(said).toContain(`could not remove TXT ${qname}`);
      // The last word says what happened, not what was hoped for when the signal came.
      expect(said).toMatch(/error \[interrupted\]: stopped by SIGTERM; removed none of the 1 record\(s\) this run had written; left on the host and in the journal: TXT _acme-challenge\.abandoned\.example\.test /);
      expect(said).not.toContain('removed the record');
    } finally {
      for (const pid of childrenOf(shell.pid)) killTree(pid);
      await shell.close();
      await hole.close();
    }
  });

  it("a live certbot run's record stays (its auth hook is gone), and goes once certbot has died", async () => {
    const { emulator } = topology;
    const hole = await blackHole();
    const env: Record<string, string> = { ...(await longWaitEnv(4, hole)), MIAB_DNS01_AGENT: '0', MIAB_DNS01_NODE: process.execPath };
    const qname = '_acme-challenge.certbot-run.example.test';
    const value = acmeValue();
    // certbot stand-in: runs its auth hook for the first of two challenges, then stays (as certbot does before the next one).
    const standIn = join(topology.dir, 'certbot-stand-in.mjs');
    await writeFile(
      standIn,
      `import { spawnSync } from 'node:child_process';\n` +
        `const hook = spawnSync('sh', ['-c', ${JSON.stringify(`${REPO}hooks/certbot-auth`)}], { stdio: 'inherit', env: { ...process.env, CERTBOT_DOMAIN: 'certbot-run.example.test', CERTBOT_VALIDATION: ${JSON.stringify(value)}, CERTBOT_REMAINING_CHALLENGES: '1' } });\n` +
        `process.stderr.write('hook status ' + hook.status + '\\n');\nsetTimeout(() => undefined, 600_000);\n`,
    );
    const shell = openShell(env);
    try {
      shell.run([process.execPath, standIn]);
      await waitUntil(() => txt(emulator, qname).length === 1 && childrenOf(shell.pid).length === 1 && childrenOf(childrenOf(shell.pid)[0] as number).length === 0, 'the auth hook to write and end');
      const [certbot] = childrenOf(shell.pid);
      const [file = ''] = await journal(env);
      const entry = JSON.parse(await readFile(join(env.MIAB_STATE_DIR ?? '', 'journal', file), 'utf8')) as { pid: number; ownerPid?: number };
      expect(entry.ownerPid, "certbot's run owns the record").toBe(certbot);
      expect(isProcessAlive(entry.pid), 'the writer is gone').toBe(false);

      const kept = await runCli(['cleanup', '--stale'], { env });
      expect(kept).toMatchObject({ code: 0, stdout: '' });
      expect(kept.stderr).toContain('no stale records');
      expect(txt(emulator, qname)).toEqual([value]);

      process.kill(certbot as number, 'SIGKILL');
      await waitUntil(() => !isProcessAlive(certbot as number), 'certbot to die');
      const sweep = await runCli(['cleanup', '--stale'], { env });
      expect(sweep.code, sweep.stderr).toBe(0);
      expect(sweep.stdout).toContain(`removed ${qname}\t${value}`);
      expect(txt(emulator, qname)).toEqual([]);
    } finally {
      for (const pid of childrenOf(shell.pid)) killTree(pid);
      await shell.close();
      await hole.close();
    }
  });
});

describe('a state dir that cannot be made', () => {
  it.for([['under procfs', '/proc/miab-state'], ['under a regular file', 'regular-file/state']] as const)('%s: check and present end at once in config-invalid naming it, with no request', async ([, path]) => {
    const { emulator } = topology;
    const file = join(topology.dir, 'regular-file');
    await writeFile(file, 'not a directory\n');
    const stateDir = path.startsWith('/') ? path : join(topology.dir, path);
    const env = await topology.env({ MIAB_EMAIL: 'interrupt-4@example.test', MIAB_STATE_DIR: stateDir });
    emulator.clearLog();
    for (const args of [['check'], ['present', 'statedir.example.test', acmeValue()]]) {
      // Node's recursive mkdir spun for ever there: the run's own timeout would SIGKILL it (code null).
      const result = await runCli(args, { env, timeoutMs: 20_000 });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('error [config-invalid]: cannot create the directory');
      expect(result.stderr).toContain(stateDir);
    }
    expect(emulator.requests).toEqual([]);
  });
});

describe('an exception from a lower layer after the write', () => {
  it('present with an unreachable nameserver address (no IPv6 route): whatever is thrown, the record is removed', async ({ onTestFinished }) => {
    const emulator = await startEmulator({ zones: ['example.test'], users: adminUsers('lower-layer-', 1) });
    const where = await scratch('lower-layer');
    onTestFinished(async () => {
      await emulator.stop();
      await rm(where.dir, { recursive: true, force: true });
    });
    // The test namespace has no route off loopback: sending to this address fails at once
    // (ENETUNREACH), as on a host without IPv6 whose box publishes AAAA for its nameservers.
    const env = boxEnv(emulator, 'lower-layer-0@example.test', where, { MIAB_NAMESERVERS: '[2001:db8::53]:53', MIAB_PROPAGATION_TIMEOUT: '3' });
    const qname = '_acme-challenge.lower.example.test';
    const value = acmeValue('-');
    const result = await runCli(['present', 'lower.example.test', value], { env });
    expect(result.code, result.stderr).toBe(1);
    expect(dnsWrites(emulator).map((request) => request.method)).toEqual(['POST', 'DELETE']);
    expect(result.stderr).toContain(`removed TXT ${qname}`);
    expect(txt(emulator, qname)).toEqual([]);
    expect(await readdir(join(where.stateDir, 'journal')).catch(() => [])).toEqual([]);
  });
});

