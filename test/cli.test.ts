/**
 * CLI habits through the real built CLI in child processes, against the emulator (TOTP on):
 * global options before the command, help everywhere, --quiet and --json, "--" anywhere
 * before the positionals, one configuration path for every command (issue --config), the
 * certbot hook's one-line summary, and completion scripts. No DNS (`present --no-wait`).
 */
import { execFileSync } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type MiabEmulator } from './emulator/index.js';
import { runCli } from './fixtures/cli.js';
import { startTopology, type Topology } from './fixtures/topology.js';
import { acmeValue, adminUsers, boxEnv, scratch, STACK_TRACE, TEST_PASSWORD, TEST_TOTP_SECRET, txt, type Scratch } from './hardening/helpers.js';
import { scratchDir } from './fixtures/scratch.js';

let emulator: MiabEmulator;
let where: Scratch;
let users = 0;

beforeAll(async () => {
  emulator = await startEmulator({ zones: ['example.test', 'other.test'], users: adminUsers('cli-', 40) });
  where = await scratch('cli');
});

afterAll(async () => {
  await emulator.stop();
  await rm(where.dir, { recursive: true, force: true });
});

/** Each test its own account and state dir: the box refuses a TOTP code it saw last from the same user. */
function account(): { email: string; stateDir: string; env: Record<string, string> } {
  const index = users++;
  const email = `cli-${index}@example.test`;
  const stateDir = join(where.dir, `state-${index}`);
  return { email, stateDir, env: boxEnv(emulator, email, { ...where, stateDir }) };
}

describe('global options and help', () => {
  it('takes global options before the command, as git and lego do', async () => {
    const { email, stateDir } = account();
    const env = { MIAB_PASSWORD_FILE: where.passwordFile, MIAB_TOTP_SECRET_FILE: where.totpFile };
    const result = await runCli(['--url', emulator.url, '--email', email, `--state-dir=${stateDir}`, '--debug', 'zones'], { env });
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('example.test\nother.test\n');
    expect(result.stderr).toMatch(/debug: /);
    expect(result.stderr).not.toContain(TEST_PASSWORD);
    // Given both before and after the command: refused, not silently one of them.
    const twice = await runCli(['--url', emulator.url, 'zones', '--url', emulator.url], { env });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/\[usage\].*--url given twice/);
  });

  it.each([
    [['help', 'present']],
    [['present', '--help']],
    [['present', '-h']],
    [['--help', 'present']],
    [['cleanup', '--stale', '-h']],
    [['issue', '--help']],
    [['issue', '-d', 'x.example.test', '--bogus', '--help']],
  ])('%j prints that command\'s own help, exit 0', async (args) => {
    const result = await runCli(args, { env: {} });
    expect(result.code, result.stderr).toBe(0);
    const command = args.find((arg) => !arg.startsWith('-') && arg !== 'help' && arg !== 'x.example.test');
    expect(result.stdout.startsWith(`Usage: miab-dns01 ${command ?? ''}`), result.stdout).toBe(true);
    expect(result.stderr).toBe('');
  });

  it('lists the commands with --help and help; an unknown command is a usage error', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = await runCli(args, { env: {} });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Commands:\n {2}miab-dns01 present \[--no-wait\] <name> <value>\n/);
    }
    const unknown = await runCli(['help', 'presnt'], { env: {} });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "presnt"/);
  });
});

