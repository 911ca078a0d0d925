/**
 * cPanel end to end, through the real CLI and the real clients, in each auth mode (API token;
 * Basic + X-CPANEL-OTP with the WHM policy "API requests" on; session login with the code):
 * `present`/`cleanup`, certbot, lego (exec), dehydrated, the acme.sh dnsapi script in a
 * stand-in, `issue` and the library, each against Pebble validating through a nameserver that
 * lags 1 s behind the cPanel emulator's writes. The provider is chosen only by
 * MIAB_DNS01_PROVIDER=cpanel (or `provider = cpanel` in the credentials file for acme.sh);
 * hooks, engine and `issue` are the same code the Mail-in-a-Box suites run.
 *
 * One client x auth-mode matrix, not every client in every mode: the CLI and the acme.sh
 * script (no ACME order, a few seconds each; each mode has its own credentials-file lines) run in
 * all three modes, and each ACME client in the mode(s) ACME_CLIENT_MODES gives it, so that every
 * client runs on cPanel and every mode issues a certificate through at least one real client.
 *
 * Every run: the certificate covers the names, a partner TXT value at the apex's challenge name
 * (another tool's) survives, nothing of ours is left and the journal is empty, the configured
 * auth mode was the one used (session: exactly one login for all hook processes of a run), and
 * no secret appears in any output, argv or file. Plus a stale-serial race during a real run.
 */
import { X509Certificate } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestFunction } from 'vitest';
import { certificateNames, runCertbot, runCommand, runDehydrated, runLego, type ClientRun, type CommandRun } from '../fixtures/acme-clients.js';
import { installAcmeShStandin, untilPaused } from '../fixtures/acmesh-standin.js';
import { REPO, runCli, runProgram } from '../fixtures/cli.js';
import { requireBinary } from '../fixtures/system.js';
import { expectNoSecretLeak, failureDump, hookArgv, HOOKS, NAMES, shellQuote, txtAt, watchJournal } from '../clients/harness.js';
import { AUTH_MODES, CPANEL_PASSWORD, CPANEL_TOKEN, CPANEL_TOTP_SECRET, CPANEL_USER, expectAccountClean, PARTNER_NAME, PARTNER_VALUE, startCpanelTopology, writes, ZONES, type AuthMode, type CpanelRun, type CpanelTopology } from './topology.js';

let topology: CpanelTopology;

beforeAll(async () => {
  topology = await startCpanelTopology('clients');
});

afterAll(async () => {
  await topology?.stop();
});

const suite = (): { topology: { pebble: CpanelTopology['pebble'] } } | undefined => (topology ? { topology: { pebble: topology.pebble } } : undefined);
const secondary = (): string => `${topology.secondaryAddress}:${topology.dnsPort}`;
const primary = (): string => `${topology.primaryAddress}:${topology.dnsPort}`;

/** The three names: three values written (two at the apex's challenge name), three removed. */
async function expectIssued(run: CpanelRun, fullchainPath: string | undefined, certPath = fullchainPath): Promise<void> {
  expect(certPath).toBeDefined();
  expect((await certificateNames(certPath ?? '')).sort()).toEqual([...NAMES].sort());
  await topology.pebble.verifyIssued(await readFile(fullchainPath ?? '', 'utf8'));
  expect(writes(run.emulator)).toEqual({ adds: 3, removes: 3 });
  await expectAccountClean(run);
}

function asCommandRun(label: string, result: { code: number | null; stdout: string; stderr: string }, argv: readonly string[]): CommandRun {
  return { argv: [...argv, `(${label})`], env: {}, cwd: '', pid: undefined, exitCode: result.code, signal: null, timedOut: false, stdout: result.stdout, stderr: result.stderr, durationMs: 0 };
}

/** 43-character base64url values, starting with `-` and `--` as real ones may. */
const DASH_VALUE = '-starts-with-a-dash_Zm9vYmFyYmF6cXV4cXV1eA';
const DOUBLE_DASH_VALUE = '--double-dash_abcdefghijklmnopqrstuvwxyz01';

