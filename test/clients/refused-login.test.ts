/**
 * A wrong password must never get the client's address banned: the box's fail2ban bans after
 * 20 failed logins in 30 s, and every hook call is its own process. With 20 names, the first
 * process's refusal is remembered in the state dir and every later hook call fails at once with
 * the same error, without a request. Real lego (exec) and real certbot without the agent
 * (MIAB_DNS01_AGENT=0), and with it: at most two failed logins reach the box per run.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCertbot, runLego, type ClientRun } from '../fixtures/acme-clients.js';
import { challengeRecords, failureDump, hookArgv, HOOKS, startClientSuite, UNRELATED, type ClientSuite, type RunContext } from './harness.js';

let suite: ClientSuite;

beforeAll(async () => {
  suite = await startClientSuite({ name: 'refused-login', runs: 3 });
});

afterAll(async () => {
  await suite?.stop();
});

const NAMES = Array.from({ length: 20 }, (_, index) => `n${index + 1}.example.test`);

async function withWrongPassword(context: RunContext): Promise<Record<string, string>> {
  const file = join(context.workDir, 'wrong-password');
  await writeFile(file, 'not-the-password-0815\n', { mode: 0o600 });
  return { ...context.env, MIAB_PASSWORD_FILE: file };
}

async function expectAtMostTwoFailedLogins(context: RunContext, hookCalls: number): Promise<void> {
  const { emulator } = suite.topology;
  // Many hook processes ran, and not one name was written...
  expect((await hookArgv(context)).length).toBeGreaterThanOrEqual(hookCalls);
  expect(challengeRecords(emulator)).toEqual([UNRELATED]);
  // ...yet the box saw at most two failed logins (the first process's: one, plus one with
  // another TOTP code), far below fail2ban's 20.
  expect(emulator.failedLogins).toBeLessThanOrEqual(2);
  expect(emulator.requests.filter((request) => request.path.endsWith('/login')).length).toBeLessThanOrEqual(2);
  expect(await readdir(join(context.stateDir, 'refused-logins'))).toHaveLength(1);
}

describe('a refused password with 20 names', () => {
  it('lego --dns exec: at most two failed logins at the box', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { pebble, primaryAddress, dnsPort, emulator } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun('lego');
    const failedBefore = emulator.failedLogins;
    run = await runLego({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      execPath: join(HOOKS, 'lego-exec'),
      resolvers: [`${primaryAddress}:${dnsPort}`],
      env: await withWrongPassword(context),
      workDir: context.workDir,
      timeoutMs: 240_000,
    });
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).not.toBe(0);
    expect(failedBefore).toBe(0);
    await expectAtMostTwoFailedLogins(context, 20);
    // lego shows the hook's output: the clear error, the same for every name.
    expect(`${run.stdout}${run.stderr}`).toMatch(/refused the login/);
  });

  it.for([
    { agent: '0', label: 'without the agent (MIAB_DNS01_AGENT=0)' },
    { agent: '1', label: 'with the agent' },
  ])('certbot $label: at most two failed logins at the box', async ({ agent }, { onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { pebble, emulator } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun(`certbot-agent-${agent}`);
    const failedBefore = emulator.failedLogins;
    run = await runCertbot({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      authHook: join(HOOKS, 'certbot-auth'),
      cleanupHook: join(HOOKS, 'certbot-cleanup'),
      env: { ...(await withWrongPassword(context)), MIAB_DNS01_AGENT: agent },
      workDir: context.workDir,
      timeoutMs: 240_000,
    });
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).not.toBe(0);
    expect(emulator.failedLogins - failedBefore).toBeLessThanOrEqual(2);
    await expectAtMostTwoFailedLogins(context, 1);
  });
});
