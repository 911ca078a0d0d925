/**
 * Fuzzing the parsers (names, values, arguments, configuration) in-process, and the CLI as a
 * process. Inputs come from a seeded PRNG: a failure prints the seed and the input, and
 * MIAB_FUZZ_SEED=<seed> replays it. Properties:
 * - a parser either returns a well-formed result or throws a MiabDns01Error (a ConfigError),
 *   never a TypeError, RangeError, URIError...;
 * - the CLI exits 0, 1 or 2, never prints a stack trace, never writes to the box.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findZone, normalizeDomain, parseChallengeName, txtValueFromKeyAuthorization, validateTxtValue } from '../../src/challenge/names.js';
import { GLOBAL_OPTIONS, parseArgs, parseDuration, recordPairs, type OptionSpec } from '../../src/cli/args.js';
import { isLoopbackHost, loadBoxConfig, normalizeApiUrl, normalizeFingerprint, normalizeTotpSecret, sessionSecrets } from '../../src/config/config.js';
import { parseCredentials } from '../../src/config/credentials-file.js';
import { collectSettings, SETTING_NAMES } from '../../src/config/settings.js';
import { ConfigError, MiabDns01Error } from '../../src/errors.js';
import { parsePropagationSettings } from '../../src/propagation/settings.js';
import { redact } from '../../src/secrets.js';
import { totpCodeAt } from '../../src/util/totp-code.js';
import { startEmulator, type MiabEmulator } from '../emulator/index.js';
import { runCli, type CliResult } from '../fixtures/cli.js';
import { dnsWrites, prng, STACK_TRACE, TEST_PASSWORD } from './helpers.js';
import { scratchDir } from '../fixtures/scratch.js';

const SEED = Number(process.env.MIAB_FUZZ_SEED ?? 0x5eed2024);
const CASES = 3000;

/** Random choices, all from one seeded stream. */
class Gen {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = prng(seed);
  }
  float(): number {
    return this.#next();
  }
  int(max: number): number {
    return Math.floor(this.#next() * max);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  string(alphabet: readonly string[], maxLength: number): string {
    let out = '';
    const length = this.chance(0.05) ? maxLength + this.int(40) : this.int(maxLength + 1);
    for (let i = 0; i < length; i++) out += this.pick(alphabet);
    return out;
  }
}

const LOWER = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
const HOSTISH = [...LOWER, ...'ABCXYZ-_.*', '-', '.', '.'];
/** Characters that break things: controls, quotes, separators, Unicode oddities, lone surrogates. */
const NASTY = [
  ' ', '\t', '\n', '\r', '\0', '\x7f', '"', "'", '\\', '/', '%', '@', ':', ';', '#', '?', '=', '[', ']', '{', '}', '`', '$', '~', '!', '&', '|', '<', '>',
  'ü', 'ß', 'İ', 'ı', 'Ⅸ', 'ﬁ', '中', '文', '😀', '\u0301', '\u200d', '\u00ad', '\u200b', '\ufeff', '\u202e', '。', '．', 'ｅ', 'Ａ', '\u3002',
  '\ud800', '\udfff', '\uffff', 'xn--', 'xn--zz', '_acme-challenge.', '*.', '..', 'ǅ', 'K', 'ſ',
];
const B64 = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.'];

function label(gen: Gen): string {
  const lengths = [1, 2, 5, 62, 63, 64, 70];
  return gen.chance(0.3) ? 'a'.repeat(gen.pick(lengths)) : gen.string(gen.chance(0.8) ? HOSTISH : [...HOSTISH, ...NASTY], 12);
}

function nameLike(gen: Gen): string {
  if (gen.chance(0.15)) return gen.string([...HOSTISH, ...NASTY], 40);
  const labels = Array.from({ length: 1 + gen.int(gen.chance(0.1) ? 8 : 4) }, () => label(gen));
  let name = labels.join('.');
  if (gen.chance(0.3)) name += gen.pick(['.example.test', '.other.test', '.test', '.EXAMPLE.TEST', '.xn--bcher-kva.test']);
  if (gen.chance(0.2)) name = `${gen.pick(['*.', '_acme-challenge.', '*.*.', '_acme-challenge._acme-challenge.', '.', ' '])}${name}`;
  if (gen.chance(0.2)) name += gen.pick(['.', '..', ' ', '\n', '。']);
  if (gen.chance(0.1)) name = name.toUpperCase();
  if (gen.chance(0.05)) name = `${'abcdefghij'.repeat(26)}.${name}`;
  return name;
}

