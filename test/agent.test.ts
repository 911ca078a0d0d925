/**
 * The run agent (src/agent): certbot's hook calls of one run handed to one warm process.
 * Through the real built CLI in child processes, against the emulator (TOTP on). The owner of
 * a run is this test's worker process (a Node program that runs the hooks, as certbot is a
 * Python one), or a shell script standing for certbot where the test kills the owner.
 */
import { readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MiabEmulator } from './emulator/index.js';
import { CLI, runCli, runProgram } from './fixtures/cli.js';
import { runAgentsOf } from './fixtures/run-agents.js';
import { startTopology, type Topology } from './fixtures/topology.js';
import { acmeValue, adminUsers, logins, processTree, scratch, TEST_PASSWORD, TEST_TOTP_SECRET, txt, waitUntil, type Scratch } from './hardening/helpers.js';

/** Whether connecting to a unix socket is refused (nobody listens), as a hook's call would find it. */
function socketRefuses(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT'));
  });
}

let topology: Topology;
let emulator: MiabEmulator;
let where: Scratch;
let accounts = 0;

beforeAll(async () => {
  topology = await startTopology({ zones: ['example.test'], users: adminUsers('agent-', 20) });
  emulator = topology.emulator;
  where = await scratch('agent');
});

afterEach(async () => {
  // Agents of this worker's runs live until their owner (this worker) ends: end them here.
  for (const agent of runAgentsOf(process.pid)) process.kill(agent.pid, 'SIGTERM');
  await waitUntil(() => runAgentsOf(process.pid).length === 0, 'the agents to end');
});

afterAll(async () => {
  await topology.stop();
  await rm(where.dir, { recursive: true, force: true });
});

/** Each test its own account and state dir; nameservers are the topology's nsd pair. */
function account(): Promise<Record<string, string>> {
  const index = accounts++;
  return topology.env({ MIAB_EMAIL: `agent-${index}@example.test`, MIAB_STATE_DIR: join(where.dir, `state-${index}`) });
}

const socketDir = (): string => join(tmpdir(), `miab-dns01-${process.getuid?.() ?? 0}`);

function certbotCall(env: Record<string, string>, domain: string, value: string, remaining: number): Record<string, string> {
  return { ...env, CERTBOT_DOMAIN: domain, CERTBOT_VALIDATION: value, CERTBOT_REMAINING_CHALLENGES: String(remaining) };
}

