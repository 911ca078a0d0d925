/**
 * Power Mail-in-a-Box (the fork), TOTP on, nsd primary + secondary lagging 1 s, Pebble
 * validating through the secondary: the client paths power-miab.test.ts does not cover, each
 * with the fork's dialect chosen by MIAB_FLAVOR=power and a PARTNER value at the apex's
 * challenge name (another client's) that must survive:
 * - `miab-dns01 serve` configured with the flavour; the real lego (`--dns httpreq`) obtains apex
 *   + wildcard through it. Without the flavour, serve refuses /present with the clear error and
 *   sends no DELETE;
 * - the library, `issueCertificate()` with the flavour in its environment;
 * - the acme.sh dnsapi script in a stand-in (acme.sh is not packaged here), with the flavour
 *   given once in the environment and then remembered for a renewal from the saved settings.
 * The emulator's request log shows every write in the fork's form dialect: POSTs `value=&ttl=`,
 * DELETEs `value=` of exactly a value the run wrote, never a raw-body DELETE (which on the fork
 * deletes every value at the name).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, runCommand, type CommandRun } from './fixtures/acme-clients.js';
import { installAcmeShStandin, untilPaused } from './fixtures/acmesh-standin.js';
import { REPO, runProgram } from './fixtures/cli.js';
import { requireBinary } from './fixtures/system.js';
import { challengeRecords, expectNoSecretLeak, loginCount, NAMES, secretsOf, startClientSuite, txtAt, UNRELATED, type ClientSuite, type RunContext } from './clients/harness.js';
import { addClient, newValue, present, runLegoHttpreq, startServe, type ServeProcess } from './serve/helpers.js';
import type { MiabEmulator, RequestLogEntry } from './emulator/index.js';

const NAME = '_acme-challenge.a.example.test';
const LEGO_DOMAINS = ['a.example.test', '*.a.example.test'];

let suite: ClientSuite;

beforeAll(async () => {
  // UNRELATED is the partner: a value at the apex's challenge name, not ours.
  suite = await startClientSuite({ name: 'power-more', runs: 5, flavor: 'power' });
});

afterAll(async () => {
  await suite?.stop();
});

function writes(emulator: MiabEmulator): RequestLogEntry[] {
  return emulator.requests.filter((request) => request.method !== 'GET' && request.path.includes('/dns/custom/'));
}

/** The fields of a form body, or undefined when it is not one (a raw upstream body). */
function formOf(request: RequestLogEntry): Record<string, string> | undefined {
  if (!request.body.startsWith('value=')) return undefined;
  return Object.fromEntries(new URLSearchParams(request.body));
}

/**
 * Every write in the fork's dialect: `posts` POSTs with value and the challenge TTL, as many
 * DELETEs each removing by form exactly a value POSTed at that name, no raw-body DELETE, no
 * PUT, all answered 200; the partner alone left; the journal empty.
 */
async function expectForkClean(context: RunContext, posts: number): Promise<void> {
  const { emulator } = suite.topology;
  const sent = writes(emulator);
  const posted = sent.filter((request) => request.method === 'POST');
  const deleted = sent.filter((request) => request.method === 'DELETE');
  expect(posted).toHaveLength(posts);
  for (const post of posted) expect(formOf(post)).toMatchObject({ ttl: '300' });
  expect(deleted.filter((request) => formOf(request) === undefined).map((request) => `${request.path} ${request.body}`)).toEqual([]);
  expect(deleted.map((request) => `${request.path} ${formOf(request)?.value ?? ''}`).sort()).toEqual(posted.map((request) => `${request.path} ${formOf(request)?.value ?? ''}`).sort());
  expect(sent.map((request) => request.method).filter((method) => method !== 'POST' && method !== 'DELETE')).toEqual([]);
  expect(sent.every((request) => request.status === 200)).toBe(true);
  expect(challengeRecords(emulator)).toEqual([UNRELATED]);
  expect(await readdir(join(context.stateDir, 'journal')).catch(() => [])).toEqual([]);
}

