/**
 * cPanel settings from the environment and the credentials file, in one pure pass that reports
 * every problem in ONE ConfigError (names binding per cpanel-api.md).
 *
 * Precedence per setting: `NAME` > `NAME_FILE` (secrets only) > acme.sh's alias > the credentials
 * file key (the variable name in lower case: `cpanel_base_url`, `cpanel_username`,
 * `cpanel_token`, `cpanel_password`, `cpanel_totp_secret`, `cpanel_auth`, `cpanel_ca_file`,
 * `cpanel_tls_fingerprint`).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import { registerSecret } from '../../secrets.js';
import { normalizeFingerprint, normalizeTotpSecret } from '../../util/credential-formats.js';

export type CpanelAuthMethod = 'token' | 'otp-header' | 'session';

export type CpanelAuth =
  | { readonly method: 'token'; readonly username: string; readonly token: string }
  | {
      readonly method: 'otp-header' | 'session';
      readonly username: string;
      readonly password: string;
      /** Base32, upper-case, no spaces; absent when the account has no 2FA. */
      readonly totpSecret: string | undefined;
    };

export interface CpanelConfig {
  /** `https://host:2083` (origin only, no trailing slash). */
  readonly baseUrl: string;
  readonly auth: CpanelAuth;
  readonly tls: {
    /** Path of a PEM CA to trust besides the system CAs. */
    readonly caFile: string | undefined;
    /** SHA-256 of the server certificate, 64 lower-case hex digits: replaces chain validation. */
    readonly fingerprint: string | undefined;
  };
}

/** The settings this module reads (credentials-file keys are these in lower case). */
export const CPANEL_SETTINGS = [
  'CPANEL_BASE_URL',
  'CPANEL_USERNAME',
  'CPANEL_TOKEN',
  'CPANEL_PASSWORD',
  'CPANEL_TOTP_SECRET',
  'CPANEL_AUTH',
  'CPANEL_CA_FILE',
  'CPANEL_TLS_FINGERPRINT',
] as const;
type SettingName = (typeof CPANEL_SETTINGS)[number];

const SECRETS: ReadonlySet<SettingName> = new Set(['CPANEL_TOKEN', 'CPANEL_PASSWORD', 'CPANEL_TOTP_SECRET']);
/** acme.sh's dns_cpanel names, read when ours are unset. */
const ALIASES: Partial<Record<SettingName, string>> = {
  CPANEL_USERNAME: 'cPanel_Username',
  CPANEL_TOKEN: 'cPanel_Apitoken',
  CPANEL_BASE_URL: 'cPanel_Hostname',
};
/** Every environment variable that carries a cPanel secret (ours and acme.sh's names). */
export const CPANEL_SECRET_VARIABLES: readonly string[] = [...SECRETS].flatMap((name) => [name, ...(ALIASES[name] === undefined ? [] : [ALIASES[name]])]);

export type Environment = Readonly<Record<string, string | undefined>>;

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Reads and checks the cPanel settings. `fileValues` holds the credentials file's keys (lower
 * case); `readSecretFile` reads `<NAME>_FILE` (injected by tests; the only I/O here).
 */
