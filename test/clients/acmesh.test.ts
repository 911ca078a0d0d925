/**
 * hooks/dns_miab_dns01.sh, the acme.sh dnsapi script. acme.sh is not packaged here, so a
 * stand-in `acme.sh` (POSIX sh, run by dash) provides the helpers a dnsapi script may use,
 * with acme.sh 3.x's semantics: `_info`, `_err`, `_debug`, `_readaccountconf_mutable NAME`
 * and `_saveaccountconf_mutable NAME VALUE` (plain `SAVED_NAME='value'` lines in
 * `$LE_CONFIG_HOME/account.conf`), and calls the script the way acme.sh does: each add/rm in
 * a subshell that sources the script afresh, `_acme-challenge.<domain>` without trailing dot.
 *
 * What is checked: two values at one name (apex + wildcard) are live together on both
 * nameservers after the adds; each rm removes only its value; a concurrent
 * `cleanup --stale` leaves the records of a running acme.sh alone; account.conf never holds
 * the password or TOTP secret (a MIAB_PASSWORD given in the environment is moved into a 0600
 * file whose PATH is saved); a renewal works from the saved settings alone.
 */
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, type CommandRun } from '../fixtures/acme-clients.js';
import { REPO, runCli } from '../fixtures/cli.js';
import { requireBinary } from '../fixtures/system.js';
import { TEST_PASSWORD, TEST_TOTP_SECRET } from '../fixtures/topology.js';
import {
  challengeRecords,
  expectBoxClean,
  expectOnlyExactWrites,
  filesUnder,
  HOOKS,
  loginCount,
  modeOf,
  secretsOf,
  shellQuote,
  startClientSuite,
  txtAt,
  UNRELATED,
  watchJournal,
  writtenValues,
  type ClientSuite,
} from './harness.js';

const NAME = '_acme-challenge.a.example.test';
/** Apex and wildcard values; one starts with a dash, as base64url values may. */
const VALUE_APEX = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const VALUE_WILDCARD = '-starts-with-a-dash_Zm9vYmFyYmF6cXV4cXV1eA';
const VALUE_RENEWAL = '--renewal-double-dash_abcdefghijklmnopqrstu';

/**
 * The stand-in. Steps: `add NAME VALUE`, `rm NAME VALUE`, `pause LABEL` (creates
 * `$FAKE_ACME_HOME/paused-LABEL`, waits for `resume-LABEL`: the test checks the box and DNS
 * meanwhile, while this "acme.sh" still runs).
 */
const FAKE_ACME_SH = `#!/bin/sh
# Stand-in for acme.sh around a dnsapi script (see acmesh.test.ts).
LE_CONFIG_HOME="$FAKE_ACME_HOME"
ACCOUNT_CONF_PATH="$LE_CONFIG_HOME/account.conf"

_printargs() {
  if [ -z "$2" ]; then printf -- '%s\\n' "$1"; else printf -- "%s='%s'\\n" "$1" "$2"; fi
}
_info() { _printargs "$@"; }
_err() { _printargs "$@" >&2; return 1; }
_debug() { :; }
# acme.sh: _save_conf -> _setopt FILE "SAVED_NAME" "=" "'VALUE'" (replaces the line).
_saveaccountconf_mutable() {
  touch "$ACCOUNT_CONF_PATH"
  grep -v "^SAVED_$1=" "$ACCOUNT_CONF_PATH" >"$ACCOUNT_CONF_PATH.tmp"
  printf "SAVED_%s='%s'\\n" "$1" "$2" >>"$ACCOUNT_CONF_PATH.tmp"
  mv "$ACCOUNT_CONF_PATH.tmp" "$ACCOUNT_CONF_PATH"
}
# acme.sh: _read_conf evaluates the saved line in a subshell and prints the value.
_readaccountconf_mutable() {
  if [ -f "$ACCOUNT_CONF_PATH" ]; then
    (
      eval "$(grep "^SAVED_$1 *=" "$ACCOUNT_CONF_PATH")"
      eval "printf '%s' \\"\\$SAVED_$1\\""
    )
  fi
}

d_api="$LE_CONFIG_HOME/dnsapi/dns_miab_dns01.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    add | rm)
      # acme.sh: if ! ( . "$d_api"; ...; $addcommand "$txtdomain" "$txt" ); then ... fi
      if ! (
        . "$d_api" || exit 1
        _info "Adding/removing TXT for domain: $2"
        "dns_miab_dns01_$1" "$2" "$3"
      ); then
        _err "dns_miab_dns01_$1 $2 failed"
        exit 1
      fi
      shift 3
      ;;
    pause)
      : >"$LE_CONFIG_HOME/paused-$2"
      while [ ! -e "$LE_CONFIG_HOME/resume-$2" ]; do sleep 0.1; done
      shift 2
      ;;
    *)
      _err "unknown step $1"
      exit 2
      ;;
  esac
done
`;

