/**
 * Collects raw settings from every source into one map keyed by `MIAB_*` names, applying the
 * precedence command-line flag > environment (`NAME`, `NAME_FILE`, other tools' aliases) >
 * credentials file. Typed validation happens in config.ts.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../secrets.js';
import { CPANEL_SETTINGS } from '../providers/cpanel/config.js';
import { readCredentialsFile } from './credentials-file.js';

export const SETTING_NAMES = [
  'MIAB_DNS01_PROVIDER',
  'MIAB_URL',
  'MIAB_EMAIL',
  'MIAB_PASSWORD',
  'MIAB_TOTP_SECRET',
  'MIAB_SYSTEM_KEY_FILE',
  'MIAB_CA_FILE',
  'MIAB_TLS_FINGERPRINT',
  'MIAB_STATE_DIR',
  'MIAB_DNS_RESOLVERS',
  'MIAB_DNS_PORT',
  'MIAB_NAMESERVERS',
  'MIAB_PROPAGATION_TIMEOUT',
  'MIAB_PROPAGATION_WAIT',
  'MIAB_FLAVOR',
  'MIAB_TXT_TTL',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];
export type Settings = Readonly<Partial<Record<SettingName, string>>>;

export const SECRET_SETTINGS: ReadonlySet<SettingName> = new Set(['MIAB_PASSWORD', 'MIAB_TOTP_SECRET']);

/** Names other tools use for the same thing, read only when the `MIAB_*` name is unset. */
export const ALIASES: Readonly<Partial<Record<SettingName, readonly string[]>>> = {
  MIAB_URL: ['MAILINABOX_BASE_URL', 'MIAB_Server'],
  MIAB_EMAIL: ['MAILINABOX_EMAIL', 'MIAB_Username'],
  MIAB_PASSWORD: ['MAILINABOX_PASSWORD', 'MIAB_Password'],
};

/** The command-line flag of a setting, for messages naming where a value came from. */
const FLAG_NAMES: Partial<Record<SettingName, string>> = {
  MIAB_DNS01_PROVIDER: 'provider',
  MIAB_URL: 'url',
  MIAB_EMAIL: 'email',
  MIAB_STATE_DIR: 'state-dir',
  MIAB_CA_FILE: 'ca-file',
  MIAB_TLS_FINGERPRINT: 'tls-fingerprint',
  MIAB_SYSTEM_KEY_FILE: 'system-key-file',
};

export type Environment = Readonly<Record<string, string | undefined>>;

/** A value and where it came from, so that an error can point at the right place. */
interface SourcedValue {
  readonly value: string;
  readonly origin: string;
}

async function readSecretFile(variable: string, path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError('config-missing', `cannot read ${variable}=${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function fromEnvironment(env: Environment, name: SettingName): Promise<SourcedValue | undefined> {
  for (const variable of [name, ...(ALIASES[name] ?? [])]) {
    const direct = env[variable];
    if (direct !== undefined && direct !== '') return { value: direct, origin: variable };
    const file = env[`${variable}_FILE`];
    if (file !== undefined && file !== '') return { value: await readSecretFile(`${variable}_FILE`, file), origin: `${variable}_FILE (${file})` };
  }
  return undefined;
}

export interface SettingsSources {
  readonly env: Environment;
  /** Values given as command-line flags (never secrets). */
  readonly flags?: Settings;
  /** Path of the credentials file, when given as a flag; else `MIAB_CONFIG`. */
  readonly configFile?: string;
}

/** Where each setting came from: `MIAB_URL`, `--url`, `password (/etc/miab.conf line 3)`, ... */
export type SettingOrigins = ReadonlyMap<SettingName, string>;

/**
 * Credentials-file keys a provider parses itself (`cpanel_base_url`, ...: the variable name in
 * lower case), read in the same pass as ours so that one file serves every provider.
 */
const PROVIDER_FILE_SETTINGS: readonly string[] = [...CPANEL_SETTINGS];

/** The settings, their origins, and the provider keys of the credentials file (lower-case key -> value). */
export interface SourcedSettings {
  readonly settings: Settings;
  readonly origins: SettingOrigins;
  readonly providerFileValues: Readonly<Record<string, string>>;
}

/**
 * All settings with their origins. Problems of several sources (an unreadable `_FILE`, bad
 * lines in the credentials file) are reported together in one error.
 */
export async function collectSourcedSettings(sources: SettingsSources): Promise<SourcedSettings> {
  const problems: ConfigError[] = [];
  const attempt = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      return undefined;
    }
  };
  const configFile = sources.configFile ?? sources.env.MIAB_CONFIG;
  const file = configFile ? ((await attempt(() => readCredentialsFile(configFile, new Set([...SETTING_NAMES, ...PROVIDER_FILE_SETTINGS])))) ?? new Map()) : new Map<string, { value: string; origin: string }>();
  const settings: Partial<Record<SettingName, string>> = {};
  const origins = new Map<SettingName, string>();
  for (const name of SETTING_NAMES) {
    const flag = sources.flags?.[name];
    const sourced = flag !== undefined ? { value: flag, origin: `--${FLAG_NAMES[name] ?? name}` } : ((await attempt(() => fromEnvironment(sources.env, name))) ?? file.get(name));
    if (sourced === undefined) continue;
    if (SECRET_SETTINGS.has(name)) registerSecret(sourced.value);
    settings[name] = sourced.value;
    origins.set(name, sourced.origin);
  }
  if (problems.length === 1 && problems[0] !== undefined) throw problems[0];
  if (problems.length > 1) throw combineProblems(problems);
  const providerFileValues = Object.fromEntries(PROVIDER_FILE_SETTINGS.flatMap((name) => {
    const entry = file.get(name);
    return entry === undefined ? [] : [[name.toLowerCase(), entry.value] as const];
  }));
  return { settings, origins, providerFileValues };
}

/** One error for several configuration problems; the first one's code. */
export function combineProblems(problems: readonly ConfigError[]): ConfigError {
  const [first] = problems;
  if (first === undefined) throw new TypeError('combineProblems needs at least one problem');
  if (problems.length === 1) return first;
  return new ConfigError(first.code, `${problems.length} configuration problems:\n  - ${problems.map((problem) => problem.message).join('\n  - ')}`);
}

export async function collectSettings(sources: SettingsSources): Promise<Settings> {
  return (await collectSourcedSettings(sources)).settings;
}
