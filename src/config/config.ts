/**
 * Typed, validated configuration, built in one pass from flags > environment > credentials
 * file: which DNS host (`--provider` / `MIAB_DNS01_PROVIDER` / `provider`), that provider's
 * settings (Mail-in-a-Box here, cPanel by its own parser with the file's `cpanel_*` keys) and
 * the shared ones. Every problem is reported before anything touches the host, all of them in
 * one error, each naming where the value came from (flag, variable, or file and line). The
 * secrets stay out of `RuntimeConfig`, which library callers see as `Runtime.config`.
 */
import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parseDialect, type BoxDialect } from '../providers/mailinabox/dialect.js';
import { ConfigError } from '../errors.js';
import { isLoopbackHost, normalizeFingerprint, normalizeTotpSecret } from '../util/credential-formats.js';

export { isLoopbackHost, normalizeFingerprint, normalizeTotpSecret } from '../util/credential-formats.js';
import { parsePropagationSettings } from '../propagation/settings.js';
import { parseCpanelConfig, type CpanelConfig } from '../providers/cpanel/config.js';
import { loadServeClientConfig, usesServe, type ServeClientConfig } from '../providers/serve-client/config.js';
import {
  collectSourcedSettings,
  combineProblems,
  SECRET_SETTINGS,
  type Environment,
  type SettingName,
  type SettingOrigins,
  type Settings,
  type SettingsSources,
  type SourcedSettings,
} from './settings.js';

/** The DNS hosts `--provider` / `MIAB_DNS01_PROVIDER` / the file's `provider` can name. */
export const PROVIDER_NAMES = ['mailinabox', 'cpanel', 'serve'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export const DEFAULT_PROVIDER: ProviderName = 'mailinabox';

/** The selected provider's own configuration (may hold secrets: only the registry reads it). */
export type ProviderConfig =
  | { readonly name: 'mailinabox'; readonly box: BoxConfig }
  | { readonly name: 'cpanel'; readonly cpanel: CpanelConfig }
  | { readonly name: 'serve'; readonly serve: ServeClientConfig };

/** What every provider shares; holds no secret (library callers see it as `Runtime.config`). */
export interface RuntimeConfig {
  /** A name of PROVIDER_NAMES, or the name of a provider the caller built (`openRuntime({ provider })`). */
  readonly provider: string;
  readonly stateDir: string;
  /** The raw settings without the secrets, for the propagation settings parser. */
  readonly settings: Settings;
  /** Where each setting came from (`--url`, `MIAB_URL`, `url (/etc/miab.conf line 1)`). */
  readonly origins: SettingOrigins;
}

export const DEFAULT_SYSTEM_KEY_FILE = '/var/lib/mailinabox/api.key';
/** Where the admin daemon listens on the box itself (no nginx, no `/admin` prefix). */
export const ON_BOX_URL = 'http://127.0.0.1:10222';

export type AuthSettings =
  | { readonly kind: 'system-key'; readonly keyFile: string }
  | {
      readonly kind: 'session';
      readonly email: string;
      /** Whether a TOTP secret is configured (the secret itself is not in the config object). */
      readonly totp: boolean;
    };

/**
 * The account's secrets. Kept out of `BoxConfig` (which `Runtime.config` exposes to library
 * callers and which may be logged or serialized): only the composition root reads them.
 */
export interface SessionSecrets {
  readonly password: string;
  /** Base32 TOTP secret, upper-case, no spaces; absent when the account has no 2FA. */
  readonly totpSecret: string | undefined;
}

const SECRETS = new WeakMap<BoxConfig, SessionSecrets>();

/** The secrets of a session config loaded by `loadBoxConfig`; `undefined` in system-key mode. */
export function sessionSecrets(config: BoxConfig): SessionSecrets | undefined {
  return SECRETS.get(config);
}

export interface TlsSettings {
  /** PEM of an extra CA to trust for the box, besides the system CAs. */
  readonly caPem: string | undefined;
  /** SHA-256 fingerprint of the box's certificate: 64 lower-case hex digits. */
  readonly fingerprint: string | undefined;
}

export interface BoxConfig {
  /** Admin API base URL without trailing slash, e.g. `https://box.example.com/admin`. */
  readonly apiUrl: string;
  readonly auth: AuthSettings;
  readonly tls: TlsSettings;
  readonly stateDir: string;
  /** The raw settings without the secrets, for the propagation settings parser. */
  readonly settings: Settings;
  /** Where each setting came from (`--url`, `MIAB_URL`, `url (/etc/miab.conf line 1)`). */
  readonly origins: SettingOrigins;
  /**
   * Upstream Mail-in-a-Box or Power Mail-in-a-Box (`MIAB_FLAVOR`), with the fork's challenge
   * TTL (`MIAB_TXT_TTL`). @default { flavor: 'upstream' }
   */
  readonly dialect: BoxDialect;
}

/** Normalizes `MIAB_URL`: a bare host means `https://<host>/admin`; plain http only on loopback. */
export function normalizeApiUrl(raw: string, origin = 'MIAB_URL'): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError('config-invalid', `${origin}=${JSON.stringify(raw)} is not a URL; use e.g. https://box.example.com/admin`);
  }
  if (url.username || url.password) {
    throw new ConfigError('config-invalid', `${origin} must not contain credentials; set MIAB_EMAIL and MIAB_PASSWORD (or MIAB_PASSWORD_FILE) instead`);
  }
  if (url.search || url.hash) {
    // API paths are appended to it: `...?x=1` + `/login` would not reach the API.
    throw new ConfigError('config-invalid', `${origin} must not have a query or fragment (got ${JSON.stringify(raw)}); use e.g. https://box.example.com/admin`);
  }
  // An empty `?` or `#` leaves its marker in toString(): drop it.
  url.search = '';
  url.hash = '';
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new ConfigError(
        'config-insecure-url',
        `${origin} uses plain http:// to ${url.hostname}: credentials would travel unencrypted; use https://${url.host}${url.pathname === '/' ? '/admin' : url.pathname}`,
      );
    }
  } else if (url.protocol !== 'https:') {
    throw new ConfigError('config-invalid', `${origin} must start with https:// (got ${url.protocol}//)`);
  } else if (url.pathname.replace(/\/+$/, '') === '') {
    // Behind nginx the API lives under /admin; the site root is the box's web page.
    url.pathname = '/admin';
  }
  return url.toString().replace(/\/+$/, '');
}

