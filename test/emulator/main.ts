/**
 * Standalone emulator for docker-compose and demos:
 *
 *   MIAB_EMU_ZONES=example.test MIAB_EMU_USERS=admin@example.test:secret \
 *     node --import tsx test/emulator/main.ts
 *
 * Prints the base URL as the first line on stdout, then serves until SIGTERM or SIGINT.
 *
 * Configuration: MIAB_EMU_CONFIG holds a JSON object (inline, or a path to a JSON file) with
 * the fields of RunnerConfig below; each MIAB_EMU_* variable overrides its field:
 *   MIAB_EMU_HOST, MIAB_EMU_PORT, MIAB_EMU_BASE_PATH ('' for the on-box form),
 *   MIAB_EMU_ZONES (comma separated), MIAB_EMU_USERS (comma separated
 *   email:password[:totpSecret], or a JSON array of users), MIAB_EMU_NAMESERVERS,
 *   MIAB_EMU_SYSTEM_KEY_FILE, MIAB_EMU_TLS_KEY_FILE + MIAB_EMU_TLS_CERT_FILE (PEM files: HTTPS),
 *   MIAB_EMU_ALLOW_NON_LOOPBACK=1 (a container must listen on 0.0.0.0),
 *   MIAB_EMU_LOG_ZONES=1 (print every published zone set to stderr as JSON),
 *   MIAB_EMU_FLAVOR=power (speak Power Mail-in-a-Box's form dialect at /dns/custom/...).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ZoneData } from '../fixtures/zones.js';
import { startEmulator } from './server.js';
import type { CustomRecord, EmulatorFlavor, EmulatorOptions, EmulatorUser } from './types.js';

export interface RunnerConfig {
  host?: string;
  port?: number;
  basePath?: string;
  zones?: string[];
  users?: EmulatorUser[];
  nameservers?: string[];
  secondaryNameservers?: string[];
  records?: CustomRecord[];
  systemKeyFile?: string;
  systemKeyTrailingNewline?: boolean;
  tlsKeyFile?: string;
  tlsCertFile?: string;
  allowNonLoopback?: boolean;
  logZones?: boolean;
  /** `upstream` (default) or `power` (the Power Mail-in-a-Box form dialect). */
  flavor?: EmulatorFlavor;
}