type AcmeClient = 'certbot' | 'lego' | 'dehydrated' | 'issue' | 'library';
/**
 * The modes each ACME client runs in. Session mode with certbot (the most hook processes
 * sharing one login), `issue` in both secret shapes its deploy-hook check covers (a token; a
 * password and TOTP secret), and the stale-serial race below adds certbot with a token.
 */
const ACME_CLIENT_MODES: Readonly<Record<AcmeClient, readonly AuthMode[]>> = {
  certbot: ['session'],
  lego: ['token'],
  dehydrated: ['otp-header'],
  issue: ['token', 'otp-header'],
  library: ['session'],
};
/** `it` where `client` runs in `mode`; elsewhere no test at all (not a skipped one). */
function acmeIt(client: AcmeClient, mode: AuthMode): (name: string, body: TestFunction) => void {
  return ACME_CLIENT_MODES[client].includes(mode) ? (name, body) => it(name, body) : () => undefined;
}

for (const mode of AUTH_MODES) {
  describe(`cPanel, ${mode}`, () => {
    it('present waits for both nameservers, cleanup removes exactly its value (also through a stale-serial race)', async () => {
      const run = await topology.newRun(`cli-${mode}`, mode);
      const check = await runCli(['check'], { env: run.env });
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toMatch(new RegExp(`provider: +cpanel\\nserver: +${run.emulator.url.replace(/\./g, '\\.')}\\nauth mode: +${mode}\\naccount: +${CPANEL_USER}`));
      expect(check.stdout).toMatch(/zones: +example\.test, other\.test/);
      // A name outside the account: usage error before any write, worded for cPanel.
      const outside = await runCli(['present', 'www.not-here.test', DASH_VALUE], { env: run.env });
      expect(outside.code).toBe(2);
      expect(outside.stderr).toMatch(/\[zone-not-found\].*not in any zone of this cPanel account; the cPanel account serves: example\.test, other\.test/);
      const first = await runCli(['present', 'a.example.test', DASH_VALUE], { env: run.env });
      expect(first.code, first.stderr).toBe(0);
      // Journaled under the cPanel account's identity: a box's entries are never mixed in.
      expect(await journalIdentities(run)).toEqual([`cpanel:${CPANEL_USER}@${run.emulator.url}`]);
      // The zone changes under us twice between read and write: re-read, retried, and the
      // removal later still finds our line although the foreign edits shifted every index.
      run.emulator.staleSerialOnNextWrites(2);
      const second = await runCli(['present', '--', '*.a.example.test', DOUBLE_DASH_VALUE], { env: run.env });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/changed between our read and write/);
      // present returned: the LAGGING secondary already serves both values, beside the partner.
      expect((await txtAt(secondary(), PARTNER_NAME)).sort()).toEqual([DASH_VALUE, DOUBLE_DASH_VALUE, PARTNER_VALUE].sort());
      run.emulator.staleSerialOnNextWrites(1);
      const cleanups = [await runCli(['cleanup', 'a.example.test', DASH_VALUE], { env: run.env }), await runCli(['cleanup', '*.a.example.test', '--', DOUBLE_DASH_VALUE], { env: run.env })];
      for (const cleanup of cleanups) expect(cleanup.code, cleanup.stderr).toBe(0);
      expect(writes(run.emulator)).toEqual({ adds: 2, removes: 2 });
      expect((await txtAt(primary(), PARTNER_NAME)).sort()).toEqual([PARTNER_VALUE]);
      await expectAccountClean(run);
      // logout ends the session (session mode) or says there is none; it never logs in to log out.
      const logout = await runCli(['logout'], { env: run.env });
      expect(logout.code, logout.stderr).toBe(0);
      expect(logout.stderr).toMatch(mode === 'session' ? /ended the cached cPanel session/ : /has no session to end/);
      expect(run.emulator.liveSessions()).toBe(0);
      const commands = [check, first, second, ...cleanups, logout].map((result, index) => asCommandRun(String(index), result, ['miab-dns01']));
      await expectNoSecretLeak(run, commands, [], run.secrets);
      // Only cPanel: nothing was sent anywhere else (the box settings are unset).
      expect(run.env.MIAB_URL).toBeUndefined();
    });

    acmeIt('certbot', mode)('certbot --manual with the hooks', async ({ onTestFailed }) => {
      let client: ClientRun | undefined;
      onTestFailed(failureDump(suite, () => client));
      const run = await topology.newRun(`certbot-${mode}`, mode);
      const journal = watchJournal(run.stateDir);
      client = await runCertbot({
        directoryUrl: topology.pebble.directoryUrl,
        caFile: topology.pebble.caFile,
        domains: NAMES,
        authHook: join(HOOKS, 'certbot-auth'),
        cleanupHook: join(HOOKS, 'certbot-cleanup'),
        env: run.env,
        workDir: run.workDir,
      });
      const sightings = await journal.stop();
      expect(client.exitCode).toBe(0);
      await expectIssued(run, client.fullchainPath, client.certPath);
      const argv = await hookArgv(run);
      expect(argv.filter((line) => line.endsWith('hook certbot-auth'))).toHaveLength(3);
      // Every record journaled while certbot ran, owned by certbot itself.
      expect(sightings).toHaveLength(3);
      for (const sighting of sightings) expect(sighting.ownerPid).toBe(client.pid);
      await expectNoSecretLeak(run, client.commands, [], run.secrets);
    });

    acmeIt('lego', mode)('lego --dns exec with hooks/lego-exec', async ({ onTestFailed }) => {
      let client: ClientRun | undefined;
      onTestFailed(failureDump(suite, () => client));
      const run = await topology.newRun(`lego-${mode}`, mode);
      client = await runLego({
        directoryUrl: topology.pebble.directoryUrl,
        caFile: topology.pebble.caFile,
        domains: NAMES,
        execPath: join(HOOKS, 'lego-exec'),
        mode: 'default',
        resolvers: [primary()],
        env: run.env,
        workDir: run.workDir,
      });
      expect(client.timedOut).toBe(false);
      expect(client.exitCode).toBe(0);
      await expectIssued(run, client.fullchainPath ?? client.certPath, client.certPath);
      await expectNoSecretLeak(run, client.commands, [], run.secrets);
    });

    acmeIt('dehydrated', mode)('dehydrated with hooks/dehydrated-hook (HOOK_CHAIN)', async ({ onTestFailed }) => {
      let client: ClientRun | undefined;
      onTestFailed(failureDump(suite, () => client));
      const run = await topology.newRun(`dehydrated-${mode}`, mode);
      client = await runDehydrated({
        directoryUrl: topology.pebble.directoryUrl,
        caFile: topology.pebble.caFile,
        domains: NAMES,
        hook: join(HOOKS, 'dehydrated-hook'),
        hookChain: true,
        config: { KEYSIZE: '2048' },
        env: run.env,
        workDir: run.workDir,
      });
      expect(client.commands.map((command) => command.exitCode)).toEqual([0, 0]);
      await expectIssued(run, client.fullchainPath, client.certPath);
      await expectNoSecretLeak(run, client.commands, [], run.secrets);
    });

    it('the acme.sh dnsapi script, configured by a credentials file saying provider = cpanel', async () => {
      const run = await topology.newRun(`acmesh-${mode}`, mode);
      const acme = await installAcmeSh(run);
      const steps = ['add', PARTNER_NAME, DASH_VALUE, 'add', PARTNER_NAME, DOUBLE_DASH_VALUE, 'check', 'rm', PARTNER_NAME, DASH_VALUE, 'rm', PARTNER_NAME, DOUBLE_DASH_VALUE];
      const running = runCommand([requireBinary('dash'), acme.script, ...steps], { env: acme.env, cwd: acme.home, timeoutMs: 90_000 });
      // At `check` the stand-in waits: each add returned only after every nameserver served it.
      await untilPaused(join(acme.home, 'paused'), running);
      expect((await txtAt(secondary(), PARTNER_NAME)).sort()).toEqual([DASH_VALUE, DOUBLE_DASH_VALUE, PARTNER_VALUE].sort());
      await writeFile(join(acme.home, 'resume'), '');
      const result = await running;
      expect(result.exitCode, result.stderr).toBe(0);
      expect(writes(run.emulator)).toEqual({ adds: 2, removes: 2 });
      await expectAccountClean(run);
      await expectNoSecretLeak(run, [result], [], run.secrets);
      expect((await hookArgv(run)).filter((line) => line.includes('hook acmesh'))).toHaveLength(4);
    });

    acmeIt('issue', mode)('miab-dns01 issue', async () => {
      const run = await topology.newRun(`issue-${mode}`, mode);
      const out = join(run.workDir, 'cert');
      // The secret in the environment itself this time (not as _FILE): the deploy hook must not get it.
      const secretEnv: Record<string, string> = mode === 'token' ? { CPANEL_TOKEN: CPANEL_TOKEN } : { CPANEL_PASSWORD: CPANEL_PASSWORD, CPANEL_TOTP_SECRET: CPANEL_TOTP_SECRET };
      const env = Object.fromEntries(Object.entries({ ...run.env, ...secretEnv, NODE_EXTRA_CA_CERTS: topology.pebble.caFile }).filter(([name]) => !name.endsWith('_FILE')));
      const deployEnv = join(run.workDir, 'deploy-env');
      const argv = ['issue', ...NAMES.flatMap((name) => ['-d', name]), '--out', out, '--agree-tos', '--server', topology.pebble.directoryUrl, '--deploy-hook', `env > ${shellQuote(deployEnv)}`];
      const result = await runCli(argv, { env });
      expect(result.code, result.stderr).toBe(0);
      await expectIssued(run, join(out, 'fullchain.pem'), join(out, 'cert.pem'));
      // The hook ran (with the paths) and its environment, scanned below with every file, holds no secret.
      expect(await readFile(deployEnv, 'utf8')).toContain(`MIAB_CERT_DIR=${out}`);
      await expectNoSecretLeak(run, [asCommandRun('issue', result, ['miab-dns01', 'issue'])], [], run.secrets);
    });

    acmeIt('library', mode)('the library: issueCertificate()', async () => {
      const run = await topology.newRun(`library-${mode}`, mode);
      const script = join(run.workDir, 'issue.mjs');
      await writeFile(
        script,
        `import { issueCertificate } from ${JSON.stringify(`${REPO}dist/index.js`)};
const result = await issueCertificate({ domains: ${JSON.stringify(NAMES)}, directoryUrl: process.env.DIRECTORY_URL, termsOfServiceAgreed: true });
console.log(JSON.stringify(result));
`,
      );
      const result = await runProgram([process.execPath, script], { env: { ...run.env, DIRECTORY_URL: topology.pebble.directoryUrl, NODE_EXTRA_CA_CERTS: topology.pebble.caFile } });
      expect(result.code, result.stderr).toBe(0);
      const issued = JSON.parse(result.stdout) as { certificate: string; fullchain: string; privateKey: string };
      const fullchain = join(run.workDir, 'fullchain.pem');
      await writeFile(fullchain, issued.fullchain);
      await expectIssued(run, fullchain);
      expect(new X509Certificate(issued.certificate).subjectAltName).toContain('b.other.test');
      await expectNoSecretLeak(run, [asCommandRun('library', result, ['node', script])], [], run.secrets);
    });
  });
}