export function defaultStateDir(env: Environment): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'miab-dns01');
  if (process.getuid?.() === 0) return '/var/lib/miab-dns01';
  return join(env.HOME ?? homedir(), '.local', 'state', 'miab-dns01');
}

/** The state dir must not depend on the working directory: hooks run from wherever the client is. */
export function resolveStateDir(configured: string | undefined, env: Environment, origin = 'MIAB_STATE_DIR'): string {
  if (configured === undefined) return defaultStateDir(env);
  if (!isAbsolute(configured)) {
    throw new ConfigError('config-invalid', `${origin}=${JSON.stringify(configured)} must be an absolute path (hooks run from the ACME client's working directory)`);
  }
  return configured;
}

async function isReadable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Collects problems so that one error can name all of them. */
class Problems {
  readonly list: ConfigError[] = [];
  check<T>(work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.list.push(error);
      return undefined;
    }
  }
  async checkAsync<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.list.push(error);
      return undefined;
    }
  }
}

function resolveAuth(settings: Settings, origins: SettingOrigins, systemKeyUsable: boolean, explicitKeyFile: string | undefined, problems: Problems): { auth: AuthSettings; secrets?: SessionSecrets } | undefined {
  if (explicitKeyFile !== undefined || systemKeyUsable) {
    return { auth: { kind: 'system-key', keyFile: explicitKeyFile ?? DEFAULT_SYSTEM_KEY_FILE } };
  }
  const missing: string[] = [];
  if (!settings.MIAB_URL) missing.push('MIAB_URL (e.g. https://box.example.com/admin)');
  if (!settings.MIAB_EMAIL) missing.push('MIAB_EMAIL (an admin account of the box)');
  if (!settings.MIAB_PASSWORD) missing.push('MIAB_PASSWORD or MIAB_PASSWORD_FILE');
  if (missing.length > 0) {
    problems.list.push(
      new ConfigError('config-missing', `missing configuration: ${missing.join(', ')}. Set them in the environment or in a credentials file named by MIAB_CONFIG (chmod 600)`),
    );
  }
  const password = settings.MIAB_PASSWORD;
  if (password && /[^\x20-\x7e]/.test(password)) {
    const origin = origins.get('MIAB_PASSWORD') ?? 'MIAB_PASSWORD';
    problems.list.push(new ConfigError('config-invalid', `${origin}: the password contains non-ASCII characters, which the box API cannot accept; use an ASCII password for the API account`));
  }
  const totpSecret = settings.MIAB_TOTP_SECRET ? problems.check(() => normalizeTotpSecret(settings.MIAB_TOTP_SECRET ?? '', origins.get('MIAB_TOTP_SECRET'))) : undefined;
  if (!settings.MIAB_EMAIL || !password) return undefined;
  return { auth: { kind: 'session', email: settings.MIAB_EMAIL.trim(), totp: settings.MIAB_TOTP_SECRET !== undefined && settings.MIAB_TOTP_SECRET !== '' }, secrets: { password, totpSecret } };
}

