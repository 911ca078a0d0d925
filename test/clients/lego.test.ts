/**
 * lego 4.9 (Debian) `--dns exec` with EXEC_PATH=hooks/lego-exec, in the default mode
 * (`present <fqdn.> <value>`) and EXEC_MODE=RAW (`present -- <domain> <token> <keyAuth>`),
 * issuing a real certificate from Pebble for an apex, its wildcard and a name in the second
 * zone. lego's exec provider is sequential (present, validate, cleanup, sleep
 * EXEC_SEQUENCE_INTERVAL=1 s, next domain) and Pebble validates through the secondary that
 * lags 1 s, so `present` must return only once every nameserver serves the value.
 *
 * `--dns.disable-cp` skips lego's own propagation check, and `--dns.resolvers` points at the
 * primary nameserver: lego 4.9.1 still queries a resolver (the CNAME of the challenge name,
 * and the TXT once after present), which would otherwise be the machine's, off loopback.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, runLego, type ClientRun } from '../fixtures/acme-clients.js';
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

/** `c.example.test` delegates its challenge into the other zone, as acme-dns-style setups do. */
const DELEGATION = { qname: '_acme-challenge.c.example.test', rtype: 'CNAME', value: 'x.acme.other.test.' };

beforeAll(async () => {
  suite = await startClientSuite({ name: 'lego', runs: 3, records: [DELEGATION] });
});

afterAll(async () => {
  await suite?.stop();
});

/** The TXT value each `present` line of the hook argv log stands for. */
function presentedValues(argv: readonly string[], mode: 'default' | 'RAW'): string[] {
  return argv
    .filter((line) => line.includes(' hook lego-exec present '))
    .map((line) => {
      const words = line.split(' ');
      const last = words[words.length - 1] ?? '';
      return mode === 'RAW' ? createHash('sha256').update(last).digest('base64url') : last;
    });
}

describe.each([
  // `present|cleanup _acme-challenge.<name>. <value>`
  { mode: 'default' as const, argvShape: /^node --liftoff-only \S+ hook lego-exec (present|cleanup) _acme-challenge\.[a-z.]+\. [\w-]{43}$/ },
  // `present|cleanup -- <domain, wildcard without *.> <token> <token>.<thumbprint>`
  { mode: 'RAW' as const, argvShape: /^node --liftoff-only \S+ hook lego-exec (present|cleanup) -- [a-z.]+ [\w-]+ [\w-]+\.[\w-]+$/ },
])('lego --dns exec, EXEC_MODE=$mode', ({ mode, argvShape }) => {
  it('issues apex + wildcard + second-zone certificate', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble, primaryAddress, dnsPort } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun(`lego-${mode}`);
    const journal = watchJournal(context.stateDir);
    run = await runLego({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      execPath: join(HOOKS, 'lego-exec'),
      mode,
      resolvers: [`${primaryAddress}:${dnsPort}`],
      env: context.env,
      workDir: context.workDir,
    });
    const sightings = await journal.stop();

    expect(run.timedOut).toBe(false);
    expect(run.exitCode).toBe(0);
    expect(run.argv).toEqual(expect.arrayContaining(['--dns.disable-cp', '--dns.resolvers', `${primaryAddress}:${dnsPort}`]));
    expect(run.certPath).toBeDefined();
    expect((await certificateNames(run.certPath ?? '')).sort()).toEqual([...NAMES].sort());
    await pebble.verifyIssued(await readFile(run.fullchainPath ?? '', 'utf8'));

    // One present and one cleanup per name, in the shape of this mode.
    const argv = await hookArgv(context);
    expect(argv).toHaveLength(6);
    for (const line of argv) expect(line).toMatch(argvShape);
    expect(argv.filter((line) => line.includes(' present '))).toHaveLength(3);
    const written = writtenValues(emulator);
    expect(written).toHaveLength(3);
    // The value written is the one lego asked for (RAW: computed from the key authorization).
    expect(written.map(({ value }) => value).sort()).toEqual(presentedValues(argv, mode).sort());
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

describe('lego --dns exec, default mode, challenge delegated by CNAME', () => {
  it('writes at the name lego passes (the CNAME target it followed), not _acme-challenge.<target>', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble, primaryAddress, dnsPort } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun('lego-cname');
    run = await runLego({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: ['c.example.test'],
      execPath: join(HOOKS, 'lego-exec'),
      mode: 'default',
      resolvers: [`${primaryAddress}:${dnsPort}`],
      env: context.env,
      workDir: context.workDir,
    });
    expect(run.timedOut).toBe(false);
    const argv = await hookArgv(context);
    expect(argv.filter((line) => line.includes(' present '))).toEqual([expect.stringMatching(/ hook lego-exec present x\.acme\.other\.test\. [\w-]{43}$/)]);
    const written = writtenValues(emulator);
    expect(written.map(({ path }) => path)).toEqual([expect.stringMatching(/\/dns\/custom\/x\.acme\.other\.test\/TXT$/)]);
    expect(run.exitCode).toBe(0);
    expect((await certificateNames(run.certPath ?? '')).sort()).toEqual(['c.example.test']);
    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
  });
});