export function parseCpanelConfig(
  env: Environment,
  fileValues: Readonly<Record<string, string>> = {},
  readSecretFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): CpanelConfig {
  const problems: string[] = [];
  let firstCode: 'config-missing' | 'config-invalid' | 'config-insecure-url' | undefined;
  const problem = (code: 'config-missing' | 'config-invalid' | 'config-insecure-url', text: string): void => {
    // The code of the most serious problem wins: an insecure URL over invalid over missing.
    const rank = { 'config-missing': 0, 'config-invalid': 1, 'config-insecure-url': 2 };
    if (firstCode === undefined || rank[code] > rank[firstCode]) firstCode = code;
    problems.push(text);
  };
  const checked = (parse: () => string): string | undefined => {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problem('config-invalid', error.message);
      return undefined;
    }
  };

  const get = (name: SettingName): string | undefined => {
    const direct = env[name];
    if (direct !== undefined && direct !== '') return direct;
    if (SECRETS.has(name)) {
      const file = env[`${name}_FILE`];
      if (file !== undefined && file !== '') {
        try {
          // One trailing newline is the file's, not the secret's.
          return readSecretFile(file).replace(/\r?\n$/, '');
        } catch (error) {
          problem('config-invalid', `${name}_FILE=${file} cannot be read (${error instanceof Error && 'code' in error ? String(error.code) : String(error)})`);
          return undefined;
        }
      }
    }
    const alias = ALIASES[name];
    const aliased = alias === undefined ? undefined : env[alias];
    if (aliased !== undefined && aliased !== '') return aliased;
    const fromFile = fileValues[name.toLowerCase()];
    return fromFile === undefined || fromFile === '' ? undefined : fromFile;
  };

  const values = Object.fromEntries(CPANEL_SETTINGS.map((name) => [name, get(name)])) as Record<SettingName, string | undefined>;
  for (const name of SECRETS) registerSecret(values[name]);

  const baseUrl = values.CPANEL_BASE_URL === undefined ? undefined : normalizeBaseUrl(values.CPANEL_BASE_URL, problem);
  if (values.CPANEL_BASE_URL === undefined) problem('config-missing', 'CPANEL_BASE_URL is not set (e.g. https://host.example.com:2083)');
  const username = values.CPANEL_USERNAME;
  if (username === undefined) problem('config-missing', 'CPANEL_USERNAME is not set (the cPanel account name)');

  const explicit = values.CPANEL_AUTH?.trim().toLowerCase();
  let method: CpanelAuthMethod | undefined;
  if (explicit === undefined) method = values.CPANEL_TOKEN !== undefined ? 'token' : 'session';
  else if (explicit === 'token' || explicit === 'otp-header' || explicit === 'session') method = explicit;
  else problem('config-invalid', `CPANEL_AUTH=${JSON.stringify(values.CPANEL_AUTH)} is not one of token, otp-header, session`);

  if (method === 'token' && values.CPANEL_TOKEN === undefined) {
    problem('config-missing', 'CPANEL_TOKEN (or CPANEL_TOKEN_FILE) is not set: create an API token with the Zone Editor feature in cPanel » Security » Manage API Tokens');
  }
  if ((method === 'otp-header' || method === 'session') && values.CPANEL_PASSWORD === undefined) {
    problem(
      'config-missing',
      values.CPANEL_TOKEN === undefined && explicit === undefined
        ? 'set CPANEL_TOKEN (an API token with the Zone Editor feature), or CPANEL_PASSWORD (plus CPANEL_TOTP_SECRET when the account has two-factor authentication)'
        : `CPANEL_PASSWORD (or CPANEL_PASSWORD_FILE) is not set; CPANEL_AUTH=${method} logs in with the account password`,
    );
  }
  let totpSecret: string | undefined;
  if (values.CPANEL_TOTP_SECRET !== undefined) {
    totpSecret = checked(() => normalizeTotpSecret(values.CPANEL_TOTP_SECRET ?? '', 'CPANEL_TOTP_SECRET'));
    if (method === 'token') problem('config-invalid', 'CPANEL_TOTP_SECRET is set but CPANEL_AUTH is token (API tokens never take a code); set CPANEL_AUTH=session or otp-header to log in with the password and code');
  }
  let fingerprint: string | undefined;
  if (values.CPANEL_TLS_FINGERPRINT !== undefined) {
    fingerprint = checked(() => normalizeFingerprint(values.CPANEL_TLS_FINGERPRINT ?? '', 'CPANEL_TLS_FINGERPRINT'));
  }

  if (problems.length > 0 || baseUrl === undefined || username === undefined || method === undefined) {
    throw new ConfigError(firstCode ?? 'config-invalid', `cpanel: configuration: ${problems.join('; ')}`);
  }
  const auth: CpanelAuth =
    method === 'token'
      ? { method, username, token: values.CPANEL_TOKEN ?? '' }
      : { method, username, password: values.CPANEL_PASSWORD ?? '', totpSecret };
  return { baseUrl, auth, tls: { caFile: values.CPANEL_CA_FILE, fingerprint } };
}

/** `host`, `host:2083` or a URL; https only, plain http only to loopback (e.g. an emulator). */
function normalizeBaseUrl(raw: string, problem: (code: 'config-invalid' | 'config-insecure-url', text: string) => void): string | undefined {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    problem('config-invalid', `CPANEL_BASE_URL=${JSON.stringify(raw)} is not a URL; use e.g. https://host.example.com:2083`);
    return undefined;
  }
  if (url.username || url.password) {
    problem('config-invalid', 'CPANEL_BASE_URL must not contain credentials; set CPANEL_USERNAME and CPANEL_TOKEN or CPANEL_PASSWORD');
    return undefined;
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      problem('config-insecure-url', `CPANEL_BASE_URL uses plain http:// to ${url.hostname}: credentials would travel unencrypted; use https://${url.hostname}:2083`);
      return undefined;
    }
  } else if (url.protocol !== 'https:') {
    problem('config-invalid', `CPANEL_BASE_URL must start with https:// (got ${url.protocol}//)`);
    return undefined;
  }
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search || url.hash) {
    problem('config-invalid', `CPANEL_BASE_URL must be the server's address only, without a path (got ${JSON.stringify(raw)}); use e.g. https://host.example.com:2083`);
    return undefined;
  }
  // A bare host means cPanel's TLS port (acme.sh's cPanel_Hostname often is just the name).
  if (url.protocol === 'https:' && url.port === '' && !/^https:\/\//i.test(text)) url.port = '2083';
  return url.origin;
}