/**
 * `mailinabox` (default) or another name of PROVIDER_NAMES, any case. Unset, a machine given
 * MIAB_DNS01_SERVE_URL talks to a `serve` instance: it holds no host credentials at all.
 */
export function parseProviderName(raw: string | undefined, origin = 'MIAB_DNS01_PROVIDER', env: Environment = {}): ProviderName {
  if (raw === undefined || raw.trim() === '') return usesServe(env) ? 'serve' : DEFAULT_PROVIDER;
  const name = raw.trim().toLowerCase();
  const known = PROVIDER_NAMES.find((candidate) => candidate === name);
  if (known === undefined) throw new ConfigError('config-invalid', `${origin}=${JSON.stringify(raw)} is not a known DNS provider; use one of: ${PROVIDER_NAMES.join(', ')}`);
  return known;
}

/** The settings every provider shares: state dir and the propagation settings. */
function commonSettings(sourced: SourcedSettings, env: Environment, problems: Problems): { stateDir: string | undefined; settings: Settings } {
  const { settings: raw, origins } = sourced;
  const where = (name: SettingName): string => origins.get(name) ?? name;
  const stateDir = problems.check(() => resolveStateDir(raw.MIAB_STATE_DIR, env, where('MIAB_STATE_DIR')));
  const settings = Object.freeze(Object.fromEntries(Object.entries(raw).filter(([name]) => !SECRET_SETTINGS.has(name as SettingName)))) as Settings;
  // The propagation settings are parsed by their own module; checking them here reports
  // their problems with the others, and a value from the credentials file by its line.
  problems.check(() => {
    try {
      parsePropagationSettings(settings);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const variable = PROPAGATION_SETTINGS.find((name) => error.message.startsWith(name));
      const origin = variable === undefined ? undefined : origins.get(variable);
      throw origin === undefined || variable === undefined || origin === variable ? error : new ConfigError(error.code, `${origin}: ${error.message}`);
    }
  });
  return { stateDir, settings };
}