describe('the run agent', () => {
  it("runs one run's certbot calls in one process: one login, queued calls answered before their write, the last waits for all", async () => {
    const env = await account();
    const names = ['q1.example.test', 'q2.example.test', 'q3.example.test'];
    const values = names.map(() => acmeValue());
    // The first two writes are slow: a queued call must come back while its write is still running.
    emulator.injectFaults([
      { delayMs: 1500, match: { method: 'POST', pathPrefix: '/dns/custom/_acme-challenge.q1.example.test' } },
      { delayMs: 1500, match: { method: 'POST', pathPrefix: '/dns/custom/_acme-challenge.q2.example.test' } },
    ]);
    const before = logins(emulator).length;
    const first = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, names[0] ?? '', values[0] ?? '', 2) });
    expect(first.code, first.stderr).toBe(0);
    expect(txt(emulator, '_acme-challenge.q1.example.test')).toEqual([]);
    const second = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, names[1] ?? '', values[1] ?? '', 1) });
    expect(second.code, second.stderr).toBe(0);
    expect(txt(emulator, '_acme-challenge.q2.example.test')).toEqual([]);
    const agents = runAgentsOf(process.pid);
    expect(agents).toHaveLength(1);
    const last = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, names[2] ?? '', values[2] ?? '', 0) });
    expect(last.code, last.stderr).toBe(0);
    names.forEach((name, index) => expect(txt(emulator, `_acme-challenge.${name}`)).toEqual([values[index]]));
    expect(logins(emulator).length - before).toBe(1);
    // The queued calls' lines come out with the call that waited.
    expect(last.stderr).toMatch(/2 more challenge\(s\) to come/);
    // Clean-up calls go to the same agent.
    for (const [index, name] of names.entries()) {
      const cleanup = await runCli(['hook', 'certbot-cleanup'], { env: certbotCall(env, name, values[index] ?? '', 0) });
      expect(cleanup.code, cleanup.stderr).toBe(0);
      expect(txt(emulator, `_acme-challenge.${name}`)).toEqual([]);
    }
    expect(runAgentsOf(process.pid).map((agent) => agent.pid)).toEqual(agents.map((agent) => agent.pid));
  });

  it('queues every clean-up call but the last; the last returns once every removal is done, one DELETE each', async () => {
    const env = await account();
    const names = ['u1.example.test', 'u2.example.test', 'u3.example.test'];
    const values = names.map(() => acmeValue());
    for (const [index, name] of names.entries()) {
      const auth = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, name, values[index] ?? '', names.length - 1 - index) });
      expect(auth.code, auth.stderr).toBe(0);
    }
    emulator.clearLog();
    // The first two removals are slow: a queued clean-up call must come back while its DELETE is still running.
    emulator.injectFaults([
      { delayMs: 1500, match: { method: 'DELETE', pathPrefix: '/dns/custom/_acme-challenge.u1.example.test' } },
      { delayMs: 1500, match: { method: 'DELETE', pathPrefix: '/dns/custom/_acme-challenge.u2.example.test' } },
    ]);
    // certbot gives each clean-up call its auth call's variables: the remaining count goes down to 0 again.
    for (const [index, name] of names.slice(0, 2).entries()) {
      const queued = await runCli(['hook', 'certbot-cleanup'], { env: certbotCall(env, name, values[index] ?? '', names.length - 1 - index) });
      expect(queued, queued.stderr).toMatchObject({ code: 0, stderr: '' });
    }
    expect(txt(emulator, '_acme-challenge.u2.example.test'), 'answered before its removal').toEqual([values[1]]);
    const last = await runCli(['hook', 'certbot-cleanup'], { env: certbotCall(env, names[2] ?? '', values[2] ?? '', 0) });
    expect(last.code, last.stderr).toBe(0);
    for (const name of names) expect(txt(emulator, `_acme-challenge.${name}`)).toEqual([]);
    expect(emulator.requests.filter((request) => request.method === 'DELETE').map((request) => request.body)).toEqual(values);
  });

  it('certbot killed while clean-up calls are queued: the agent finishes them and takes back the rest, one DELETE each', async () => {
    const env = await account();
    const values = [acmeValue(), acmeValue()];
    const qnames = ['_acme-challenge.kc1.example.test', '_acme-challenge.kc2.example.test'];
    const hook = (name: string): string => `'${process.execPath}' '${CLI}' hook ${name}`;
    // A certbot stand-in: both auth calls (the last waits), the first clean-up call (queued), then it stays.
    const certbot = join(where.dir, 'certbot-cleanup-standin.sh');
    await writeFile(
      certbot,
      `#!/bin/sh\nexport CERTBOT_DOMAIN=kc1.example.test CERTBOT_VALIDATION=${values[0]} CERTBOT_REMAINING_CHALLENGES=1\n${hook('certbot-auth')} || exit 1\n` +
        `CERTBOT_DOMAIN=kc2.example.test CERTBOT_VALIDATION=${values[1]} CERTBOT_REMAINING_CHALLENGES=0 ${hook('certbot-auth')} || exit 1\n` +
        `${hook('certbot-cleanup')} || exit 1\necho queued >&2\nsleep 600\n`,
      { mode: 0o700 },
    );
    emulator.clearLog();
    emulator.injectFaults([{ delayMs: 2000, match: { method: 'DELETE', pathPrefix: `/dns/custom/${qnames[0]}` } }]);
    let certbotPid = 0;
    let stderr = '';
    const running = runProgram([certbot], { env, onSpawn: (pid) => (certbotPid = pid) }).then((result) => (stderr = result.stderr));
    // The slow DELETE has arrived (its fault is taken) and is not answered yet.
    await waitUntil(() => emulator.pendingFaults().length === 0, 'the queued removal to start');
    expect(txt(emulator, qnames[0] ?? '')).toEqual([values[0]]);
    for (const pid of processTree(certbotPid)) process.kill(pid, 'SIGKILL');
    await running;
    await waitUntil(() => runAgentsOf(certbotPid).length === 0, 'the agent to end with certbot', 15_000);
    expect(stderr).not.toContain('error');
    for (const qname of qnames) expect(txt(emulator, qname)).toEqual([]);
    expect(emulator.requests.filter((request) => request.method === 'DELETE').map((request) => request.body)).toEqual(values);
  });

  it('a queued call that fails makes the last call fail with its error, and nothing more is written', async () => {
    const env = await account();
    const good = acmeValue();
    const last = acmeValue();
    expect((await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 'f1.example.test', good, 2) })).code).toBe(0);
    const bad = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 'www.not-on-this-box.test', acmeValue(), 1) });
    expect(bad.code, bad.stderr).toBe(0);
    const final = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 'f3.example.test', last, 0) });
    expect(final.code).toBe(2);
    expect(final.stderr).toMatch(/^miab-dns01 certbot-auth: error \[zone-not-found\]/m);
    expect(final.stderr).toMatch(/an earlier challenge of this certbot run failed/);
    expect(txt(emulator, '_acme-challenge.f3.example.test')).toEqual([]);
    expect(txt(emulator, '_acme-challenge.f1.example.test')).toEqual([good]);
    const cleanup = await runCli(['hook', 'certbot-cleanup'], { env: certbotCall(env, 'f1.example.test', good, 0) });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(txt(emulator, '_acme-challenge.f1.example.test')).toEqual([]);
  });

  it("belongs to certbot's run even through a wrapper script; ends with certbot and takes back what the run left, one DELETE per record", async () => {
    const env = await account();
    const values = [acmeValue(), acmeValue()];
    const qnames = ['_acme-challenge.gone.example.test', '_acme-challenge.gone2.example.test'];
    const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
    // A user's wrapper that runs the hook without exec, and a stand-in for certbot that sets
    // CERTBOT_* for its hook only (as certbot does) and stays, like certbot before its last challenge.
    const wrapper = join(where.dir, 'my-hook.sh');
    await writeFile(wrapper, `#!/bin/sh\n${quote(process.execPath)} ${quote(CLI)} hook certbot-auth\n`, { mode: 0o700 });
    const certbot = join(where.dir, 'certbot-standin.sh');
    await writeFile(
      certbot,
      '#!/bin/sh\nCERTBOT_DOMAIN="$1" CERTBOT_VALIDATION="$2" CERTBOT_REMAINING_CHALLENGES=2 sh -c "$5"\nCERTBOT_DOMAIN="$3" CERTBOT_VALIDATION="$4" CERTBOT_REMAINING_CHALLENGES=1 sh -c "$5"\nsleep 600\n',
      { mode: 0o700 },
    );
    let certbotPid = 0;
    emulator.clearLog();
    const running = runProgram([certbot, 'gone.example.test', values[0] ?? '', 'gone2.example.test', values[1] ?? '', wrapper], { env, onSpawn: (pid) => (certbotPid = pid) });
    await waitUntil(() => qnames.every((qname) => txt(emulator, qname).length === 1), 'the queued writes');
    const [agent] = runAgentsOf(certbotPid);
    expect(agent).toBeDefined();
    expect(statSync(agent?.socket ?? '').isSocket()).toBe(true);
    // The wrapper is long gone (the hook returned when its call was queued): had the run been
    // the wrapper's, the agent would have taken the record back within a quarter second.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    qnames.forEach((qname, index) => expect(txt(emulator, qname)).toEqual([values[index]]));
    // certbot killed: the stand-in and its sleep (the agent is no child of theirs: it was started detached).
    for (const pid of processTree(certbotPid)) process.kill(pid, 'SIGKILL');
    await running;
    await waitUntil(() => runAgentsOf(certbotPid).length === 0, 'the agent to end with certbot', 10_000);
    for (const qname of qnames) expect(txt(emulator, qname)).toEqual([]);
    // Taken back once: one DELETE per record (the agent's end ran twice, each removing the run's records).
    expect(emulator.requests.filter((request) => request.method === 'DELETE').map((request) => request.body).sort()).toEqual([...values].sort());
    expect(() => statSync(agent?.socket ?? '')).toThrow(/ENOENT/);
  });

  it('a run whose agent died goes on with a new one, and says what may be missing', async () => {
    const env = await account();
    const value = acmeValue();
    expect((await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 'k1.example.test', value, 1) })).code).toBe(0);
    await waitUntil(() => txt(emulator, '_acme-challenge.k1.example.test').length === 1, 'the queued write');
    const [dead] = runAgentsOf(process.pid);
    process.kill(dead?.pid ?? 0, 'SIGKILL');
    await waitUntil(() => runAgentsOf(process.pid).length === 0, 'the killed agent to go');
    // A dying process leaves /proc's command lines before its sockets close (the kernel drops its
    // memory first): until its socket refuses, a call could still be accepted by the dying agent.
    await waitUntil(() => socketRefuses(dead?.socket ?? ''), 'the killed agent\'s socket to refuse');
    const later = acmeValue();
    const next = await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 'k2.example.test', later, 0) });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/this run's agent process had stopped/);
    expect(txt(emulator, '_acme-challenge.k2.example.test')).toEqual([later]);
    const [replacement] = runAgentsOf(process.pid);
    expect(replacement?.pid).not.toBe(dead?.pid);
    for (const [name, v] of [['k1.example.test', value], ['k2.example.test', later]] as const) {
      expect((await runCli(['hook', 'certbot-cleanup'], { env: certbotCall(env, name, v, 0) })).code).toBe(0);
    }
  });

  it('on SIGTERM it takes back the records of its run', async () => {
    const env = await account();
    const value = acmeValue();
    expect((await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 't1.example.test', value, 1) })).code).toBe(0);
    await waitUntil(() => txt(emulator, '_acme-challenge.t1.example.test').length === 1, 'the queued write');
    emulator.clearLog();
    for (const agent of runAgentsOf(process.pid)) process.kill(agent.pid, 'SIGTERM');
    await waitUntil(() => runAgentsOf(process.pid).length === 0, 'the agent to end');
    expect(txt(emulator, '_acme-challenge.t1.example.test')).toEqual([]);
    expect(emulator.requests.filter((request) => request.method === 'DELETE').map((request) => request.body)).toEqual([value]);
  });

  it('a different configuration reaches a different agent; MIAB_DNS01_AGENT=0 runs the call in the hook process', async () => {
    const one = await account();
    const two = await account();
    const values = [acmeValue(), acmeValue()];
    expect((await runCli(['hook', 'certbot-auth'], { env: certbotCall(one, 'c1.example.test', values[0] ?? '', 0) })).code).toBe(0);
    expect((await runCli(['hook', 'certbot-auth'], { env: certbotCall(two, 'c2.example.test', values[1] ?? '', 0) })).code).toBe(0);
    expect(runAgentsOf(process.pid)).toHaveLength(2);
    for (const agent of runAgentsOf(process.pid)) process.kill(agent.pid, 'SIGTERM');
    await waitUntil(() => runAgentsOf(process.pid).length === 0, 'the agents to end');
    const off = certbotCall(await account(), 'off.example.test', acmeValue(), 0);
    const direct = await runCli(['hook', 'certbot-auth'], { env: { ...off, MIAB_DNS01_AGENT: '0' } });
    expect(direct.code, direct.stderr).toBe(0);
    expect(runAgentsOf(process.pid)).toHaveLength(0);
    expect((await runCli(['hook', 'certbot-cleanup'], { env: { ...off, MIAB_DNS01_AGENT: '0' } })).code).toBe(0);
  });

  it('keeps its socket in a private directory, and no secret in its command line', async () => {
    const env = await account();
    const value = acmeValue();
    expect((await runCli(['hook', 'certbot-auth'], { env: certbotCall(env, 's1.example.test', value, 1) })).code).toBe(0);
    const [agent] = runAgentsOf(process.pid);
    expect(agent?.socket.startsWith(`${socketDir()}/`)).toBe(true);
    expect(statSync(socketDir()).mode & 0o777).toBe(0o700);
    const cmdline = readFileSync(`/proc/${agent?.pid}/cmdline`, 'utf8');
    for (const secret of [TEST_PASSWORD, TEST_TOTP_SECRET, value]) expect(cmdline).not.toContain(secret);
    expect((await runCli(['hook', 'certbot-cleanup'], { env: certbotCall(env, 's1.example.test', value, 0) })).code).toBe(0);
  });
});
