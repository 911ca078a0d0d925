/**
 * Settings of a serve client: where `miab-dns01 serve` is and this machine's scoped
 * credential. Read from MIAB_DNS01_SERVE_URL, MIAB_DNS01_SERVE_USERNAME and
 * MIAB_DNS01_SERVE_PASSWORD (or MIAB_DNS01_SERVE_PASSWORD_FILE, a 0600 file); every missing
 * variable is named in one error. The password is registered for redaction at once.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import { isLoopbackHost, normalizeFingerprint } from '../../util/credential-formats.js';
import type { TlsTrust } from '../http/tls-trust.js';
import { registerDerivedSecret, registerSecret } from '../../secrets.js';

export interface ServeClientConfig {
  /** Base URL of serve, without trailing slash, e.g. `https://certs.internal:8443`. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** MIAB_CA_FILE / MIAB_TLS_FINGERPRINT, applied to serve's certificate. */
  readonly tls: TlsTrust;
}

export type ServeClientEnvironment = Readonly<Record<string, string | undefined>>;

/** True when the environment asks for a serve instance instead of the box. */
export function usesServe(env: ServeClientEnvironment): boolean {
  return (env.MIAB_DNS01_SERVE_URL ?? '') !== '';
}

/** The environment variables that carry a serve client's secret. */
export const SERVE_CLIENT_SECRET_VARIABLES: readonly string[] = ['MIAB_DNS01_SERVE_PASSWORD'];

async function passwordFrom(env: ServeClientEnvironment): Promise<string | undefined> {
  const file = env.MIAB_DNS01_SERVE_PASSWORD_FILE;
  if (file === undefined || file === '') return env.MIAB_DNS01_SERVE_PASSWORD || undefined;
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new ConfigError('config-missing', `MIAB_DNS01_SERVE_PASSWORD_FILE=${file} does not exist or cannot be read`);
  }
  if ((info.mode & 0o077) !== 0) {
    throw new ConfigError('config-insecure-permissions', `MIAB_DNS01_SERVE_PASSWORD_FILE=${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  return (await readFile(file, 'utf8')).trim() || undefined;
}

export async function loadServeClientConfig(env: ServeClientEnvironment): Promise<ServeClientConfig> {
  const password = await passwordFrom(env);
  registerSecret(password);
  const rawUrl = (env.MIAB_DNS01_SERVE_URL ?? '').replace(/\/+$/, '');
  const username = env.MIAB_DNS01_SERVE_USERNAME ?? '';
  const missing = [
    ...(rawUrl === '' ? ['MIAB_DNS01_SERVE_URL'] : []),
    ...(username === '' ? ['MIAB_DNS01_SERVE_USERNAME'] : []),
    ...(password === undefined ? ['MIAB_DNS01_SERVE_PASSWORD_FILE (or MIAB_DNS01_SERVE_PASSWORD)'] : []),
  ];
  if (missing.length > 0) throw new ConfigError('config-missing', `to use a miab-dns01 serve instance set ${missing.join(', ')} (the username and password "miab-dns01 clients add" printed)`);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ConfigError('config-invalid', `MIAB_DNS01_SERVE_URL=${rawUrl} is not a URL; use e.g. https://certs.example.com:8443`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError('config-insecure-url', `MIAB_DNS01_SERVE_URL=${rawUrl} would send the password in clear text; use https:// (plain http only on loopback)`);
  }
  registerDerivedSecret(Buffer.from(`${username}:${password ?? ''}`).toString('base64'));
  return { url: rawUrl, username, password: password ?? '', tls: await tlsFrom(env) };
}

async function tlsFrom(env: ServeClientEnvironment): Promise<TlsTrust> {
  const caFile = env.MIAB_CA_FILE;
  let caPem: string | undefined;
  if (caFile !== undefined && caFile !== '') {
    try {
      caPem = await readFile(caFile, 'utf8');
    } catch (error) {
      throw new ConfigError('config-missing', `cannot read MIAB_CA_FILE=${caFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('config-invalid', `MIAB_CA_FILE=${caFile} holds no PEM certificate`);
  }
  const fingerprint = env.MIAB_TLS_FINGERPRINT ? normalizeFingerprint(env.MIAB_TLS_FINGERPRINT) : undefined;
  return { caPem, fingerprint };
}
