/**
 * dehydrated 0.7 (Debian) with HOOK=hooks/dehydrated-hook and CHALLENGETYPE=dns-01, issuing a
 * real certificate from Pebble for an apex, its wildcard and a name in the second zone, with
 * HOOK_CHAIN=no (one deploy_challenge call per challenge, all deployed before any is
 * answered) and HOOK_CHAIN=yes (one call carrying every challenge: one wait for all).
 * Pebble validates through the secondary that lags 1 s. dehydrated also calls the hook for
 * startup_hook, generate_csr, deploy_cert, exit_hook and an unknown-handler probe: those must
 * exit 0 without touching the box.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, runDehydrated, type ClientRun } from '../fixtures/acme-clients.js';
import {
  expectBoxClean,
  expectNoSecretLeak,
  expectOnlyExactWrites,
  failureDump,
  hookArgv,
  HOOKS,
  loginCount,
  NAMES,
  startClientSuite,
  writtenValues,
  watchJournal,
  type ClientSuite,
} from './harness.js';

let suite: ClientSuite;

beforeAll(async () => {
  suite = await startClientSuite({ name: 'dehydrated', runs: 2 });
});

afterAll(async () => {
  await suite?.stop();
});

describe.each([
  { chain: 'no', hookChain: false, deployCalls: 3 },
  { chain: 'yes', hookChain: true, deployCalls: 1 },
])('dehydrated with HOOK_CHAIN=$chain', ({ chain, hookChain, deployCalls }) => {
  it('issues apex + wildcard + second-zone certificate', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun(`dehydrated-chain-${chain}`);
    const journal = watchJournal(context.stateDir);
    run = await runDehydrated({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      hook: join(HOOKS, 'dehydrated-hook'),
      hookChain,
      // The account key is RSA KEYSIZE bits (default 4096: seconds of key generation per run).
      config: { KEYSIZE: '2048' },
      env: context.env,
      workDir: context.workDir,
    });
    const sightings = await journal.stop();

    expect(run.commands.map((command) => command.exitCode)).toEqual([0, 0]);
    expect(run.timedOut).toBe(false);
    expect(run.certPath).toBeDefined();
    expect((await certificateNames(run.certPath ?? '')).sort()).toEqual([...NAMES].sort());
    await pebble.verifyIssued(await readFile(run.fullchainPath ?? '', 'utf8'));

    const argv = await hookArgv(context);
    const deploys = argv.filter((line) => line.includes(' hook dehydrated-hook deploy_challenge '));
    const cleans = argv.filter((line) => line.includes(' hook dehydrated-hook clean_challenge '));
    expect(deploys).toHaveLength(deployCalls);
    expect(cleans).toHaveLength(deployCalls);
    // HOOK_CHAIN=yes: one call carries all three <domain> <token_file> <value> triples; no: one each.
    // `node --liftoff-only <main.js> hook dehydrated-hook <handler>` + the triples.
    for (const line of [...deploys, ...cleans]) {
      expect(line).toMatch(/^node --liftoff-only \S+ hook dehydrated-hook /);
      expect(line.split(' ').length).toBe(6 + 3 * (3 / deployCalls));
    }
    // The other handlers were called too, and answered without a login or a write.
    expect(argv.some((line) => line.includes(' hook dehydrated-hook deploy_cert '))).toBe(true);
    expect(argv.some((line) => line.includes(' hook dehydrated-hook this_hookscript_is_broken__'))).toBe(true);

    const written = writtenValues(emulator);
    expect(written).toHaveLength(3);
    expect(written.filter(({ path }) => path.endsWith('/_acme-challenge.a.example.test/TXT'))).toHaveLength(2);
    expect(emulator.requests.filter((request) => request.method === 'DELETE')).toHaveLength(3);
    // Every record belonged to the client process itself while it ran.
    expect(sightings.map(({ value }) => value).sort()).toEqual(written.map(({ value }) => value).sort());
    for (const sighting of sightings) expect(sighting.ownerPid).toBe(run.pid);

    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
    expect(loginCount(emulator)).toBe(1);
    await expectNoSecretLeak(context, run.commands);
  });
});
