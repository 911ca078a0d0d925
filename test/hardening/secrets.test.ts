/**
 * Secret hygiene across every entry point: the CLI commands and the hook scripts run with the
 * distinctive password and TOTP secret (straight in the environment, the riskiest way), and
 * neither they, nor the Basic credentials built from them, nor the session key, ever show up
 * in stdout, stderr, a state file, or the command line of any process of the run (sampled
 * from /proc while the runs wait for propagation). MIAB_DEBUG=1 shows the HTTP exchanges
 * with the credentials redacted.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpStep } from '../../src/providers/mailinabox/totp.js';
import { usingRuntime } from '../../src/runtime.js';
import type { Logger } from '../../src/util/log.js';
import { totpAtStep } from '../emulator/index.js';
import { REPO, runCli, runProgram, type CliResult } from '../fixtures/cli.js';
import { startTopology, type Topology } from '../fixtures/topology.js';
import { acmeValue, adminUsers, allFileContents, CmdlineSampler, logins, STACK_TRACE, TEST_PASSWORD, TEST_TOTP_SECRET, txt, walk } from './helpers.js';

const EMAIL = 'secrets-0@example.test';
const DEBUG_EMAIL = 'secrets-1@example.test';

let topology: Topology;

beforeAll(async () => {
  topology = await startTopology({ lagMs: 800, users: adminUsers('secrets-', 3) });
});

afterAll(async () => {
  await topology?.stop();
});

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/** Every form of the account's secrets that must never be printed, written or passed as argv. */
function forbidden(email: string, sessionKeys: readonly string[] = []): string[] {
  return [
    TEST_PASSWORD,
    TEST_TOTP_SECRET,
    TEST_TOTP_SECRET.toLowerCase(),
    base64(`${email}:${TEST_PASSWORD}`),
    encodeURIComponent(TEST_PASSWORD),
    ...sessionKeys.flatMap((key) => [key, base64(`${email}:${key}`)]),
  ];
}

function expectClean(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) {
    expect(text.includes(secret), `${where} contains ${JSON.stringify(secret.slice(0, 6))}...:\n${text}`).toBe(false);
  }
}

/** Session keys in the state dir's cache files (readable by the test, which owns them). */
async function sessionKeys(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'sessions');
  const keys: string[] = [];
  for (const file of await readdir(dir).catch(() => [])) {
    if (!/^[0-9a-f]+\.json$/.test(file)) continue;
    const parsed: unknown = JSON.parse(await readFile(join(dir, file), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'apiKey' in parsed && typeof parsed.apiKey === 'string') keys.push(parsed.apiKey);
  }
  return keys;
}

const hook = (name: string): string => join(REPO, 'hooks', name);