let suite: ClientSuite;
let bin: string;

beforeAll(async () => {
  suite = await startClientSuite({ name: 'acmesh', runs: 3 });
  // `npm install -g miab-dns01` puts this on PATH; the dnsapi script finds the tool there.
  bin = join(suite.root, 'global-bin');
  await mkdir(bin);
  await writeFile(join(bin, 'miab-dns01'), `#!/bin/sh\nexec node ${shellQuote(`${REPO}dist/cli/main.js`)} "$@"\n`);
  await writeFile(join(bin, 'acme.sh'), FAKE_ACME_SH);
  await chmod(join(bin, 'miab-dns01'), 0o755);
  await chmod(join(bin, 'acme.sh'), 0o755);
});

afterAll(async () => {
  await suite?.stop();
});

interface AcmeHome {
  readonly home: string;
  /** `~/.acme.sh` */
  readonly acmeHome: string;
  readonly accountConf: string;
}

async function installAcmeHome(dir: string): Promise<AcmeHome> {
  const home = join(dir, 'home');
  const acmeHome = join(home, '.acme.sh');
  await mkdir(join(acmeHome, 'dnsapi'), { recursive: true });
  // As docs/acme-sh.md says: the script is copied into acme.sh's dnsapi directory.
  await copyFile(join(HOOKS, 'dns_miab_dns01.sh'), join(acmeHome, 'dnsapi', 'dns_miab_dns01.sh'));
  return { home, acmeHome, accountConf: join(acmeHome, 'account.conf') };
}