function valueLike(gen: Gen): string {
  const base = gen.string(B64, gen.chance(0.1) ? 260 : 50);
  if (gen.chance(0.6)) return base;
  const nasty = gen.pick(NASTY);
  const at = gen.int(base.length + 1);
  return base.slice(0, at) + nasty + base.slice(at);
}

function anyText(gen: Gen, maxLength = 30): string {
  return gen.string([...LOWER, ...B64, ...NASTY, ...'ABC .:-'], maxLength);
}

function urlLike(gen: Gen): string {
  const scheme = gen.pick(['https://', 'http://', '', 'ftp://', 'HTTPS://', 'http:/', 'https:///', 'javascript:', '//']);
  const userinfo = gen.chance(0.1) ? `${anyText(gen, 5)}@` : '';
  const host = gen.pick(['box.example.com', '127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]', '127.0.0.1.nip.io', '0x7f000001', '2130706433', '192.0.2.1', 'LOCALHOST', 'bücher.test', '', ' ', nameLike(gen)]);
  const port = gen.chance(0.3) ? `:${gen.pick(['443', '0', '65535', '65536', '-1', 'x', '', '10222'])}` : '';
  const path = gen.pick(['', '/', '/admin', '/admin/', '//admin', '/admin?x=1', '/admin#frag', `/${anyText(gen, 8)}`]);
  return gen.chance(0.1) ? anyText(gen, 40) : `${scheme}${userinfo}${host}${port}${path}`;
}

function fingerprintLike(gen: Gen): string {
  const hex = gen.string([...'0123456789abcdefABCDEF'], 70);
  const colons = gen.chance(0.5) ? (hex.match(/.{1,2}/g) ?? []).join(':') : hex;
  return `${gen.chance(0.2) ? gen.pick(['sha256 Fingerprint=', 'SHA256 Fingerprint=', '=', 'a=b=']) : ''}${gen.chance(0.1) ? anyText(gen) : colons}`;
}

function secretLike(gen: Gen): string {
  return gen.chance(0.7) ? gen.string([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abc =-18'], 40) : anyText(gen, 40);
}

function argvLike(gen: Gen, pairs: boolean): string[] {
  const tokens = ['--no-wait', '--stale', '--dry-run', '--older-than', '--url', '--email', '--debug', '--', '-', '--bogus', '-x', '--url=', '--password', '--api-key=1', '-d', '--no-wait=1', '--debug=yes', '---', '--=', '-abc'];
  return Array.from({ length: gen.int(7) }, () => {
    const roll = gen.float();
    if (roll < 0.35) return gen.pick(tokens);
    if (roll < 0.6) return nameLike(gen);
    if (roll < 0.85) return (pairs ? '' : '') + valueLike(gen);
    return anyText(gen);
  });
}

/** Runs `fn` and returns what it threw, failing the test (with the seed and input) if it is not ours. */
function expectOnlyOurErrors<T>(what: string, input: unknown, fn: () => T): { ok: true; value: T } | { ok: false; error: MiabDns01Error } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof MiabDns01Error && typeof error.message === 'string' && error.message.length > 0) return { ok: false, error };
    throw new Error(`${what}(${JSON.stringify(input)}) threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} (MIAB_FUZZ_SEED=${SEED})`, { cause: error });
  }
}

const CHALLENGE_FQDN = /^_acme-challenge(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)+$/;

