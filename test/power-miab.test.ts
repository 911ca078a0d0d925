/**
 * Power Mail-in-a-Box (the fork) through the real CLI, TOTP on, with a PARTNER value at the
 * challenge name that another client wrote and that must survive every step:
 * - `MIAB_FLAVOR=power`: form bodies with a short TTL, present/cleanup of a wildcard + apex
 *   pair, the TTL visible in GET, certbot, lego, dehydrated and `issue` obtaining
 *   certificates from Pebble;
 * - without it: the first POST is refused, the run stops with `box-dialect-mismatch` (exit 2)
 *   naming MIAB_FLAVOR=power, and NO DELETE reaches the box (on the fork, the upstream DELETE
 *   wipes every value of the name);
 * - upstream (the default) against an upstream box is unchanged.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { certificateNames, runCertbot, runDehydrated, runLego, type ClientRun } from './fixtures/acme-clients.js';
import { runCli } from './fixtures/cli.js';
import { TEST_PASSWORD, TEST_TOTP_SECRET } from './fixtures/topology.js';
import { challengeRecords, expectNoSecretLeak, failureDump, HOOKS, loginCount, NAMES, startClientSuite, UNRELATED, type ClientSuite, type RunContext } from './clients/harness.js';
import { startEmulator, type CustomRecord, type EmulatorFlavor, type MiabEmulator, type RequestLogEntry } from './emulator/index.js';
import { scratchDir } from './fixtures/scratch.js';

const NAME = '_acme-challenge.a.example.test';
const PARTNER: CustomRecord = { qname: NAME, rtype: 'TXT', value: 'partner-value_written-by-another-client' };
const APEX = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const WILDCARD = '-starts-with-a-dash_Zm9vYmFyYmF6cXV4cXV1eA';

function txt(emulator: MiabEmulator, name = NAME): CustomRecord[] {
  return emulator.records().filter((record) => record.qname === name && record.rtype === 'TXT');
}

function writes(emulator: MiabEmulator): RequestLogEntry[] {
  return emulator.requests.filter((request) => request.method !== 'GET' && request.path.includes('/dns/custom/'));
}

/** The fields of a form body, or undefined when it is not one (a raw upstream body). */
function formOf(request: RequestLogEntry): Record<string, string> | undefined {
  if (!request.body.startsWith('value=')) return undefined;
  return Object.fromEntries(new URLSearchParams(request.body));
}

async function listed(emulator: MiabEmulator): Promise<{ qname: string; value: string; ttl?: number | null }[]> {
  // The system key, not the test user: a GET must not spend that user's TOTP code.
  const response = await fetch(`${emulator.url}/dns/custom`, { headers: { authorization: `Basic ${Buffer.from(`${emulator.systemKey}:`).toString('base64')}`, accept: 'application/json' } });
  return (await response.json()) as { qname: string; value: string; ttl?: number | null }[];
}

