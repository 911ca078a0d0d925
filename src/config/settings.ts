/**
 * Collects raw settings from every source into one map keyed by `MIAB_*` names, applying the
 * precedence command-line flag > environment (`NAME`, `NAME_FILE`, other tools' aliases) >
 * credentials file. Typed validation happens in config.ts.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../secrets.js';
import { readCredentialsFile } from './credentials-file.js';

export const SETTING_NAMES = [
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
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];
export type Settings = Readonly<Partial<Record<SettingName, string>>>;

export const SECRET_SETTINGS: ReadonlySet<SettingName> = new Set(['MIAB_PASSWORD', 'MIAB_TOTP_SECRET']);

/** Names other tools use for the same thing, read only when the `MIAB_*` name is unset. */
const ALIASES: Partial<Record<SettingName, readonly string[]>> = {
  MIAB_URL: ['MAILINABOX_BASE_URL', 'MIAB_Server'],
  MIAB_EMAIL: ['MAILINABOX_EMAIL', 'MIAB_Username'],
  MIAB_PASSWORD: ['MAILINABOX_PASSWORD', 'MIAB_Password'],
};

export type Environment = Readonly<Record<string, string | undefined>>;

async function readSecretFile(variable: string, path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError('config-missing', `cannot read ${variable}=${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function fromEnvironment(env: Environment, name: SettingName): Promise<string | undefined> {
  for (const variable of [name, ...(ALIASES[name] ?? [])]) {
    const direct = env[variable];
    if (direct !== undefined && direct !== '') return direct;
    const file = env[`${variable}_FILE`];
    if (file !== undefined && file !== '') return readSecretFile(`${variable}_FILE`, file);
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

export async function collectSettings(sources: SettingsSources): Promise<Settings> {
  const configFile = sources.configFile ?? sources.env.MIAB_CONFIG;
  const file = configFile ? await readCredentialsFile(configFile, new Set(SETTING_NAMES)) : new Map<string, string>();
  const settings: Partial<Record<SettingName, string>> = {};
  for (const name of SETTING_NAMES) {
    const value = sources.flags?.[name] ?? (await fromEnvironment(sources.env, name)) ?? file.get(name);
    if (value === undefined) continue;
    if (SECRET_SETTINGS.has(name)) registerSecret(value);
    settings[name] = value;
  }
  return settings;
}
