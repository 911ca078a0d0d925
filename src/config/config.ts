/**
 * Typed, validated configuration. Every problem is reported before anything touches the box,
 * with the variable to set; all missing variables are named in one error.
 */
import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { collectSettings, type Environment, type Settings, type SettingsSources } from './settings.js';

export const DEFAULT_SYSTEM_KEY_FILE = '/var/lib/mailinabox/api.key';
/** Where the admin daemon listens on the box itself (no nginx, no `/admin` prefix). */
export const ON_BOX_URL = 'http://127.0.0.1:10222';

export type AuthSettings =
  | { readonly kind: 'system-key'; readonly keyFile: string }
  | {
      readonly kind: 'session';
      readonly email: string;
      readonly password: string;
      /** Base32 TOTP secret, upper-case, no spaces; absent when the account has no 2FA. */
      readonly totpSecret: string | undefined;
    };

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
  /** The raw settings, for the propagation settings parser. */
  readonly settings: Settings;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Normalizes `MIAB_URL`: a bare host means `https://<host>/admin`; plain http only on loopback. */
export function normalizeApiUrl(raw: string): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError('config-invalid', `MIAB_URL=${JSON.stringify(raw)} is not a URL; use e.g. https://box.example.com/admin`);
  }
  if (url.username || url.password) {
    throw new ConfigError('config-invalid', 'MIAB_URL must not contain credentials; set MIAB_EMAIL and MIAB_PASSWORD (or MIAB_PASSWORD_FILE) instead');
  }
  if (url.search || url.hash) {
    // API paths are appended to it: `...?x=1` + `/login` would not reach the API.
    throw new ConfigError('config-invalid', `MIAB_URL must not have a query or fragment (got ${JSON.stringify(raw)}); use e.g. https://box.example.com/admin`);
  }
  // An empty `?` or `#` leaves its marker in toString(): drop it.
  url.search = '';
  url.hash = '';
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new ConfigError(
        'config-insecure-url',
        `MIAB_URL uses plain http:// to ${url.hostname}: credentials would travel unencrypted; use https://${url.host}${url.pathname === '/' ? '/admin' : url.pathname}`,
      );
    }
  } else if (url.protocol !== 'https:') {
    throw new ConfigError('config-invalid', `MIAB_URL must start with https:// (got ${url.protocol}//)`);
  } else if (url.pathname.replace(/\/+$/, '') === '') {
    // Behind nginx the API lives under /admin; the site root is the box's web page.
    url.pathname = '/admin';
  }
  return url.toString().replace(/\/+$/, '');
}

/** Accepts `AB:CD:...`, `abcd...` and openssl's `sha256 Fingerprint=AB:CD...`. */
export function normalizeFingerprint(raw: string): string {
  const hex = raw.replace(/^.*=/, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new ConfigError(
      'config-invalid',
      'MIAB_TLS_FINGERPRINT must be a SHA-256 fingerprint (64 hex digits, colons optional), as printed by: openssl s_client -connect <box>:443 </dev/null | openssl x509 -noout -fingerprint -sha256',
    );
  }
  return hex;
}

export function normalizeTotpSecret(raw: string): string {
  const secret = raw.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
  if (!/^[A-Z2-7]{16,}$/.test(secret)) {
    throw new ConfigError('config-invalid', 'MIAB_TOTP_SECRET must be the base32 secret shown when you enabled two-factor authentication (letters A-Z and digits 2-7)');
  }
  return secret;
}

export function defaultStateDir(env: Environment): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'miab-dns01');
  if (process.getuid?.() === 0) return '/var/lib/miab-dns01';
  return join(env.HOME ?? homedir(), '.local', 'state', 'miab-dns01');
}

/** The state dir must not depend on the working directory: hooks run from wherever the client is. */
export function resolveStateDir(configured: string | undefined, env: Environment): string {
  if (configured === undefined) return defaultStateDir(env);
  if (!isAbsolute(configured)) {
    throw new ConfigError('config-invalid', `MIAB_STATE_DIR=${JSON.stringify(configured)} must be an absolute path (hooks run from the ACME client's working directory)`);
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

function resolveAuth(settings: Settings, systemKeyUsable: boolean, explicitKeyFile: string | undefined): AuthSettings {
  if (explicitKeyFile !== undefined || systemKeyUsable) {
    return { kind: 'system-key', keyFile: explicitKeyFile ?? DEFAULT_SYSTEM_KEY_FILE };
  }
  const missing: string[] = [];
  if (!settings.MIAB_URL) missing.push('MIAB_URL (e.g. https://box.example.com/admin)');
  if (!settings.MIAB_EMAIL) missing.push('MIAB_EMAIL (an admin account of the box)');
  if (!settings.MIAB_PASSWORD) missing.push('MIAB_PASSWORD or MIAB_PASSWORD_FILE');
  if (!settings.MIAB_URL || !settings.MIAB_EMAIL || !settings.MIAB_PASSWORD) {
    throw new ConfigError(
      'config-missing',
      `missing configuration: ${missing.join(', ')}. Set them in the environment or in a credentials file named by MIAB_CONFIG (chmod 600)`,
    );
  }
  if (/[^\x20-\x7e]/.test(settings.MIAB_PASSWORD)) {
    throw new ConfigError('config-invalid', 'MIAB_PASSWORD contains non-ASCII characters, which the box API cannot accept; use an ASCII password for the API account');
  }
  return {
    kind: 'session',
    email: settings.MIAB_EMAIL.trim(),
    password: settings.MIAB_PASSWORD,
    totpSecret: settings.MIAB_TOTP_SECRET ? normalizeTotpSecret(settings.MIAB_TOTP_SECRET) : undefined,
  };
}

/** Reads and validates everything needed to talk to the box. */
export async function loadBoxConfig(sources: SettingsSources): Promise<BoxConfig> {
  const settings = await collectSettings(sources);
  const apiUrl = normalizeApiUrl(settings.MIAB_URL ?? ON_BOX_URL);
  const onLoopback = isLoopbackHost(new URL(apiUrl).hostname);
  const explicitKeyFile = settings.MIAB_SYSTEM_KEY_FILE;
  const systemKeyUsable = onLoopback && (await isReadable(DEFAULT_SYSTEM_KEY_FILE));
  if (explicitKeyFile !== undefined && !(await isReadable(explicitKeyFile))) {
    throw new ConfigError('config-missing', `MIAB_SYSTEM_KEY_FILE=${explicitKeyFile} is not readable (it is readable by root on the box only)`);
  }
  const auth = resolveAuth(settings, systemKeyUsable, explicitKeyFile);
  let caPem: string | undefined;
  if (settings.MIAB_CA_FILE) {
    try {
      caPem = await readFile(settings.MIAB_CA_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError('config-missing', `cannot read MIAB_CA_FILE=${settings.MIAB_CA_FILE}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError('config-invalid', `MIAB_CA_FILE=${settings.MIAB_CA_FILE} holds no PEM certificate`);
    }
  }
  const fingerprint = settings.MIAB_TLS_FINGERPRINT ? normalizeFingerprint(settings.MIAB_TLS_FINGERPRINT) : undefined;
  return {
    apiUrl,
    auth,
    tls: { caPem, fingerprint },
    stateDir: resolveStateDir(settings.MIAB_STATE_DIR, sources.env),
    settings,
  };
}