describe('stale serial during a real run', () => {
  it('certbot (token): the zone changes under the first add and under the first removal; both re-read and retry, the partner survives', async ({ onTestFailed }) => {
    let client: ClientRun | undefined;
    onTestFailed(failureDump(suite, () => client));
    const run = await topology.newRun('certbot-race', 'token');
    const { emulator } = run;
    // Another editor changes the zone twice between our read and write of the first record...
    emulator.staleSerialOnNextWrites(2);
    // ...and twice again once all three values are in (certbot is validating): the removals
    // then meet shifted line indexes and must still hit our lines, not the partner's.
    let stop = false;
    const raceCleanup = (async () => {
      while (!stop && writes(emulator).adds < 3) await new Promise((resolve) => setTimeout(resolve, 20));
      if (!stop) emulator.staleSerialOnNextWrites(2);
    })();
    try {
      client = await runCertbot({
        directoryUrl: topology.pebble.directoryUrl,
        caFile: topology.pebble.caFile,
        domains: NAMES,
        authHook: join(HOOKS, 'certbot-auth'),
        cleanupHook: join(HOOKS, 'certbot-cleanup'),
        env: run.env,
        workDir: run.workDir,
      });
    } finally {
      stop = true;
      await raceCleanup;
    }
    expect(client.exitCode).toBe(0);
    await expectIssued(run, client.fullchainPath, client.certPath);
    const refused = emulator.requests.filter((request) => request.path.includes('/DNS/mass_edit_zone') && request.uapiStatus === 0);
    expect(refused.map((request) => (/[?&]add=/.test(request.path) ? 'add' : 'remove'))).toEqual(['add', 'add', 'remove', 'remove']);
    // The foreign edits stay in the zone: they were another editor's, not ours to undo.
    const foreign = ZONES.flatMap((zone) => emulator.lines(zone)).filter((line) => line.type === 'comment' && line.text.startsWith('; edited elsewhere'));
    expect(foreign).toHaveLength(4);
  });
});