describe('secrets never leak', () => {
  it('through any entry point: output, state files, or any command line of the run', async () => {
    const { emulator } = topology;
    const stateDir = join(topology.dir, 'secrets-state');
    const fileEnv = await topology.env({ MIAB_EMAIL: EMAIL, MIAB_STATE_DIR: stateDir });
    // The secrets straight in the environment (what an ACME client's hook config often does).
    const { MIAB_PASSWORD_FILE: _password, MIAB_TOTP_SECRET_FILE: _totp, ...rest } = fileEnv;
    const env = { ...rest, MIAB_PASSWORD: TEST_PASSWORD, MIAB_TOTP_SECRET: TEST_TOTP_SECRET };
    const [v1, v2, v3, v4, v5] = [acmeValue('-'), acmeValue(), acmeValue('--'), acmeValue(), acmeValue('-')];
    const keyAuthorization = `token-abc.${acmeValue()}`;
    const certbot = (domain: string, value: string): Record<string, string> => ({
      ...env,
      CERTBOT_DOMAIN: domain,
      CERTBOT_VALIDATION: value,
      CERTBOT_TOKEN: '',
      CERTBOT_REMAINING_CHALLENGES: '0',
      CERTBOT_ALL_DOMAINS: domain,
    });

    // [label, argv, env, expected exit code]
    const runs: [string, string[], Record<string, string>, number][] = [
      ['present', ['present', 'a.example.test', v1], env, 0],
      ['wait', ['wait', 'a.example.test', v1], env, 0],
      ['zones', ['zones'], env, 0],
      ['zones (secrets as _FILE)', ['zones'], fileEnv, 0],
      ['check', ['check'], env, 0],
      ['cleanup', ['cleanup', 'a.example.test', v1], env, 0],
      ['certbot-auth', [hook('certbot-auth')], certbot('cb.example.test', v2), 0],
      ['certbot-cleanup', [hook('certbot-cleanup')], certbot('cb.example.test', v2), 0],
      ['lego-exec present', [hook('lego-exec'), 'present', '_acme-challenge.lg.example.test.', v3], env, 0],
      ['lego-exec cleanup', [hook('lego-exec'), 'cleanup', '_acme-challenge.lg.example.test.', v3], env, 0],
      ['lego-exec RAW present', [hook('lego-exec'), 'present', '--', 'lr.example.test', 'token-abc', keyAuthorization], { ...env, EXEC_MODE: 'RAW' }, 0],
      ['lego-exec RAW cleanup', [hook('lego-exec'), 'cleanup', '--', 'lr.example.test', 'token-abc', keyAuthorization], { ...env, EXEC_MODE: 'RAW' }, 0],
      ['dehydrated-hook startup_hook', [hook('dehydrated-hook'), 'startup_hook'], env, 0],
      ['dehydrated-hook deploy_challenge', [hook('dehydrated-hook'), 'deploy_challenge', 'dh.example.test', 'token-file', v4], env, 0],
      ['dehydrated-hook clean_challenge', [hook('dehydrated-hook'), 'clean_challenge', 'dh.example.test', 'token-file', v4], env, 0],
      ['present (bad value)', ['present', 'a.example.test', `"${v5}"`], env, 2],
      ['cleanup --stale --dry-run', ['cleanup', '--stale', '--dry-run'], env, 0],
      ['cleanup --stale', ['cleanup', '--stale'], env, 0],
      ['logout', ['logout'], env, 0],
      ['a wrong password', ['zones'], { ...env, MIAB_EMAIL: 'secrets-2@example.test', MIAB_PASSWORD: `${TEST_PASSWORD}-wrong`, MIAB_STATE_DIR: join(topology.dir, 'secrets-wrong') }, 2],
    ];

    const sampler = new CmdlineSampler().start(10);
    const results: { label: string; result: CliResult }[] = [];
    const keys = new Set<string>();
    try {
      for (const [label, argv, runEnv, code] of runs) {
        const onSpawn = (pid: number): void => sampler.add(pid);
        const result = argv[0]?.startsWith('/') ? await runProgram(argv, { env: runEnv, onSpawn }) : await runCli(argv, { env: runEnv, onSpawn });
        sampler.sample();
        expect(result.code, `${label}: ${result.stderr}`).toBe(code);
        expect(result.stderr, label).not.toMatch(STACK_TRACE);
        results.push({ label, result });
        for (const key of await sessionKeys(stateDir)) keys.add(key);
      }
    } finally {
      sampler.stop();
    }

    const secrets = forbidden(EMAIL, [...keys]);
    expect(keys.size).toBe(1); // one session for the whole story, ended by logout
    for (const { label, result } of results) {
      expectClean(result.stdout, [...secrets, `${TEST_PASSWORD}-wrong`], `stdout of ${label}`);
      expectClean(result.stderr, [...secrets, `${TEST_PASSWORD}-wrong`], `stderr of ${label}`);
    }
    // The waits were real (so the sampler saw the runs' processes while they lasted).
    expect(results.find((run) => run.label === 'present')?.result.stderr).toMatch(/all 2 nameservers serve the record/);
    const cmdlines = [...sampler.seen.values()];
    expect(cmdlines.some((cmdline) => cmdline.includes('dist/cli/main.js present'))).toBe(true);
    expect(cmdlines.some((cmdline) => cmdline.includes('dist/cli/main.js hook certbot-auth'))).toBe(true);
    expect(cmdlines.some((cmdline) => cmdline.includes('dist/cli/main.js hook lego-exec'))).toBe(true);
    expect(cmdlines.some((cmdline) => cmdline.includes('dist/cli/main.js hook dehydrated-hook'))).toBe(true);
    for (const cmdline of cmdlines) expectClean(cmdline, [...secrets, `${TEST_PASSWORD}-wrong`], `the command line "${cmdline.slice(0, 80)}"`);

    // State files: no password or TOTP secret in any; the session key only in the (now deleted) cache.
    for (const dir of [stateDir, join(topology.dir, 'secrets-wrong')]) {
      expectClean(await allFileContents(dir).catch(() => ''), secrets, `the state dir ${dir}`);
    }
    // Everything written was taken back; logout ended the session on the box and here.
    for (const name of ['a', 'cb', 'lg', 'lr', 'dh']) expect(txt(emulator, `_acme-challenge.${name}.example.test`)).toEqual([]);
    expect(await sessionKeys(stateDir)).toEqual([]);
    expect(logins(emulator).length).toBe(2); // ours, and the refused wrong password
  }, 120_000);

  it('MIAB_DEBUG=1 shows the requests with the Authorization header and TOTP code redacted', async () => {
    const stateDir = join(topology.dir, 'secrets-debug-state');
    const env = await topology.env({ MIAB_EMAIL: DEBUG_EMAIL, MIAB_STATE_DIR: stateDir, MIAB_DEBUG: '1' });
    const value = acmeValue('-');
    // The TOTP codes the login may have used (current step, and the next in case it waited).
    const step = totpStep(Date.now());
    const codes = [step - 1, step, step + 1, step + 2].map((at) => totpAtStep(TEST_TOTP_SECRET, at));

    const zones = await runCli(['zones'], { env });
    expect(zones.code, zones.stderr).toBe(0);
    const present = await runCli(['present', '--no-wait', 'dbg.example.test', value], { env: { ...env, MIAB_DEBUG: '' } });
    expect(present.code).toBe(0);
    const cleanup = await runCli(['cleanup', '--debug', 'dbg.example.test', value], { env: { ...env, MIAB_DEBUG: '' } });
    expect(cleanup.code).toBe(0);
    expect(present.stderr).not.toContain('debug:'); // debug output only when asked for

    const keys = await sessionKeys(stateDir);
    expect(keys).toHaveLength(1);
    const output = `${zones.stdout}${zones.stderr}${cleanup.stdout}${cleanup.stderr}`;
    // The requests are shown...
    expect(zones.stderr).toMatch(/debug: > POST http:\/\/127\.0\.0\.1:\d+\/admin\/login /);
    expect(zones.stderr).toMatch(/debug: > GET http:\/\/127\.0\.0\.1:\d+\/admin\/dns\/zones /);
    expect(zones.stderr).toMatch(/debug: < 200 POST .*\/admin\/login/);
    expect(cleanup.stderr).toMatch(/debug: > DELETE http:\/\/127\.0\.0\.1:\d+\/admin\/dns\/custom\/_acme-challenge\.dbg\.example\.test\/TXT /);
    // ...with the credentials masked: no Basic credentials, no session key, no TOTP code.
    const authorizations = output.match(/authorization: [^;\n]*/gi) ?? [];
    expect(authorizations.length).toBeGreaterThanOrEqual(3);
    for (const header of authorizations) expect(header).toBe('authorization: Basic [redacted]');
    expectClean(output, forbidden(DEBUG_EMAIL, keys), 'the debug output');
    expect(output).not.toMatch(/x-auth-token: \d/i);
    for (const code of codes) expect(output).not.toMatch(new RegExp(`\\b${code}\\b`));
    expect(output).not.toMatch(/"api_key"\s*:\s*"[0-9a-f]/);
  });

  it('a library caller\'s own logger never sees credentials, TOTP codes or session keys', async () => {
    const email = 'secrets-2@example.test';
    const stateDir = join(topology.dir, 'secrets-library-state');
    const env = await topology.env({ MIAB_EMAIL: email, MIAB_STATE_DIR: stateDir });
    const step = totpStep(Date.now());
    const codes = [step - 1, step, step + 1, step + 2].map((at) => totpAtStep(TEST_TOTP_SECRET, at));
    const lines: string[] = [];
    // What a library user hands in: everything, debug included, straight to its own sink.
    const log: Logger = { info: (line) => void lines.push(line), warn: (line) => void lines.push(line), debug: (line) => void lines.push(line) };
    const value = acmeValue();
    await usingRuntime({ env, log }, async (runtime) => {
      expect(await runtime.provider.store.zones()).toContain('example.test');
      await runtime.engine.present([{ name: 'lib.example.test', value }], { wait: false });
      await runtime.engine.cleanup('lib.example.test', value);
    });
    const output = lines.join('\n');
    expect(output).toMatch(/> POST http:\/\/127\.0\.0\.1:\d+\/admin\/login authorization: Basic \[redacted\]; accept: application\/json; x-auth-token: \[redacted\]/);
    expect(output).toMatch(/> DELETE .*authorization: Basic \[redacted\]/);
    const keys = await sessionKeys(stateDir);
    expect(keys).toHaveLength(1);
    expectClean(output, forbidden(email, keys), 'the library logger');
    for (const code of codes) expect(output).not.toMatch(new RegExp(`\\b${code}\\b`));
    expect(output).not.toMatch(/"api_key"\s*:\s*"[0-9a-f]/);
  });

  it('state files and directories are private: files 0600, directories 0700', async () => {
    // The state dirs the runs above created (session cache, TOTP step, journal, locks).
    for (const name of ['secrets-state', 'secrets-debug-state', 'secrets-wrong']) {
      const entries = await walk(join(topology.dir, name));
      expect(entries.length).toBeGreaterThan(1);
      for (const entry of entries) {
        expect(entry.kind, entry.path).not.toBe('other');
        expect(entry.mode.toString(8), entry.path).toBe(entry.kind === 'dir' ? '700' : '600');
      }
      // No temp file left behind by the atomic writes.
      expect(entries.filter((entry) => entry.path.endsWith('.tmp'))).toEqual([]);
    }
  });
});
