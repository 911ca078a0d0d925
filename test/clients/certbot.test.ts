/**
 * certbot 2.1 (Debian) with hooks/certbot-auth and hooks/certbot-cleanup, issuing a real
 * certificate from Pebble for an apex, its wildcard (two values at one name, live together)
 * and a name in the second zone. Pebble validates through the secondary that lags 1 s, so an
 * auth hook returning before every nameserver serves every value fails the order.
 * The hooks are also run through symlinks in another directory, and as
 * copies found through MIAB_DNS01_HOME.
 */
import { copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, runCertbot, type ClientRun } from '../fixtures/acme-clients.js';
import { REPO, runProgram } from '../fixtures/cli.js';
import {
  challengeRecords,
  expectBoxClean,
  expectNoSecretLeak,
  expectOnlyExactWrites,
  failureDump,
  filesUnder,
  hookArgv,
  HOOKS,
  loginCount,
  NAMES,
  startClientSuite,
  UNRELATED,
  writtenValues,
  watchJournal,
  type ClientSuite,
} from './harness.js';

let suite: ClientSuite;

beforeAll(async () => {
  suite = await startClientSuite({ name: 'certbot', runs: 4 });
});

afterAll(async () => {
  await suite?.stop();
});

async function issueWithCertbot(
  label: string,
  hooks: { auth: string; cleanup: string },
  extraEnv: Record<string, string>,
  setRun: (run: ClientRun) => void,
): Promise<void> {
  const { emulator, pebble } = suite.topology;
  if (!pebble) throw new Error('no Pebble');
  const context = await suite.newRun(label);
  const journal = watchJournal(context.stateDir);
  const run = await runCertbot({
    directoryUrl: pebble.directoryUrl,
    caFile: pebble.caFile,
    domains: NAMES,
    authHook: hooks.auth,
    cleanupHook: hooks.cleanup,
    env: { ...context.env, ...extraEnv },
    workDir: context.workDir,
  });
  setRun(run);
  const sightings = await journal.stop();

  expect(run.timedOut).toBe(false);
  expect(run.exitCode).toBe(0);
  expect(run.certPath).toBeDefined();
  expect((await certificateNames(run.certPath ?? '')).sort()).toEqual([...NAMES].sort());
  await pebble.verifyIssued(await readFile(run.fullchainPath ?? '', 'utf8'));

  // Three auth calls, three cleanup calls, each through our CLI.
  const argv = await hookArgv(context);
  expect(argv.filter((line) => line.endsWith('hook certbot-auth'))).toHaveLength(3);
  expect(argv.filter((line) => line.endsWith('hook certbot-cleanup'))).toHaveLength(3);
  // Three values written (two at the apex's challenge name), each removed again.
  const written = writtenValues(emulator);
  expect(written).toHaveLength(3);
  expect(written.filter(({ path }) => path.endsWith('/_acme-challenge.a.example.test/TXT'))).toHaveLength(2);
  expect(emulator.requests.filter((request) => request.method === 'DELETE')).toHaveLength(3);
  // Every record belonged to certbot itself while it ran (the last auth call waits for all
  // records of its owner, and `cleanup --stale` spares them).
  expect(sightings.map(({ value }) => value).sort()).toEqual(written.map(({ value }) => value).sort());
  for (const sighting of sightings) expect(sighting.ownerPid).toBe(run.pid);

  await expectBoxClean(emulator, context.stateDir);
  expectOnlyExactWrites(emulator);
  expect(loginCount(emulator)).toBe(1);
  // certbot.log(s) are under workDir/logs: scanned with every other file there.
  const logs = await filesUnder(join(context.workDir, 'logs'));
  expect(logs.length).toBeGreaterThan(0);
  expect(logs.some((file) => file.text.includes('hook certbot-auth') || file.text.includes('miab-dns01 certbot-auth'))).toBe(true);
  await expectNoSecretLeak(context, run.commands);
}

/** Copies of both hooks in `<root>/<name>/bin`, far from the package. */
async function copyHooks(name: string): Promise<string> {
  const dir = join(suite.root, name, 'bin');
  await mkdir(dir, { recursive: true });
  for (const hook of ['certbot-auth', 'certbot-cleanup']) await copyFile(join(HOOKS, hook), join(dir, hook));
  return dir;
}

describe('certbot --manual with the miab-dns01 hooks', () => {
  it('issues apex + wildcard + second-zone certificate with hooks/ in place', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    await issueWithCertbot('direct', { auth: join(HOOKS, 'certbot-auth'), cleanup: join(HOOKS, 'certbot-cleanup') }, {}, (r) => (run = r));
  });

  it('works through symlinks to the hooks in another directory', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    // No space in this path: certbot 2.1 checks a hook by its first whitespace-separated word,
    // ignoring shell quotes, and refuses '/dir with space/hook' before running anything.
    const dir = join(suite.root, 'linked-hooks');
    await mkdir(dir);
    await symlink(join(HOOKS, 'certbot-auth'), join(dir, 'certbot-auth'));
    await symlink(join(HOOKS, 'certbot-cleanup'), join(dir, 'certbot-cleanup'));
    await issueWithCertbot('symlink', { auth: join(dir, 'certbot-auth'), cleanup: join(dir, 'certbot-cleanup') }, {}, (r) => (run = r));
  });

  it('works through copies of the hooks that find the tool through MIAB_DNS01_HOME', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const dir = await copyHooks('copied');
    await issueWithCertbot(
      'copy',
      { auth: join(dir, 'certbot-auth'), cleanup: join(dir, 'certbot-cleanup') },
      { MIAB_DNS01_HOME: REPO.replace(/\/$/, '') },
      (r) => (run = r),
    );
  });

  it('a copy without MIAB_DNS01_HOME (and no miab-dns01 on PATH) says how to fix it, writing nothing', async () => {
    const dir = await copyHooks('copied-unconfigured');
    const { emulator } = suite.topology;
    const context = await suite.newRun('copy-unconfigured');
    const result = await runProgram([join(dir, 'certbot-auth')], {
      env: { ...context.env, CERTBOT_DOMAIN: 'a.example.test', CERTBOT_VALIDATION: 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', CERTBOT_REMAINING_CHALLENGES: '0' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot find miab-dns01.*MIAB_DNS01_HOME/);
    expect(emulator.requests).toEqual([]);
    expect(challengeRecords(emulator)).toEqual([UNRELATED]);
  });
});