describe(`parser fuzz (seed ${SEED}, ${CASES} cases each)`, () => {
  it('names: a well-formed challenge name or invalid-name', () => {
    const gen = new Gen(SEED);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const input = nameLike(gen);
      const result = expectOnlyOurErrors('parseChallengeName', input, () => parseChallengeName(input));
      expectOnlyOurErrors('normalizeDomain', input, () => normalizeDomain(input));
      if (!result.ok) {
        expect(result.error, JSON.stringify(input)).toBeInstanceOf(ConfigError);
        expect(result.error.code).toBe('invalid-name');
        continue;
      }
      accepted++;
      const { fqdn, domain } = result.value;
      const context = `${JSON.stringify(input)} -> ${fqdn} (MIAB_FUZZ_SEED=${SEED})`;
      expect(fqdn, context).toMatch(CHALLENGE_FQDN);
      expect(fqdn.length, context).toBeLessThanOrEqual(253);
      expect(fqdn, context).toBe(`_acme-challenge.${domain}`);
      // Normal forms are fixed points: the box matches names exactly.
      expect(parseChallengeName(fqdn).fqdn, context).toBe(fqdn);
      expect(parseChallengeName(`${fqdn}.`).fqdn, context).toBe(fqdn);
      expect(findZone(fqdn, ['example.test', 'other.test']) === undefined || /\.(example|other)\.test$/.test(fqdn), context).toBe(true);
    }
    // The generator must reach both outcomes, or it tests nothing.
    expect(accepted).toBeGreaterThan(CASES / 20);
    expect(accepted).toBeLessThan(CASES);
  });

  it('values: returned unchanged and box-safe, or invalid-value', () => {
    const gen = new Gen(SEED + 1);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const input = valueLike(gen);
      const result = expectOnlyOurErrors('validateTxtValue', input, () => validateTxtValue(input));
      if (!result.ok) {
        expect(result.error.code).toBe('invalid-value');
        continue;
      }
      accepted++;
      expect(result.value).toBe(input);
      // What the box stores unchanged: printable ASCII, no quotes or whitespace, at most 255.
      expect(input, JSON.stringify(input)).toMatch(/^[\x21-\x7e]{1,255}$/);
      expect(input).not.toMatch(/["'\\\s]/);
      expect(validateTxtValue(txtValueFromKeyAuthorization(anyText(gen, 80)))).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(accepted).toBeGreaterThan(CASES / 4);
    expect(accepted).toBeLessThan(CASES);
  });

  it('command lines: parsed, or a usage error', () => {
    const gen = new Gen(SEED + 2);
    const specs: readonly OptionSpec[] = [
      { name: 'no-wait', takesValue: false },
      { name: 'stale', takesValue: false },
      { name: 'older-than', takesValue: true },
      { name: 'dry-run', takesValue: false },
      { name: 'domain', short: 'd', takesValue: true, repeatable: true },
    ];
    for (let i = 0; i < CASES; i++) {
      const argv = argvLike(gen, true);
      const pairs = gen.chance(0.5);
      const parsed = expectOnlyOurErrors('parseArgs', argv, () => parseArgs(argv, specs, pairs));
      if (!parsed.ok) {
        expect(parsed.error.code).toBe('usage');
        continue;
      }
      const known = new Set([...specs, ...GLOBAL_OPTIONS].map((spec) => spec.name));
      for (const name of parsed.value.options.keys()) expect(known.has(name), name).toBe(true);
      // Secrets are never accepted as options.
      expect(parsed.value.options.has('password')).toBe(false);
      const records = expectOnlyOurErrors('recordPairs', argv, () => recordPairs(parsed.value, 'present', gen.chance(0.5)));
      if (records.ok && pairs) {
        // A value is taken verbatim, even when it looks like an option.
        expect(records.value.flatMap((record) => [record.name, record.value])).toEqual(parsed.value.positionals);
      }
      const duration = gen.chance(0.5) ? anyText(gen, 6) : `${gen.int(1000)}${gen.pick(['s', 'm', 'h', 'd', '', 'w', 'ms', '.5s', ' s'])}`;
      const ms = expectOnlyOurErrors('parseDuration', duration, () => parseDuration(duration, '--older-than'));
      if (ms.ok) expect(Number.isFinite(ms.value) && ms.value >= 0, duration).toBe(true);
    }
  });

  it('configuration: URL, fingerprint, TOTP secret, credentials file, propagation settings', () => {
    const gen = new Gen(SEED + 3);
    for (let i = 0; i < CASES; i++) {
      const url = urlLike(gen);
      const normalized = expectOnlyOurErrors('normalizeApiUrl', url, () => normalizeApiUrl(url));
      if (normalized.ok) {
        const parsed = new URL(normalized.value);
        const context = `${JSON.stringify(url)} -> ${normalized.value}`;
        expect(['https:', 'http:'], context).toContain(parsed.protocol);
        if (parsed.protocol === 'http:') expect(isLoopbackHost(parsed.hostname), context).toBe(true);
        expect(parsed.username + parsed.password + parsed.search + parsed.hash, context).toBe('');
        if (parsed.protocol === 'https:') expect(parsed.pathname, context).not.toBe('/');
        expect(normalized.value.endsWith('/'), context).toBe(false);
        expect(normalized.value, context).not.toMatch(/[?#]/);
        expect(normalizeApiUrl(normalized.value), context).toBe(normalized.value);
      }

      const fingerprint = fingerprintLike(gen);
      const pin = expectOnlyOurErrors('normalizeFingerprint', fingerprint, () => normalizeFingerprint(fingerprint));
      if (pin.ok) expect(pin.value).toMatch(/^[0-9a-f]{64}$/);

      const secret = secretLike(gen);
      const totp = expectOnlyOurErrors('normalizeTotpSecret', secret, () => normalizeTotpSecret(secret));
      if (totp.ok) {
        expect(totp.value).toMatch(/^[A-Z2-7]{16,}$/);
        // Every secret the format check accepts, the TOTP library accepts too (its guardrail).
        expect(totpCodeAt(totp.value, 0)).toMatch(/^\d{6}$/);
      }

      const lines = Array.from({ length: gen.int(6) }, () =>
        gen.pick([
          `${gen.pick(['url', 'email', 'password', 'totp_secret', 'ca-file', 'TLS_FINGERPRINT', 'bogus', '', ' '])}${gen.pick([' = ', '=', ' ', ':'])}${anyText(gen)}`,
          `# ${anyText(gen)}`,
          '[section]',
          anyText(gen),
          '',
        ]),
      );
      const text = lines.join(gen.pick(['\n', '\r\n', '\r']));
      const credentials = expectOnlyOurErrors('parseCredentials', text, () => parseCredentials(text, '/etc/miab.ini', new Set(SETTING_NAMES)));
      if (credentials.ok) for (const key of credentials.value.keys()) expect(SETTING_NAMES as readonly string[]).toContain(key);

      const env: Record<string, string> = {};
      for (const variable of ['MIAB_DNS_PORT', 'MIAB_DNS_RESOLVERS', 'MIAB_NAMESERVERS', 'MIAB_PROPAGATION_TIMEOUT', 'MIAB_PROPAGATION_WAIT']) {
        if (gen.chance(0.5)) {
          env[variable] = gen.pick([
            anyText(gen, 12),
            `${gen.int(100_000)}`,
            `${gen.int(100_000)}${gen.pick(['s', 'm', 'h', 'd', '.5', ''])}`,
            Array.from({ length: 1 + gen.int(3) }, () => `${gen.pick(['127.0.0.1', '::1', '[::1]', 'ns1.example.test', '300.1.1.1', nameLike(gen)])}${gen.chance(0.5) ? `:${gen.int(70_000)}` : ''}`).join(gen.pick([',', ', ', ';'])),
          ]);
        }
      }
      const settings = expectOnlyOurErrors('parsePropagationSettings', env, () => parsePropagationSettings(env));
      if (settings.ok) {
        const context = JSON.stringify(env);
        expect(settings.value.timeoutMs, context).toBeLessThanOrEqual(86_400_000);
        expect(settings.value.dnsPort, context).toBeGreaterThanOrEqual(1);
        expect(settings.value.dnsPort, context).toBeLessThanOrEqual(65535);
        for (const server of [...(settings.value.nameservers ?? []), ...(settings.value.resolvers ?? [])]) {
          expect(server.port >= 1 && server.port <= 65535, context).toBe(true);
        }
      }
    }
  });

  it('whole configurations from the environment: a BoxConfig or a ConfigError', async () => {
    const gen = new Gen(SEED + 4);
    for (let i = 0; i < CASES / 3; i++) {
      const env: Record<string, string> = { MIAB_STATE_DIR: '/nonexistent/state' };
      for (const name of ['MIAB_URL', 'MIAB_EMAIL', 'MIAB_PASSWORD', 'MIAB_TOTP_SECRET', 'MIAB_TLS_FINGERPRINT', 'MAILINABOX_BASE_URL', 'MIAB_Password']) {
        if (gen.chance(0.6)) env[name] = name.includes('URL') || name.includes('Server') ? urlLike(gen) : name.includes('TOTP') ? secretLike(gen) : name.includes('FINGER') ? fingerprintLike(gen) : anyText(gen);
      }
      if (gen.chance(0.1)) env.MIAB_PASSWORD_FILE = gen.pick(['/nonexistent/password', '/', '']);
      if (gen.chance(0.1)) env.MIAB_CA_FILE = gen.pick(['/nonexistent/ca.pem', '/']);
      try {
        const config = await loadBoxConfig({ env });
        if (config.auth.kind === 'session') expect(sessionSecrets(config)?.password.length).toBeGreaterThan(0);
        // Whatever was accepted as a password is now masked in everything we print.
        if (env.MIAB_PASSWORD !== undefined && env.MIAB_PASSWORD.length >= 4) expect(redact(`x ${env.MIAB_PASSWORD} x`)).not.toContain(env.MIAB_PASSWORD);
      } catch (error) {
        if (!(error instanceof ConfigError)) {
          throw new Error(`loadBoxConfig(${JSON.stringify(env)}) threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} (MIAB_FUZZ_SEED=${SEED})`, { cause: error });
        }
      }
      await collectSettings({ env }).catch((error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
      });
    }
  });
});

describe('what fuzzing found, pinned as plain cases', () => {
  it('a lone UTF-16 surrogate in a secret is a ConfigError, not a URIError', async () => {
    await expect(loadBoxConfig({ env: { MIAB_URL: 'https://box.example.test', MIAB_EMAIL: 'a@b.test', MIAB_PASSWORD: 'abc\ud800def', MIAB_STATE_DIR: '/nonexistent' } })).rejects.toMatchObject({
      code: 'config-invalid',
    });
  });

  it('a root URL written with extra slashes still means /admin; a query or fragment is refused', () => {
    expect(normalizeApiUrl('localhost//')).toBe('https://localhost/admin');
    expect(normalizeApiUrl('https://box.example.test///')).toBe('https://box.example.test/admin');
    expect(normalizeApiUrl('http://127.0.0.1:10222//')).toBe('http://127.0.0.1:10222');
    expect(normalizeApiUrl('box.example.test?#')).toBe('https://box.example.test/admin');
    for (const url of ['https://box.example.test/admin?x=1', 'https://box.example.test/admin#top']) {
      expect(() => normalizeApiUrl(url), url).toThrow(ConfigError);
    }
  });
});

describe('CLI fuzz: random command lines against the emulator', () => {
  let emulator: MiabEmulator;
  let dir: string;

  beforeAll(async () => {
    // No TOTP here: the runs may log in and out freely without waiting for a fresh code.
    emulator = await startEmulator({
      zones: ['example.test', 'other.test'],
      users: [{ email: 'fuzz@example.test', password: TEST_PASSWORD }],
      records: [{ qname: '_acme-challenge.a.example.test', rtype: 'TXT', value: 'keep-me' }],
    });
    dir = await scratchDir('hardening-fuzz');
    await writeFile(join(dir, 'password'), TEST_PASSWORD, { mode: 0o600 });
    await writeFile(join(dir, 'loose.ini'), `password = ${TEST_PASSWORD}\n`, { mode: 0o644 });
  });

  afterAll(async () => {
    await emulator?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Random argv. No token can name a record inside the box's zones (names are mangled, or
   * under zones the box does not have), so no run has any business writing; option values
   * point only at loopback or at nothing, so no run leaves the machine.
   */
  function randomArgv(gen: Gen): string[] {
    const command = gen.pick(['present', 'present', 'cleanup', 'cleanup', 'wait', 'zones', 'check', 'logout', 'help', '--help', '-h', '--version', '-V', 'frob', '', '--no-wait', anyText(gen, 8)]);
    const badName = (): string =>
      gen.pick([
        `${label(gen)} x.example.test`,
        `${label(gen)}..example.test`,
        `${'l'.repeat(64)}.example.test`,
        `${nameLike(gen)}.not-a-box-zone.test`,
        `a.example.test${gen.pick(['\n', ' ', '..', '/', '"'])}`,
        `"a.example.test"`,
        `ex${gen.pick(NASTY)}ample.test`,
        '*.*.example.test',
        'example.test.evil',
        anyText(gen, 20).replace(/(example|other)\.test/gi, ''),
      ]);
    const optionValue = (): string => gen.pick([emulator.url, 'http://box.example.test/admin', 'not a url', join(dir, `state-${gen.int(3)}`), '/nonexistent/file', join(dir, 'loose.ini'), '1s', '2h', 'forever', '', '-']);
    const argv = [command];
    for (let i = gen.int(6); i > 0; i--) {
      const roll = gen.float();
      if (roll < 0.3) argv.push(badName());
      else if (roll < 0.55) argv.push(valueLike(gen));
      else if (roll < 0.75) argv.push(gen.pick(['--no-wait', '--stale', '--dry-run', '--debug', '--', '-', '--bogus', '-q', '--password', '--totp-secret=x', '--api-key', '--no-wait=yes']));
      else argv.push(gen.pick(['--older-than', '--url', '--email', '--config', '--state-dir', '--ca-file', '--tls-fingerprint']), optionValue());
    }
    // argv cannot carry NUL bytes (execve's strings end there).
    return argv.map((token) => token.replace(/\0/g, '')).filter((token) => !/^--?(url|state-dir|config|ca-file|system-key-file)=/.test(token));
  }

  it('exit 0, 1 or 2; never a stack trace; never a write (50 runs)', async () => {
    const gen = new Gen(SEED + 5);
    const env = {
      MIAB_URL: emulator.url,
      MIAB_EMAIL: 'fuzz@example.test',
      MIAB_PASSWORD_FILE: join(dir, 'password'),
      MIAB_STATE_DIR: join(dir, 'state'),
      MIAB_PROPAGATION_TIMEOUT: '1',
      MIAB_NAMESERVERS: '127.0.0.1:9',
    };
    const runs = Array.from({ length: 50 }, () => randomArgv(gen));
    const results: { argv: string[]; result: CliResult }[] = [];
    for (let start = 0; start < runs.length; start += 5) {
      const batch = runs.slice(start, start + 5);
      results.push(...(await Promise.all(batch.map(async (argv) => ({ argv, result: await runCli(argv, { env, timeoutMs: 60_000 }) })))));
    }
    const codes = new Map<number | null, number>();
    for (const { argv, result } of results) {
      const context = `miab-dns01 ${JSON.stringify(argv)} (MIAB_FUZZ_SEED=${SEED}) exited ${result.code}:\n${result.stderr}`;
      codes.set(result.code, (codes.get(result.code) ?? 0) + 1);
      expect([0, 1, 2], context).toContain(result.code);
      expect(result.stderr, context).not.toMatch(STACK_TRACE);
      expect(result.stderr, context).not.toContain('unexpected error');
      expect(`${result.stdout}${result.stderr}`, context).not.toContain(TEST_PASSWORD);
    }
    expect(dnsWrites(emulator)).toEqual([]);
    expect(emulator.records().filter((record) => record.rtype === 'TXT').map((record) => record.value)).toEqual(['keep-me']);
    // The corpus exercises more than the usage path.
    expect(codes.get(2) ?? 0).toBeGreaterThan(10);
    expect(codes.get(0) ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