describe('--quiet and --json', () => {
  it('zones and check print JSON on stdout, logs on stderr', async () => {
    const { email, env } = account();
    const zones = await runCli(['--json', 'zones'], { env });
    expect(zones.code, zones.stderr).toBe(0);
    expect(JSON.parse(zones.stdout)).toEqual({ zones: ['example.test', 'other.test'] });
    const check = await runCli(['check', '--json'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, box: emulator.url, authMode: 'session', account: email, totp: true, session: 'reused', zones: ['example.test', 'other.test'] });
  });

  it('cleanup --stale --dry-run --json lists stale records as JSON', async () => {
    const { env } = account();
    const result = await runCli(['cleanup', '--stale', '--dry-run', '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ stale: [] });
  });

  it('--quiet prints nothing on success and the error on failure', async () => {
    const { env } = account();
    const ok = await runCli(['--quiet', 'check'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).toBe('');
    const value = acmeValue();
    const written = await runCli(['present', '-q', '--no-wait', 'quiet.example.test', value], { env });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toBe('');
    expect(txt(emulator, '_acme-challenge.quiet.example.test')).toEqual([value]);
    await runCli(['cleanup', '-q', 'quiet.example.test', value], { env });
    const failed = await runCli(['-q', 'present', '--no-wait', 'www.not-on-this-box.test', value], { env });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^miab-dns01: error \[zone-not-found\]/);
  });

  it('--json on failure: the error as JSON on stdout too; refused by commands without a result', async () => {
    const failed = await runCli(['zones', '--json'], { env: { MIAB_STATE_DIR: join(where.dir, 'none') } });
    expect(failed.code).toBe(2);
    expect(JSON.parse(failed.stdout)).toMatchObject({ error: { code: 'config-missing' } });
    const refused = await runCli(['present', '--json', 'a.example.test', acmeValue()], { env: account().env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--json is available for zones, check, cleanup --stale and issue/);
  });
});

describe('"--" and values that look like options', () => {
  const rows: readonly (readonly string[])[] = [
    ['present', '--no-wait', 'dash1.example.test', '--', `-N${acmeValue().slice(2)}`],
    ['present', '--no-wait', '--', 'dash2.example.test', `--${acmeValue().slice(2)}`],
    ['present', '--no-wait', 'dash3.example.test', `-${acmeValue().slice(1)}`],
    ['present', '--no-wait', 'dash4.example.test', `--${acmeValue().slice(2)}`],
    ['--debug', 'present', '--no-wait', 'dash5.example.test', '--', `--${acmeValue().slice(2)}`],
  ];
  it.each(rows.map((args) => ({ args, line: args.join(' ') })))('$line writes the value verbatim and cleanup removes it', async ({ args }) => {
    const { env } = account();
    const name = args.find((arg) => arg.endsWith('.example.test')) ?? '';
    const value = args.at(-1) ?? '';
    const result = await runCli(args, { env });
    expect(result.code, result.stderr).toBe(0);
    expect(txt(emulator, `_acme-challenge.${name}`)).toEqual([value]);
    const removed = await runCli(['cleanup', name, '--', value], { env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(txt(emulator, `_acme-challenge.${name}`)).toEqual([]);
  });
});

describe('one configuration path', () => {
  it('issue reads --config (the box is asked: the name is outside its zones) and says --email is deprecated', async () => {
    const { email, stateDir } = account();
    const file = join(where.dir, 'issue.conf');
    await writeFile(file, `url = ${emulator.url}\nemail = ${email}\npassword = "${TEST_PASSWORD}"  # quoted\ntotp_secret = ${TEST_TOTP_SECRET}   # only when 2FA is on\nstate_dir = ${stateDir}\n`, { mode: 0o600 });
    const result = await runCli(['issue', '--config', file, '--agree-tos', '--dry-run', '--email', 'me@example.test', '-d', 'www.not-on-this-box.test'], { env: {} });
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\[zone-not-found\]/);
    expect(result.stderr).toMatch(/"issue --email" is deprecated: use --contact/);
    // Before the command, --config means the same.
    const before = await runCli(['--config', file, 'issue', '--agree-tos', '--dry-run', '--contact', 'me@example.test', '-d', 'www.not-on-this-box.test'], { env: {} });
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/\[zone-not-found\]/);
    expect(before.stderr).not.toMatch(/deprecated/);
  });

  it('the hooks take global options too', async () => {
    const { email, stateDir } = account();
    const value = acmeValue('-');
    const env = { MIAB_PASSWORD_FILE: where.passwordFile, MIAB_TOTP_SECRET_FILE: where.totpFile, CERTBOT_DOMAIN: 'hookflags.example.test', CERTBOT_VALIDATION: value, CERTBOT_REMAINING_CHALLENGES: '1' };
    const flags = ['--url', emulator.url, '--email', email, '--state-dir', stateDir];
    const result = await runCli([...flags, 'hook', 'certbot-auth'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(txt(emulator, '_acme-challenge.hookflags.example.test')).toEqual([value]);
    const cleaned = await runCli([...flags, 'hook', 'certbot-cleanup'], { env });
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(txt(emulator, '_acme-challenge.hookflags.example.test')).toEqual([]);
  });
});

describe('certbot hook output', () => {
  it('prints at most a one-line summary; the steps with MIAB_DEBUG', async () => {
    const { env } = account();
    const value = acmeValue();
    const certbot = { ...env, CERTBOT_DOMAIN: 'summary.example.test', CERTBOT_VALIDATION: value, CERTBOT_REMAINING_CHALLENGES: '1' };
    const auth = await runCli(['hook', 'certbot-auth'], { env: certbot });
    expect(auth.code, auth.stderr).toBe(0);
    expect(auth.stderr.split('\n').filter(Boolean).length, auth.stderr).toBeLessThanOrEqual(1);
    const cleanup = await runCli(['hook', 'certbot-cleanup'], { env: certbot });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stderr.split('\n').filter(Boolean).length, cleanup.stderr).toBeLessThanOrEqual(1);
    const debug = await runCli(['hook', 'certbot-auth'], { env: { ...certbot, MIAB_DEBUG: '1' } });
    expect(debug.code, debug.stderr).toBe(0);
    expect(debug.stderr.split('\n').filter(Boolean).length).toBeGreaterThan(2);
    await runCli(['hook', 'certbot-cleanup'], { env: certbot });
    expect(txt(emulator, '_acme-challenge.summary.example.test')).toEqual([]);
  });

  it("names the hook in its error line, as in its log lines", async () => {
    const { env } = account();
    const result = await runCli(['hook', 'certbot-auth'], { env: { ...env, CERTBOT_DOMAIN: 'www.not-on-this-box.test', CERTBOT_VALIDATION: acmeValue() } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^miab-dns01 certbot-auth: error \[zone-not-found\]/m);
  });
});

describe('shell completion and man page', () => {
  it('completion bash and zsh print scripts; man prints roff', async () => {
    const bash = await runCli(['completion', 'bash'], { env: {} });
    expect(bash.code).toBe(0);
    execFileSync('bash', ['-n'], { input: bash.stdout });
    expect(bash.stdout).toContain('complete -F _miab_dns01 miab-dns01');
    const zsh = await runCli(['completion', 'zsh'], { env: {} });
    expect(zsh.code).toBe(0);
    expect(zsh.stdout.startsWith('#compdef miab-dns01')).toBe(true);
    const man = await runCli(['man'], { env: {} });
    expect(man.code).toBe(0);
    expect(man.stdout).toMatch(/^\.TH MIAB-DNS01 1/);
    const bad = await runCli(['completion', 'fish'], { env: {} });
    expect(bad.code).toBe(2);
  });
});

describe('issue --dry-run against Pebble', () => {
  let topology: Topology | undefined;
  beforeAll(async () => {
    topology = await startTopology({ pebble: true, lagMs: 500 });
  });
  afterAll(async () => {
    await topology?.stop();
  });

  it('runs a full order, saves no certificate, runs no deploy hook; --json result, --quiet stderr', async () => {
    const pebble = topology?.pebble;
    if (topology === undefined || pebble === undefined) throw new Error('Pebble did not start');
    const out = await scratchDir('cli-dry');
    try {
      const marker = join(out, 'deployed');
      const env = await topology.env({ NODE_EXTRA_CA_CERTS: pebble.caFile });
      const args = ['issue', '--dry-run', '--json', '--quiet', '--agree-tos', '--contact', 'ops@example.test', '--server', pebble.directoryUrl, '-d', 'dry.example.test', '--out', join(out, 'cert'), '--deploy-hook', `touch ${marker}`];
      const result = await runCli(args, { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toMatchObject({ issued: true, dryRun: true, domains: ['dry.example.test'], directory: pebble.directoryUrl, notAfter: expect.any(String) });
      // Nothing saved, no hook run, no record left.
      expect(await readdir(out)).toEqual([]);
      expect(topology.emulator.records().filter((record) => record.rtype === 'TXT')).toEqual([]);
      expect(topology.emulator.requests.filter((request) => request.method === 'POST' && request.path.includes('/dns/custom')).length).toBe(1);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