function parseFlavor(value: unknown): EmulatorFlavor {
  if (value === 'upstream' || value === 'power') return value;
  throw new Error(`flavor must be "upstream" or "power" (got ${JSON.stringify(value)})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new Error(`config field ${field} must be a list of strings`);
  }
  return value;
}

function parseUsers(value: unknown): EmulatorUser[] {
  if (!Array.isArray(value)) throw new Error('config field users must be a list');
  return value.map((u, i) => {
    if (!isRecord(u) || typeof u.email !== 'string' || typeof u.password !== 'string') {
      throw new Error(`users[${i}] needs string email and password`);
    }
    return {
      email: u.email,
      password: u.password,
      ...(u.privileges !== undefined ? { privileges: stringList(u.privileges, `users[${i}].privileges`) } : {}),
      ...(typeof u.totpSecret === 'string' ? { totpSecret: u.totpSecret } : {}),
    };
  });
}

function parseRecords(value: unknown): CustomRecord[] {
  if (!Array.isArray(value)) throw new Error('config field records must be a list');
  return value.map((r, i) => {
    if (!isRecord(r) || typeof r.qname !== 'string' || typeof r.rtype !== 'string' || typeof r.value !== 'string') {
      throw new Error(`records[${i}] needs string qname, rtype and value`);
    }
    return { qname: r.qname, rtype: r.rtype, value: r.value };
  });
}

/** Validates the JSON config (unknown input: no field is trusted). */
export function parseRunnerConfig(json: unknown): RunnerConfig {
  if (!isRecord(json)) throw new Error('the emulator config must be a JSON object');
  const config: RunnerConfig = {};
  const str = (key: string): string | undefined => {
    const v = json[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new Error(`config field ${key} must be a string`);
    return v;
  };
  const bool = (key: string): boolean | undefined => (json[key] === undefined ? undefined : json[key] === true);
  const assign = <K extends keyof RunnerConfig>(key: K, value: RunnerConfig[K] | undefined): void => {
    if (value !== undefined) config[key] = value;
  };
  assign('host', str('host'));
  if (json.port !== undefined) {
    if (typeof json.port !== 'number' || !Number.isInteger(json.port)) throw new Error('config field port must be an integer');
    config.port = json.port;
  }
  assign('basePath', str('basePath'));
  if (json.zones !== undefined) config.zones = stringList(json.zones, 'zones');
  if (json.users !== undefined) config.users = parseUsers(json.users);
  if (json.nameservers !== undefined) config.nameservers = stringList(json.nameservers, 'nameservers');
  if (json.secondaryNameservers !== undefined) {
    config.secondaryNameservers = stringList(json.secondaryNameservers, 'secondaryNameservers');
  }
  if (json.records !== undefined) config.records = parseRecords(json.records);
  assign('systemKeyFile', str('systemKeyFile'));
  assign('systemKeyTrailingNewline', bool('systemKeyTrailingNewline'));
  assign('tlsKeyFile', str('tlsKeyFile'));
  assign('tlsCertFile', str('tlsCertFile'));
  assign('allowNonLoopback', bool('allowNonLoopback'));
  assign('logZones', bool('logZones'));
  if (json.flavor !== undefined) config.flavor = parseFlavor(json.flavor);
  return config;
}

function splitList(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * `email:password[:totpSecret]` items. The email cannot contain ':' and the password cannot
 * contain ','; a password with ':' needs the JSON form.
 */
function parseUserList(value: string): EmulatorUser[] {
  if (value.trim().startsWith('[')) return parseUsers(JSON.parse(value) as unknown);
  return value
    .split(',')
    .filter((item) => item.trim() !== '')
    .map((item) => {
      const [email = '', ...rest] = item.trim().split(':');
      // A base32 secret has no ':', so a third field is the secret and the middle is the password.
      const totpSecret = rest.length >= 2 && /^[A-Z2-7]+=*$/i.test(rest[rest.length - 1] ?? '') ? rest.pop() : undefined;
      return { email, password: rest.join(':'), ...(totpSecret ? { totpSecret } : {}) };
    });
}

/** Config from MIAB_EMU_CONFIG overlaid with the individual MIAB_EMU_* variables. */
export function loadRunnerConfig(env: NodeJS.ProcessEnv): RunnerConfig {
  const raw = env.MIAB_EMU_CONFIG?.trim();
  const config = raw
    ? parseRunnerConfig(JSON.parse(raw.startsWith('{') ? raw : readFileSync(raw, 'utf8')) as unknown)
    : {};
  if (env.MIAB_EMU_HOST) config.host = env.MIAB_EMU_HOST;
  if (env.MIAB_EMU_PORT) config.port = Number.parseInt(env.MIAB_EMU_PORT, 10);
  if (env.MIAB_EMU_BASE_PATH !== undefined) config.basePath = env.MIAB_EMU_BASE_PATH;
  if (env.MIAB_EMU_ZONES) config.zones = splitList(env.MIAB_EMU_ZONES);
  if (env.MIAB_EMU_USERS) config.users = parseUserList(env.MIAB_EMU_USERS);
  if (env.MIAB_EMU_NAMESERVERS) config.nameservers = splitList(env.MIAB_EMU_NAMESERVERS);
  if (env.MIAB_EMU_SYSTEM_KEY_FILE) config.systemKeyFile = env.MIAB_EMU_SYSTEM_KEY_FILE;
  if (env.MIAB_EMU_TLS_KEY_FILE) config.tlsKeyFile = env.MIAB_EMU_TLS_KEY_FILE;
  if (env.MIAB_EMU_TLS_CERT_FILE) config.tlsCertFile = env.MIAB_EMU_TLS_CERT_FILE;
  if (env.MIAB_EMU_ALLOW_NON_LOOPBACK) config.allowNonLoopback = env.MIAB_EMU_ALLOW_NON_LOOPBACK === '1';
  if (env.MIAB_EMU_LOG_ZONES) config.logZones = env.MIAB_EMU_LOG_ZONES === '1';
  if (env.MIAB_EMU_FLAVOR) config.flavor = parseFlavor(env.MIAB_EMU_FLAVOR);
  return config;
}

export function toEmulatorOptions(config: RunnerConfig): EmulatorOptions {
  if (!config.zones || config.zones.length === 0) throw new Error('no zones configured (MIAB_EMU_ZONES)');
  if (Boolean(config.tlsKeyFile) !== Boolean(config.tlsCertFile)) {
    throw new Error('HTTPS needs both MIAB_EMU_TLS_KEY_FILE and MIAB_EMU_TLS_CERT_FILE');
  }
  const logPublisher = {
    async publish(zones: readonly ZoneData[]): Promise<void> {
      process.stderr.write(JSON.stringify({ published: zones }) + '\n');
    },
  };
  return {
    zones: config.zones,
    ...(config.host !== undefined ? { host: config.host } : {}),
    ...(config.port !== undefined ? { port: config.port } : {}),
    ...(config.basePath !== undefined ? { basePath: config.basePath } : {}),
    ...(config.users ? { users: config.users } : {}),
    ...(config.nameservers ? { nameservers: config.nameservers } : {}),
    ...(config.secondaryNameservers ? { secondaryNameservers: config.secondaryNameservers } : {}),
    ...(config.records ? { records: config.records } : {}),
    ...(config.systemKeyFile ? { systemKeyFile: config.systemKeyFile } : {}),
    ...(config.systemKeyTrailingNewline ? { systemKeyTrailingNewline: true } : {}),
    ...(config.allowNonLoopback ? { allowNonLoopback: true } : {}),
    ...(config.tlsKeyFile && config.tlsCertFile
      ? { tls: { key: readFileSync(config.tlsKeyFile, 'utf8'), cert: readFileSync(config.tlsCertFile, 'utf8') } }
      : {}),
    ...(config.logZones ? { dns: { primary: logPublisher } } : {}),
    ...(config.flavor ? { flavor: config.flavor } : {}),
  };
}

async function main(): Promise<void> {
  const options = toEmulatorOptions(loadRunnerConfig(process.env));
  const emulator = await startEmulator(options);
  process.stdout.write(emulator.url + '\n');
  process.stderr.write(`[miab-emulator] serving ${emulator.url} (system key file: ${options.systemKeyFile ?? 'none'})\n`);
  const shutdown = (signal: string): void => {
    process.stderr.write(`[miab-emulator] ${signal}: stopping\n`);
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

// Run only when executed, so tests can import the config parsing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`[miab-emulator] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