// ------------------------------------------------------------------ helpers

async function journalIdentities(run: CpanelRun): Promise<string[]> {
  const dir = join(run.stateDir, 'journal');
  const files = await readdir(dir);
  return Promise.all(files.map(async (file) => (JSON.parse(await readFile(join(dir, file), 'utf8')) as { apiUrl: string }).apiUrl));
}

interface AcmeSh {
  readonly home: string;
  readonly script: string;
  readonly env: Record<string, string>;
}

async function installAcmeSh(run: CpanelRun): Promise<AcmeSh> {
  const { home, acmeHome, bin, script } = await installAcmeShStandin(run.workDir);
  // Everything in one 0600 file: acme.sh remembers only its path (MIAB_CONFIG). Outside the
  // scanned work dir: it is the one place meant to hold the secrets.
  const config = join(topology.root, 'secrets', `acmesh-${run.mode}.conf`);
  const auth: Record<AuthMode, string> = {
    token: `cpanel_token = ${CPANEL_TOKEN}\n`,
    'otp-header': `cpanel_auth = otp-header\ncpanel_password = ${CPANEL_PASSWORD}\ncpanel_totp_secret = ${CPANEL_TOTP_SECRET}\n`,
    session: `cpanel_auth = session\ncpanel_password = ${CPANEL_PASSWORD}\ncpanel_totp_secret = ${CPANEL_TOTP_SECRET}\n`,
  };
  await writeFile(
    config,
    `# miab-dns01 for a cPanel account\nprovider = cpanel\ncpanel_base_url = ${run.emulator.url}\ncpanel_username = ${CPANEL_USER}\n${auth[run.mode]}` +
      `state_dir = ${run.stateDir}\ndns_resolvers = ${primary()}\ndns_port = ${topology.dnsPort}\npropagation_timeout = 60\n`,
    { mode: 0o600 },
  );
  return {
    home,
    script,
    env: {
      PATH: `${topology.shimDir}:${bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: home,
      LANG: 'C.UTF-8',
      FAKE_ACME_HOME: acmeHome,
      MIAB_CONFIG: config,
      MIAB_TEST_ARGV_LOG: run.argvLog,
    },
  };
}

