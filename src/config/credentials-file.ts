/**
 * The credentials file (`MIAB_CONFIG`): `key = value` lines like certbot's DNS plugin INI files.
 * It holds the password, so we refuse to read it when anyone but its owner can.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { isNotFound } from '../state/files.js';

/** Returns the file's settings keyed by their `MIAB_*` variable name. */
export async function readCredentialsFile(path: string, knownKeys: ReadonlySet<string>): Promise<Map<string, string>> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if (isNotFound(error)) throw new ConfigError('config-missing', `the credentials file ${path} (MIAB_CONFIG) does not exist`);
    throw new ConfigError('config-invalid', `cannot read the credentials file ${path} (MIAB_CONFIG): ${String(error)}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      'config-insecure-permissions',
      `the credentials file ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); it holds your password: run chmod 600 ${path}`,
    );
  }
  const text = await readFile(path, 'utf8');
  return parseCredentials(text, path, knownKeys);
}

export function parseCredentials(text: string, path: string, knownKeys: ReadonlySet<string>): Map<string, string> {
  const settings = new Map<string, string>();
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || /^\[.*\]$/.test(line)) return;
    const equals = line.indexOf('=');
    const where = `${path} line ${index + 1}`;
    if (equals <= 0) throw new ConfigError('config-invalid', `${where}: expected "key = value"`);
    const key = line.slice(0, equals).trim().toLowerCase().replace(/-/g, '_');
    const variable = `MIAB_${key.toUpperCase()}`;
    if (!knownKeys.has(variable)) {
      const known = [...knownKeys].map((name) => name.slice(5).toLowerCase()).join(', ');
      throw new ConfigError('config-invalid', `${where}: unknown key "${key}"; known keys: ${known}`);
    }
    settings.set(variable, line.slice(equals + 1).trim());
  });
  return settings;
}