describe('the CLI against Power Mail-in-a-Box (no DNS: present --no-wait)', () => {
  const emulators = new Map<EmulatorFlavor, MiabEmulator>();
  let userIndex = 0;
  let dir: string;
  let env: Record<string, string>;
  const users = Array.from({ length: 12 }, (_, index) => ({ email: `admin${index}@example.test`, password: TEST_PASSWORD, totpSecret: TEST_TOTP_SECRET }));

  beforeAll(async () => {
    for (const flavor of ['power', 'upstream'] as const) {
      emulators.set(flavor, await startEmulator({ flavor, zones: ['example.test', 'other.test'], users, records: [PARTNER] }));
    }
  });
  afterAll(async () => {
    for (const emulator of emulators.values()) await emulator.stop();
  });

  let emulator: MiabEmulator;
  async function use(flavor: EmulatorFlavor, extra: Record<string, string> = {}): Promise<void> {
    emulator = emulators.get(flavor) as MiabEmulator;
    env = { ...env, MIAB_URL: emulator.url, ...extra };
    emulator.clearLog();
  }

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    dir = await scratchDir('power');
    await writeFile(join(dir, 'password'), `${TEST_PASSWORD}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'totp'), TEST_TOTP_SECRET, { mode: 0o600 });
    // One user per test: a TOTP code is refused when the same user used it last.
    env = { MIAB_EMAIL: users[userIndex++]?.email ?? '', MIAB_PASSWORD_FILE: join(dir, 'password'), MIAB_TOTP_SECRET_FILE: join(dir, 'totp'), MIAB_STATE_DIR: join(dir, 'state') };
  });

  it('MIAB_FLAVOR=power: a wildcard + apex pair is added and removed with form bodies, the partner survives every step, the TTL shows in GET', async () => {
    await use('power', { MIAB_FLAVOR: 'power' });
    const partnerOnly = [PARTNER];
    expect(txt(emulator)).toEqual(partnerOnly);

    expect(await runCli(['present', '--no-wait', '*.a.example.test', WILDCARD], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator)).toEqual([PARTNER, { qname: NAME, rtype: 'TXT', value: WILDCARD, ttl: 300 }]);
    expect(await runCli(['present', '--no-wait', 'a.example.test', APEX], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator).map((record) => record.value)).toEqual([PARTNER.value, WILDCARD, APEX]);

    const rows = (await listed(emulator)).filter((row) => row.qname === NAME);
    expect(rows.map((row) => [row.value, row.ttl])).toEqual([
      [PARTNER.value, null],
      [WILDCARD, 300],
      [APEX, 300],
    ]);

    expect(await runCli(['cleanup', '*.a.example.test', WILDCARD], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator).map((record) => record.value)).toEqual([PARTNER.value, APEX]);
    expect(await runCli(['cleanup', 'a.example.test', APEX], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator)).toEqual(partnerOnly);

    // Every write was a form: POSTs with value and ttl, DELETEs with exactly one of our values.
    const sent = writes(emulator).map((request) => ({ method: request.method, form: formOf(request), status: request.status }));
    expect(sent).toEqual([
      { method: 'POST', form: { value: WILDCARD, ttl: '300' }, status: 200 },
      { method: 'POST', form: { value: APEX, ttl: '300' }, status: 200 },
      { method: 'DELETE', form: { value: WILDCARD }, status: 200 },
      { method: 'DELETE', form: { value: APEX }, status: 200 },
    ]);
    expect(await readdir(join(env.MIAB_STATE_DIR ?? '', 'journal')).catch(() => [])).toEqual([]);
  });

  it('cleanup --stale without the flavour never touches records written with it; with it they are swept with a form DELETE', async () => {
    await use('power', { MIAB_FLAVOR: 'power' });
    expect(await runCli(['present', '--no-wait', 'a.example.test', APEX], { env })).toMatchObject({ code: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const { MIAB_FLAVOR: _flavor, ...withoutFlavor } = env;
    emulator.clearLog();
    const blind = await runCli(['cleanup', '--stale', '--older-than', '1s'], { env: withoutFlavor });
    expect(blind.code, blind.stderr).toBe(0);
    expect(emulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(txt(emulator).map((record) => record.value)).toEqual([PARTNER.value, APEX]);

    const swept = await runCli(['cleanup', '--stale', '--older-than', '1s'], { env });
    expect(swept.code, swept.stderr).toBe(0);
    expect(writes(emulator).map((request) => [request.method, formOf(request)])).toEqual([['DELETE', { value: APEX }]]);
    expect(txt(emulator)).toEqual([PARTNER]);
  });

  it('the credentials file: flavor = power and txt_ttl = 60', async () => {
    await use('power');
    const file = join(dir, 'miab.conf');
    await writeFile(file, 'flavor = power   # Power Mail-in-a-Box\ntxt_ttl = 60\n', { mode: 0o600 });
    const fileEnv = { ...env, MIAB_CONFIG: file };
    expect(await runCli(['present', '--no-wait', 'a.example.test', APEX], { env: fileEnv })).toMatchObject({ code: 0 });
    expect((await listed(emulator)).filter((row) => row.qname === NAME).map((row) => [row.value, row.ttl])).toEqual([
      [PARTNER.value, null],
      [APEX, 60],
    ]);
    expect(await runCli(['cleanup', 'a.example.test', APEX], { env: fileEnv })).toMatchObject({ code: 0 });
    expect(txt(emulator)).toEqual([PARTNER]);
  });

  it('without the flavour: the first POST is refused, the run stops (exit 2) naming MIAB_FLAVOR=power, no DELETE reaches the box, the partner survives', async () => {
    await use('power');
    const result = await runCli(['present', '--no-wait', 'a.example.test', APEX], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('box-dialect-mismatch');
    expect(result.stderr).toContain('MIAB_FLAVOR=power');
    expect(result.stderr).toContain('flavor = power');
    expect(writes(emulator).map((request) => [request.method, request.status])).toEqual([['POST', 400]]);
    expect(emulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(txt(emulator)).toEqual([PARTNER]);
    expect(await readdir(join(env.MIAB_STATE_DIR ?? '', 'journal')).catch(() => [])).toEqual([]);
  });

  it('without the flavour: a cleanup of a value that is there sends no DELETE either (the listing shows the fork), exit 2', async () => {
    await use('power');
    // A value of ours left by a run with the flavour set, in another state dir (not journaled here).
    await emulator.addRecord({ qname: NAME, rtype: 'TXT', value: APEX, ttl: 300 });
    try {
      const result = await runCli(['cleanup', 'a.example.test', APEX], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('box-dialect-mismatch');
      expect(result.stderr).toContain('MIAB_FLAVOR=power');
      expect(emulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
      expect(txt(emulator).map((record) => record.value)).toEqual([PARTNER.value, APEX]);
      // With the flavour, the same cleanup removes exactly that value.
      expect(await runCli(['cleanup', 'a.example.test', APEX], { env: { ...env, MIAB_FLAVOR: 'power' } })).toMatchObject({ code: 0 });
      expect(txt(emulator)).toEqual([PARTNER]);
    } finally {
      // Keep the shared emulator clean for the other tests even when an assertion failed.
      if (txt(emulator).length > 1) await runCli(['cleanup', 'a.example.test', APEX], { env: { ...env, MIAB_FLAVOR: 'power' } });
    }
  });

  it('an unknown flavour is config-invalid naming the allowed values, before any request', async () => {
    await use('power', { MIAB_FLAVOR: 'powermail' });
    const result = await runCli(['present', '--no-wait', 'a.example.test', APEX], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config-invalid');
    expect(result.stderr).toMatch(/MIAB_FLAVOR="powermail".*upstream, power/);
    expect(emulator.requests).toEqual([]);
  });

  it('upstream (the default) against an upstream box is unchanged: raw text bodies, no TTL', async () => {
    await use('upstream');
    expect(await runCli(['present', '--no-wait', '*.a.example.test', WILDCARD], { env })).toMatchObject({ code: 0 });
    expect(await runCli(['present', '--no-wait', 'a.example.test', APEX], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator)).toEqual([PARTNER, { qname: NAME, rtype: 'TXT', value: WILDCARD }, { qname: NAME, rtype: 'TXT', value: APEX }]);
    expect(await runCli(['cleanup', '*.a.example.test', WILDCARD], { env })).toMatchObject({ code: 0 });
    expect(await runCli(['cleanup', 'a.example.test', APEX], { env })).toMatchObject({ code: 0 });
    expect(txt(emulator)).toEqual([PARTNER]);
    expect(writes(emulator).map((request) => [request.method, request.body])).toEqual([
      ['POST', WILDCARD],
      ['POST', APEX],
      ['DELETE', WILDCARD],
      ['DELETE', APEX],
    ]);
  });
});

describe('ACME clients against Power Mail-in-a-Box (nsd + Pebble)', () => {
  let suite: ClientSuite;
  beforeAll(async () => {
    // UNRELATED is the partner here: a value at the apex's challenge name, not ours.
    suite = await startClientSuite({ name: 'power', runs: 6, flavor: 'power' });
  });
  afterAll(async () => {
    await suite?.stop();
  });

  /** What every client run against the fork with the flavour set must show. */
  async function expectForkRunClean(run: ClientRun, context: RunContext): Promise<void> {
    const { emulator, pebble } = suite.topology;
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).toBe(0);
    expect((await certificateNames(run.certPath ?? '')).sort()).toEqual([...NAMES].sort());
    await pebble?.verifyIssued(await readFile(run.fullchainPath ?? '', 'utf8'));
    const sent = writes(emulator);
    const posts = sent.filter((request) => request.method === 'POST');
    const deletes = sent.filter((request) => request.method === 'DELETE');
    expect(posts).toHaveLength(3);
    for (const post of posts) expect(formOf(post)).toMatchObject({ ttl: '300' });
    // Each DELETE removed exactly a value this run POSTed at that name, by form.
    expect(deletes.map((request) => `${request.path} ${formOf(request)?.value ?? '(raw body)'}`).sort()).toEqual(posts.map((request) => `${request.path} ${formOf(request)?.value ?? ''}`).sort());
    expect(sent.every((request) => request.status === 200)).toBe(true);
    expect(challengeRecords(emulator)).toEqual([UNRELATED]);
    expect(await readdir(join(context.stateDir, 'journal')).catch(() => [])).toEqual([]);
    expect(loginCount(emulator)).toBe(1);
    await expectNoSecretLeak(context, run.commands);
  }

  it('certbot with MIAB_FLAVOR=power issues apex + wildcard + second zone; the partner survives', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    emulator.clearLog();
    const context = await suite.newRun('certbot-power');
    run = await runCertbot({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      authHook: join(HOOKS, 'certbot-auth'),
      cleanupHook: join(HOOKS, 'certbot-cleanup'),
      env: { ...context.env, MIAB_FLAVOR: 'power' },
      workDir: context.workDir,
    });
    await expectForkRunClean(run, context);
  });

  it('lego (--dns exec) with MIAB_FLAVOR=power; the partner survives', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble, primaryAddress, dnsPort } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    emulator.clearLog();
    const context = await suite.newRun('lego-power');
    run = await runLego({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      execPath: join(HOOKS, 'lego-exec'),
      mode: 'default',
      resolvers: [`${primaryAddress}:${dnsPort}`],
      env: { ...context.env, MIAB_FLAVOR: 'power' },
      workDir: context.workDir,
    });
    await expectForkRunClean(run, context);
  });

  it('dehydrated (HOOK_CHAIN=yes) with MIAB_FLAVOR=power; the partner survives', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    emulator.clearLog();
    const context = await suite.newRun('dehydrated-power');
    run = await runDehydrated({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      hook: join(HOOKS, 'dehydrated-hook'),
      hookChain: true,
      config: { KEYSIZE: '2048' },
      env: { ...context.env, MIAB_FLAVOR: 'power' },
      workDir: context.workDir,
    });
    await expectForkRunClean(run, context);
  });

  it('certbot without the flavour: the auth hook stops with the clear error, the cleanup hooks send no DELETE, the partner survives', async ({ onTestFailed }) => {
    let run: ClientRun | undefined;
    onTestFailed(failureDump(() => suite, () => run));
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    emulator.clearLog();
    const context = await suite.newRun('certbot-upstream-dialect');
    run = await runCertbot({
      directoryUrl: pebble.directoryUrl,
      caFile: pebble.caFile,
      domains: NAMES,
      authHook: join(HOOKS, 'certbot-auth'),
      cleanupHook: join(HOOKS, 'certbot-cleanup'),
      env: context.env,
      workDir: context.workDir,
    });
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).not.toBe(0);
    expect(run.commands.map((command) => command.stderr).join('\n')).toContain('MIAB_FLAVOR=power');
    expect(writes(emulator).filter((request) => request.method === 'POST').every((request) => request.status === 400)).toBe(true);
    expect(emulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(challengeRecords(emulator)).toEqual([UNRELATED]);
    expect(await readdir(join(context.stateDir, 'journal')).catch(() => [])).toEqual([]);
  });

  it('issue without the flavour: a three-name order stops at the first POST, nothing else is written, no DELETE at all', async () => {
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    emulator.clearLog();
    const context = await suite.newRun('issue-upstream-dialect');
    const out = join(context.workDir, 'cert');
    const result = await runCli(['issue', '--agree-tos', '--server', pebble.directoryUrl, ...NAMES.flatMap((name) => ['-d', name]), '--out', out], {
      env: { ...context.env, NODE_EXTRA_CA_CERTS: pebble.caFile },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('box-dialect-mismatch');
    expect(result.stderr).toContain('MIAB_FLAVOR=power');
    expect(writes(emulator).map((request) => [request.method, request.status])).toEqual([['POST', 400]]);
    expect(emulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(challengeRecords(emulator)).toEqual([UNRELATED]);
    expect(await readdir(join(context.stateDir, 'journal')).catch(() => [])).toEqual([]);
    expect(await readdir(out).catch(() => [])).not.toContain('cert.pem');
  });

  it('issue with MIAB_FLAVOR=power gets the certificate; the partner survives', async () => {
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    emulator.clearLog();
    const context = await suite.newRun('issue-power');
    const out = join(context.workDir, 'cert');
    const result = await runCli(['issue', '--agree-tos', '--server', pebble.directoryUrl, ...NAMES.flatMap((name) => ['-d', name]), '--out', out], {
      env: { ...context.env, NODE_EXTRA_CA_CERTS: pebble.caFile, MIAB_FLAVOR: 'power' },
    });
    expect(result.stderr).toContain('order created');
    expect(result.code).toBe(0);
    expect((await certificateNames(join(out, 'cert.pem'))).sort()).toEqual([...NAMES].sort());
    expect(writes(emulator).filter((request) => request.method === 'DELETE').every((request) => formOf(request) !== undefined)).toBe(true);
    expect(challengeRecords(emulator)).toEqual([UNRELATED]);
  });
});