describe('serve against Power Mail-in-a-Box', () => {
  it('MIAB_FLAVOR=power: lego --dns httpreq obtains apex + wildcard through serve in the form dialect; the partner survives', async () => {
    const { emulator, pebble, primaryAddress, dnsPort } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun('serve-power');
    const env = { ...context.env, MIAB_FLAVOR: 'power' };
    const web = (await addClient(env, 'web', ['a.example.test'])).client;
    let serve: ServeProcess | undefined;
    let lego: CommandRun | undefined;
    try {
      serve = await startServe(env);
      const workDir = join(context.workDir, 'lego');
      lego = await runLegoHttpreq({
        directoryUrl: pebble.directoryUrl,
        caFile: pebble.caFile,
        resolver: `${primaryAddress}:${dnsPort}`,
        domains: LEGO_DOMAINS,
        endpoint: serve.url,
        username: web.username,
        password: web.password,
        workDir,
      });
      expect(lego.exitCode, `${lego.stdout}\n${lego.stderr}\n--- serve\n${serve.output()}`).toBe(0);
      const crt = join(workDir, 'certificates', 'a.example.test.crt');
      expect((await certificateNames(crt)).sort()).toEqual([...LEGO_DOMAINS].sort());
      await pebble.verifyIssued(await readFile(crt, 'utf8'));
    } finally {
      const exit = await serve?.stop();
      if (serve) expect(exit?.code, serve.output()).toBe(0);
    }
    await expectForkClean(context, 2);
    // serve's one box login, at start: none per request.
    expect(loginCount(emulator)).toBe(1);
    await expectNoSecretLeak(context, [lego], [{ label: 'serve output', text: serve?.output() ?? '' }], [...secretsOf(context.email), web.password]);
  });

  it('without the flavour: /present fails with the message naming MIAB_FLAVOR=power, no DELETE reaches the box, the partner survives', async () => {
    const { emulator } = suite.topology;
    const context = await suite.newRun('serve-upstream-dialect');
    const web = (await addClient(context.env, 'web', ['a.example.test'])).client;
    const serve = await startServe(context.env);
    try {
      const answer = await present(serve.url, web, NAME, newValue());
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(`${answer.body}\n${serve.output()}`).toContain('MIAB_FLAVOR=power');
    } finally {
      await serve.stop();
    }
    expect(writes(emulator).map((request) => [request.method, request.status])).toEqual([['POST', 400]]);
    expect(emulator.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(challengeRecords(emulator)).toEqual([UNRELATED]);
    expect(await readdir(join(context.stateDir, 'journal')).catch(() => [])).toEqual([]);
  });
});

describe('the library against Power Mail-in-a-Box', () => {
  it('issueCertificate() with MIAB_FLAVOR=power in its environment: apex + wildcard + second zone, form dialect, the partner survives', async () => {
    const { emulator, pebble } = suite.topology;
    if (!pebble) throw new Error('no Pebble');
    const context = await suite.newRun('library-power');
    const script = join(context.workDir, 'issue.mjs');
    await writeFile(
      script,
      `import { issueCertificate } from ${JSON.stringify(`${REPO}dist/index.js`)};
const result = await issueCertificate({ domains: ${JSON.stringify(NAMES)}, directoryUrl: process.env.DIRECTORY_URL, termsOfServiceAgreed: true });
console.log(JSON.stringify(result));
`,
    );
    const result = await runProgram([process.execPath, script], {
      env: { ...context.env, MIAB_FLAVOR: 'power', DIRECTORY_URL: pebble.directoryUrl, NODE_EXTRA_CA_CERTS: pebble.caFile },
    });
    expect(result.code, result.stderr).toBe(0);
    const issued = JSON.parse(result.stdout) as { certificate: string; fullchain: string; privateKey: string };
    const fullchain = join(context.workDir, 'fullchain.pem');
    await writeFile(fullchain, issued.fullchain);
    expect((await certificateNames(fullchain)).sort()).toEqual([...NAMES].sort());
    await pebble.verifyIssued(issued.fullchain);
    await expectForkClean(context, 3);
    expect(loginCount(emulator)).toBe(1);
    const asRun: CommandRun = { argv: ['node', script], env: {}, cwd: '', pid: undefined, exitCode: result.code, signal: null, timedOut: false, stdout: result.stdout, stderr: result.stderr, durationMs: 0 };
    await expectNoSecretLeak(context, [asRun]);
  });
});

describe('the acme.sh dnsapi script against Power Mail-in-a-Box', () => {
  it('MIAB_FLAVOR=power given once: two values at one name live on both nameservers beside the partner, removed by form; a renewal from the saved settings keeps the dialect', async () => {
    const { emulator, secondaryAddress, dnsPort } = suite.topology;
    const context = await suite.newRun('acmesh-power');
    const acme = await installAcmeSh(context);
    const miab = Object.fromEntries(Object.entries(context.env).filter(([name]) => name.startsWith('MIAB_')));
    const first = [newValue(), `-${newValue().slice(1)}`];
    const running = runCommand([requireBinary('dash'), acme.script, 'add', NAME, first[0] ?? '', 'add', NAME, first[1] ?? '', 'check', 'rm', NAME, first[0] ?? '', 'rm', NAME, first[1] ?? ''], {
      env: { ...acme.env, ...miab, MIAB_FLAVOR: 'power' },
      cwd: acme.home,
      timeoutMs: 90_000,
    });
    await untilPaused(join(acme.home, 'paused'), running);
    // Each add returned only once every nameserver served it: the lagging secondary has both.
    expect((await txtAt(`${secondaryAddress}:${dnsPort}`, NAME)).sort()).toEqual([...first, UNRELATED.value].sort());
    await writeFile(join(acme.home, 'resume'), '');
    const result = await running;
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    await expectForkClean(context, 2);
    const saved = await readFile(join(acme.acmeHome, 'account.conf'), 'utf8');
    expect(saved).toContain(`SAVED_MIAB_FLAVOR='power'`);

    // The renewal (cron: no MIAB_* in the environment) works from account.conf alone.
    emulator.clearLog();
    await rm(join(acme.home, 'paused'));
    await rm(join(acme.home, 'resume'));
    const renewal = [newValue()];
    const again = await runCommand([requireBinary('dash'), acme.script, 'add', NAME, renewal[0] ?? '', 'rm', NAME, renewal[0] ?? ''], { env: acme.env, cwd: acme.home, timeoutMs: 90_000 });
    expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(emulator.requests.filter((request) => request.method === 'DELETE' && formOf(request) === undefined)).toEqual([]);
    await expectForkClean(context, 1);
    await expectNoSecretLeak(context, [result, again], [{ label: 'account.conf', text: saved }]);
  });
});

// ------------------------------------------------------------------ acme.sh stand-in

async function installAcmeSh(context: RunContext): Promise<{ home: string; acmeHome: string; script: string; env: Record<string, string> }> {
  const { home, acmeHome, bin, script } = await installAcmeShStandin(context.workDir);
  return {
    home,
    acmeHome,
    script,
    env: {
      PATH: `${suite.shimDir}:${bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: home,
      LANG: 'C.UTF-8',
      FAKE_ACME_HOME: acmeHome,
      MIAB_TEST_ARGV_LOG: context.argvLog,
    },
  };
}