/** The Mail-in-a-Box settings; problems go to `problems`, undefined when there were any. */
async function boxConfigFrom(sourced: SourcedSettings, env: Environment, problems: Problems): Promise<BoxConfig | undefined> {
  const { settings: raw, origins } = sourced;
  const where = (name: SettingName): string => origins.get(name) ?? name;
  const apiUrl = problems.check(() => normalizeApiUrl(raw.MIAB_URL ?? ON_BOX_URL, where('MIAB_URL')));
  const onLoopback = apiUrl !== undefined && isLoopbackHost(new URL(apiUrl).hostname);
  const explicitKeyFile = raw.MIAB_SYSTEM_KEY_FILE;
  const systemKeyUsable = onLoopback && (await isReadable(DEFAULT_SYSTEM_KEY_FILE));
  if (explicitKeyFile !== undefined && !(await isReadable(explicitKeyFile))) {
    problems.list.push(new ConfigError('config-missing', `${where('MIAB_SYSTEM_KEY_FILE')}=${explicitKeyFile} is not readable (it is readable by root on the box only)`));
  }
  const resolved = resolveAuth(raw, origins, systemKeyUsable, explicitKeyFile, problems);
  let caPem: string | undefined;
  const caFile = raw.MIAB_CA_FILE;
  if (caFile) {
    caPem = await problems.checkAsync(async () => {
      let pem: string;
      try {
        pem = await readFile(caFile, 'utf8');
      } catch (error) {
        throw new ConfigError('config-missing', `cannot read ${where('MIAB_CA_FILE')}=${caFile}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('config-invalid', `${where('MIAB_CA_FILE')}=${caFile} holds no PEM certificate`);
      return pem;
    });
  }
  const fingerprint = raw.MIAB_TLS_FINGERPRINT ? problems.check(() => normalizeFingerprint(raw.MIAB_TLS_FINGERPRINT ?? '', where('MIAB_TLS_FINGERPRINT'))) : undefined;
  const { stateDir, settings } = commonSettings(sourced, env, problems);
  const dialect = problems.check(() => parseDialect(raw.MIAB_FLAVOR, raw.MIAB_TXT_TTL, { flavor: where('MIAB_FLAVOR'), ttl: where('MIAB_TXT_TTL') }));
  if (problems.list.length > 0 || apiUrl === undefined || stateDir === undefined || resolved === undefined || dialect === undefined) return undefined;
  const config: BoxConfig = Object.freeze({ apiUrl, auth: Object.freeze(resolved.auth), tls: Object.freeze({ caPem, fingerprint }), stateDir, settings, origins, dialect });
  if (resolved.secrets !== undefined) SECRETS.set(config, Object.freeze(resolved.secrets));
  return config;
}

/**
 * Reads and validates everything needed to talk to the box, in one pass: every problem found
 * (missing settings, malformed values, unreadable files, bad propagation settings) is
 * reported in one `ConfigError`, each naming where the value came from.
 */
export async function loadBoxConfig(sources: SettingsSources): Promise<BoxConfig> {
  const problems = new Problems();
  const config = await boxConfigFrom(await collectSourcedSettings(sources), sources.env, problems);
  if (config === undefined) throw combineProblems(problems.list);
  return config;
}

/**
 * The one pass from flags, environment and credentials file to the selected provider's
 * configuration and the shared settings. Every problem (the provider's and the shared ones)
 * is reported in one `ConfigError`.
 */
export async function loadConfig(sources: SettingsSources): Promise<{ readonly config: RuntimeConfig; readonly provider: ProviderConfig }> {
  const sourced = await collectSourcedSettings(sources);
  const problems = new Problems();
  const name = problems.check(() => parseProviderName(sourced.settings.MIAB_DNS01_PROVIDER, sourced.origins.get('MIAB_DNS01_PROVIDER'), sources.env));
  const shared = (stateDir: string): RuntimeConfig => Object.freeze({ provider: name ?? DEFAULT_PROVIDER, stateDir, settings: sourcedSettings(sourced), origins: sourced.origins });
  if (name === 'mailinabox') {
    const box = await boxConfigFrom(sourced, sources.env, problems);
    if (box === undefined) throw combineProblems(problems.list);
    return { config: shared(box.stateDir), provider: { name, box } };
  }
  const { stateDir } = commonSettings(sourced, sources.env, problems);
  if (name === 'serve') {
    const serve = await problems.checkAsync(() => loadServeClientConfig(sources.env));
    if (problems.list.length > 0 || stateDir === undefined || serve === undefined) throw combineProblems(problems.list);
    return { config: shared(stateDir), provider: { name, serve } };
  }
  // Without a known provider there is nothing more to check against.
  const cpanel = name === 'cpanel' ? problems.check(() => parseCpanelConfig(sources.env, sourced.providerFileValues)) : undefined;
  if (problems.list.length > 0 || stateDir === undefined || cpanel === undefined) throw combineProblems(problems.list);
  return { config: shared(stateDir), provider: { name: 'cpanel', cpanel } };
}

/**
 * Only the settings every provider shares (state dir, propagation), for a provider the caller
 * built: no provider is selected or configured, so no provider setting is required or read.
 */
export async function loadSharedConfig(sources: SettingsSources, providerName: string): Promise<RuntimeConfig> {
  const sourced = await collectSourcedSettings(sources);
  const problems = new Problems();
  const { stateDir } = commonSettings(sourced, sources.env, problems);
  if (problems.list.length > 0 || stateDir === undefined) throw combineProblems(problems.list);
  return Object.freeze({ provider: providerName, stateDir, settings: sourcedSettings(sourced), origins: sourced.origins });
}

function sourcedSettings(sourced: SourcedSettings): Settings {
  return Object.freeze(Object.fromEntries(Object.entries(sourced.settings).filter(([name]) => !SECRET_SETTINGS.has(name as SettingName)))) as Settings;
}

const PROPAGATION_SETTINGS: readonly SettingName[] = ['MIAB_DNS_RESOLVERS', 'MIAB_DNS_PORT', 'MIAB_NAMESERVERS', 'MIAB_PROPAGATION_TIMEOUT', 'MIAB_PROPAGATION_WAIT'];