/** The base every "acme.sh" run gets: no MIAB_* at all. */
function baseEnv(acme: AcmeHome, argvLog: string): Record<string, string> {
  return {
    PATH: `${suite.shimDir}:${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: acme.home,
    LANG: 'C.UTF-8',
    FAKE_ACME_HOME: acme.acmeHome,
    MIAB_TEST_ARGV_LOG: argvLog,
  };
}

/**
 * Runs the stand-in with `steps`; at each `pause LABEL` calls `checks[LABEL]` (the stand-in
 * still running), then lets it go on.
 */
async function runAcmeSh(
  acme: AcmeHome,
  env: Record<string, string>,
  steps: readonly string[],
  checks: Record<string, () => Promise<void>> = {},
): Promise<CommandRun> {
  const running = runCommand([requireBinary('dash'), join(bin, 'acme.sh'), ...steps], { env, cwd: acme.home, timeoutMs: 90_000 });
  let finished = false;
  void running.finally(() => (finished = true)).catch(() => undefined);
  for (const label of steps.filter((_, index) => steps[index - 1] === 'pause')) {
    const marker = join(acme.acmeHome, `paused-${label}`);
    while (!(await exists(marker))) {
      if (finished) {
        const run = await running;
        throw new Error(`acme.sh stand-in ended (exit ${String(run.exitCode)}) before pause ${label}\n${run.stdout}\n${run.stderr}`);
      }
      await sleep(50);
    }
    try {
      await checks[label]?.();
    } finally {
      await writeFile(join(acme.acmeHome, `resume-${label}`), '');
    }
  }
  return running;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The SAVED_* settings of account.conf. */
async function savedSettings(acme: AcmeHome): Promise<Record<string, string>> {
  const text = await readFile(acme.accountConf, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^SAVED_(\w+)='(.*)'$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1] ?? '', match[2] ?? '']),
  );
}

function expectNoSecretIn(email: string, places: readonly { label: string; text: string }[]): void {
  for (const secret of secretsOf(email)) {
    for (const place of places) expect(place.text.includes(secret), `a secret appears in ${place.label}`).toBe(false);
  }
}

function outputsOf(run: CommandRun, label: string): { label: string; text: string }[] {
  return [
    { label: `${label} argv`, text: run.argv.join(' ') },
    { label: `${label} stdout`, text: run.stdout },
    { label: `${label} stderr`, text: run.stderr },
  ];
}

/**
 * A renewal comes weeks later: the cached session has expired and the TOTP step of the first
 * login is long past, both for the box (which refuses the code it saw last) and for the
 * tool's own step record. Instead of sleeping into the next 30 s step: the emulator re-enrols
 * the same TOTP secret (forgetting the last code), and the state dir's session cache and step
 * record go away, as expiry would make them useless.
 */
async function timePasses(email: string, stateDir: string): Promise<void> {
  suite.topology.emulator.updateUser(email, { totpSecret: TEST_TOTP_SECRET });
  await rm(join(stateDir, 'sessions'), { recursive: true, force: true });
}

/** After the renewal's add: the value is live on both nameservers, the others untouched. */
async function expectServedEverywhere(values: readonly string[]): Promise<void> {
  const { primaryAddress, secondaryAddress, dnsPort } = suite.topology;
  for (const server of [`${primaryAddress}:${dnsPort}`, `${secondaryAddress}:${dnsPort}`]) {
    expect((await txtAt(server, NAME)).sort(), `TXT at ${NAME} on ${server}`).toEqual([...values, UNRELATED.value].sort());
  }
}

describe('acme.sh dnsapi script hooks/dns_miab_dns01.sh', () => {
  it('adds two values at one name, removes each exactly, keeps secrets out of account.conf, renews from saved settings', async () => {
    const { emulator } = suite.topology;
    const context = await suite.newRun('acmesh-env-password');
    const acme = await installAcmeHome(join(suite.root, 'acmesh-env-password'));
    // The first run: everything in the environment, the password and TOTP secret included,
    // the way acme.sh's own dns_miab is configured.
    const { MIAB_PASSWORD_FILE: _password, MIAB_TOTP_SECRET_FILE: _totp, ...topologyEnv } = await suite.topology.env({ MIAB_EMAIL: context.email, MIAB_STATE_DIR: context.stateDir });
    const firstEnv = { ...baseEnv(acme, context.argvLog), ...topologyEnv, MIAB_PASSWORD: TEST_PASSWORD, MIAB_TOTP_SECRET: TEST_TOTP_SECRET };

    const journal = watchJournal(context.stateDir);
    const first = await runAcmeSh(
      acme,
      firstEnv,
      ['add', NAME, VALUE_APEX, 'add', NAME, VALUE_WILDCARD, 'pause', 'added', 'rm', NAME, VALUE_APEX, 'pause', 'removed-one', 'rm', NAME, VALUE_WILDCARD],
      {
        added: async () => {
          // Both values live together on the primary and on the lagging secondary.
          await expectServedEverywhere([VALUE_APEX, VALUE_WILDCARD]);
          expect(challengeRecords(emulator).map(({ value }) => value).sort()).toEqual([VALUE_APEX, VALUE_WILDCARD, UNRELATED.value].sort());
          // A stale sweep meanwhile (cron, another run) must leave a running acme.sh's records alone.
          const sweep = await runCli(['cleanup', '--stale', '--dry-run'], { env: { ...topologyEnv, MIAB_PASSWORD: TEST_PASSWORD, MIAB_TOTP_SECRET: TEST_TOTP_SECRET } });
          expect(sweep.code).toBe(0);
          expect(sweep.stdout).not.toContain(VALUE_APEX);
          expect(sweep.stdout).not.toContain(VALUE_WILDCARD);
        },
        'removed-one': async () => {
          expect(challengeRecords(emulator).map(({ value }) => value).sort()).toEqual([VALUE_WILDCARD, UNRELATED.value].sort());
          const deletes = emulator.requests.filter((request) => request.method === 'DELETE');
          expect(deletes.map((request) => request.body.trim())).toEqual([VALUE_APEX]);
        },
      },
    );
    const sightings = await journal.stop();
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
    expect(loginCount(emulator)).toBe(1);
    // The records belonged to acme.sh itself, not to the subshell each call runs in.
    expect(sightings.map(({ value }) => value).sort()).toEqual([VALUE_APEX, VALUE_WILDCARD].sort());
    for (const sighting of sightings) expect(sighting.ownerPid).toBe(first.pid);

    // account.conf: the settings, and only the PATH of a 0600 file holding the secrets.
    const saved = await savedSettings(acme);
    expect(saved).toMatchObject({ MIAB_URL: emulator.url, MIAB_EMAIL: context.email, MIAB_STATE_DIR: context.stateDir });
    expect(Object.keys(saved)).not.toContain('MIAB_PASSWORD');
    expect(Object.keys(saved)).not.toContain('MIAB_TOTP_SECRET');
    const configFile = saved.MIAB_CONFIG ?? '';
    expect(configFile).not.toBe('');
    expect(await modeOf(configFile)).toBe(0o600);
    const credentials = await readFile(configFile, 'utf8');
    expect(credentials).toMatch(new RegExp(`^password = ${TEST_PASSWORD}$`, 'm'));
    expect(credentials).toMatch(new RegExp(`^totp_secret = ${TEST_TOTP_SECRET}$`, 'm'));
    const acmeFiles = (await filesUnder(acme.acmeHome)).filter((file) => file.path !== configFile);
    expectNoSecretIn(context.email, [
      ...outputsOf(first, 'first run'),
      { label: 'argv of the tool', text: await readFile(context.argvLog, 'utf8') },
      ...acmeFiles.map((file) => ({ label: file.path, text: file.text })),
      ...(await filesUnder(context.stateDir)).map((file) => ({ label: file.path, text: file.text })),
    ]);

    // Renewal: nothing but account.conf.
    await timePasses(context.email, context.stateDir);
    emulator.clearLog();
    const renewal = await runAcmeSh(acme, baseEnv(acme, context.argvLog), ['add', NAME, VALUE_RENEWAL, 'pause', 'renewal-added', 'rm', NAME, VALUE_RENEWAL], {
      'renewal-added': () => expectServedEverywhere([VALUE_RENEWAL]),
    });
    expect(renewal.exitCode, `${renewal.stdout}\n${renewal.stderr}`).toBe(0);
    expect(renewal.stderr).not.toMatch(/TOTP code was already used/);
    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
    expect(loginCount(emulator)).toBe(1);
    expect(await savedSettings(acme)).toEqual(saved);
    expectNoSecretIn(context.email, [
      ...outputsOf(renewal, 'renewal'),
      { label: 'argv of the tool', text: await readFile(context.argvLog, 'utf8') },
      { label: 'account.conf', text: await readFile(acme.accountConf, 'utf8') },
    ]);
  });

  it("takes acme.sh's own dns_miab names and a TOTP secret file, and renews from saved settings", async () => {
    const { emulator } = suite.topology;
    const context = await suite.newRun('acmesh-dns-miab-names');
    const acme = await installAcmeHome(join(suite.root, 'acmesh-dns-miab-names'));
    const name = '_acme-challenge.b.other.test';
    const { MIAB_URL, MIAB_EMAIL, MIAB_PASSWORD_FILE: _password, MIAB_TOTP_SECRET_FILE, ...rest } = await suite.topology.env({ MIAB_EMAIL: context.email, MIAB_STATE_DIR: context.stateDir });
    const firstEnv = {
      ...baseEnv(acme, context.argvLog),
      ...rest,
      // acme.sh's dns_miab settings, as a user switching over has them.
      MIAB_Server: MIAB_URL ?? '',
      MIAB_Username: MIAB_EMAIL ?? '',
      MIAB_Password: TEST_PASSWORD,
      MIAB_TOTP_SECRET_FILE: MIAB_TOTP_SECRET_FILE ?? '',
    };
    const first = await runAcmeSh(acme, firstEnv, ['add', name, VALUE_APEX, 'rm', name, VALUE_APEX]);
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(writtenValuesAt(name)).toEqual([VALUE_APEX]);
    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
    expect(loginCount(emulator)).toBe(1);

    const saved = await savedSettings(acme);
    expect(saved).toMatchObject({ MIAB_URL, MIAB_EMAIL: context.email, MIAB_TOTP_SECRET_FILE });
    for (const key of Object.keys(saved)) expect(key).not.toMatch(/^MIAB_(Password|Username|Server|PASSWORD|TOTP_SECRET)$/);
    expect(await modeOf(saved.MIAB_CONFIG ?? '')).toBe(0o600);

    await timePasses(context.email, context.stateDir);
    emulator.clearLog();
    const renewal = await runAcmeSh(acme, baseEnv(acme, context.argvLog), ['add', name, VALUE_RENEWAL, 'rm', name, VALUE_RENEWAL]);
    expect(renewal.exitCode, `${renewal.stdout}\n${renewal.stderr}`).toBe(0);
    expect(renewal.stderr).not.toMatch(/TOTP code was already used/);
    expect(writtenValuesAt(name)).toEqual([VALUE_RENEWAL]);
    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
    expect(loginCount(emulator)).toBe(1);
    expectNoSecretIn(context.email, [
      ...outputsOf(first, 'first run'),
      ...outputsOf(renewal, 'renewal'),
      { label: 'argv of the tool', text: await readFile(context.argvLog, 'utf8') },
      { label: 'account.conf', text: await readFile(acme.accountConf, 'utf8') },
    ]);
  });
  it('--domain-alias: the fulldomain acme.sh passes is the exact record name, written verbatim', async () => {
    const { emulator } = suite.topology;
    const context = await suite.newRun('acmesh-domain-alias');
    const acme = await installAcmeHome(join(suite.root, 'acmesh-domain-alias'));
    // `acme.sh --issue -d a.example.test --domain-alias x.acme.other.test`: acme.sh calls
    // dns_miab_dns01_add with the alias itself (no _acme-challenge. in front).
    const alias = 'x.acme.other.test';
    const env = { ...baseEnv(acme, context.argvLog), ...(await suite.topology.env({ MIAB_EMAIL: context.email, MIAB_STATE_DIR: context.stateDir })) };
    const run = await runAcmeSh(acme, env, ['add', alias, VALUE_APEX, 'pause', 'added', 'rm', alias, VALUE_APEX], {
      added: async () => {
        const written = emulator.records().filter((record) => record.rtype === 'TXT' && record.value === VALUE_APEX);
        expect(written.map((record) => record.qname)).toEqual([alias]);
      },
    });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    await expectBoxClean(emulator, context.stateDir);
    expectOnlyExactWrites(emulator);
  });
});

function writtenValuesAt(name: string): string[] {
  return writtenValues(suite.topology.emulator)
    .filter(({ path }) => path.endsWith(`/${name}/TXT`))
    .map(({ value }) => value);
}
