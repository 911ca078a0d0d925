/**
 * The credentials file (`MIAB_CONFIG`): `key = value` lines like certbot's DNS plugin INI files.
 * It holds the password, so we refuse to read it when anyone but its owner can.
 *
 * Comment rule (a password may contain `#`):
 * - a line whose first non-blank character is `#` or `;` is a comment;
 * - in a value, `#` starts a comment only when it follows a blank (` #`), so `pa#ss` is a
 *   password and `JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP   # only when 2FA is on` is a secret and a comment;
 * - a value in quotes (`"..."` or `'...'`) is taken verbatim, ` #` included; inside double
 *   quotes `\"` and `\\` stand for `"` and `\`. After the closing quote only a comment may follow.
 * Every error names the file and the line.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { isNotFound } from '../state/files.js';

/** One setting read from the file, with where it was found (for error messages). */
export interface CredentialsEntry {
  readonly value: string;
  /** `password (/etc/miab.conf line 3)` */
  readonly origin: string;
}

/** Returns the file's settings keyed by their variable name (`MIAB_*`, or a provider's own, e.g. `CPANEL_TOKEN`). */
export async function readCredentialsFile(path: string, knownKeys: ReadonlySet<string>): Promise<Map<string, CredentialsEntry>> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if (isNotFound(error)) throw new ConfigError('config-missing', `the credentials file ${path} (MIAB_CONFIG or --config) does not exist`);
    throw new ConfigError('config-invalid', `cannot read the credentials file ${path} (MIAB_CONFIG or --config): ${error instanceof Error ? error.message : String(error)}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      'config-insecure-permissions',
      `the credentials file ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); it holds your password: run chmod 600 ${path}`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError('config-invalid', `cannot read the credentials file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseCredentialsEntries(text, path, knownKeys);
}

/** The value part of a line: unquoted and without its trailing comment, or why it is malformed. */
function parseValue(raw: string): { value: string } | { error: string } {
  const text = raw.trim();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    let value = '';
    for (let index = 1; index < text.length; index++) {
      const char = text[index] ?? '';
      if (char === quote) {
        const rest = text.slice(index + 1).trim();
        if (rest !== '' && !rest.startsWith('#') && !rest.startsWith(';')) return { error: `unexpected text after the closing ${quote}: ${JSON.stringify(rest)}` };
        return { value };
      }
      if (quote === '"' && char === '\\' && (text[index + 1] === '"' || text[index + 1] === '\\')) {
        value += text[++index] ?? '';
        continue;
      }
      value += char;
    }
    return { error: `the value opens a ${quote} quote that never closes` };
  }
  const comment = /\s[#;]/.exec(text);
  return { value: (comment === null ? text : text.slice(0, comment.index)).trim() };
}

/**
 * The variable a key stands for: `password` is `MIAB_PASSWORD`, `provider` is
 * `MIAB_DNS01_PROVIDER`, and a provider's own keys are its variable names (`cpanel_token`).
 */
function variableOfKey(key: string, knownKeys: ReadonlySet<string>): string | undefined {
  const upper = key.toUpperCase();
  // A bare variable name only for a provider's own keys: `miab_url` is not a spelling of `url`.
  return [`MIAB_${upper}`, `MIAB_DNS01_${upper}`, ...(upper.startsWith('MIAB_') ? [] : [upper])].find((variable) => knownKeys.has(variable));
}

function keyOfVariable(variable: string): string {
  return variable.replace(/^MIAB_DNS01_|^MIAB_/, '').toLowerCase();
}

export function parseCredentialsEntries(text: string, path: string, knownKeys: ReadonlySet<string>): Map<string, CredentialsEntry> {
  const settings = new Map<string, CredentialsEntry>();
  const problems: string[] = [];
  text.split(/\r\n|\r|\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || /^\[.*\]$/.test(line)) return;
    const where = `${path} line ${index + 1}`;
    const equals = line.indexOf('=');
    if (equals <= 0) {
      problems.push(`${where}: expected "key = value"`);
      return;
    }
    const key = line.slice(0, equals).trim().toLowerCase().replace(/-/g, '_');
    const variable = variableOfKey(key, knownKeys);
    if (variable === undefined) {
      const known = [...knownKeys].map(keyOfVariable).join(', ');
      problems.push(`${where}: unknown key "${key}"; known keys: ${known}`);
      return;
    }
    const parsed = parseValue(line.slice(equals + 1));
    if ('error' in parsed) {
      problems.push(`${where}: ${parsed.error}`);
      return;
    }
    if (settings.has(variable)) {
      problems.push(`${where}: "${key}" is set twice (also ${settings.get(variable)?.origin ?? ''})`);
      return;
    }
    settings.set(variable, { value: parsed.value, origin: `${key} (${where})` });
  });
  if (problems.length > 0) throw new ConfigError('config-invalid', problems.join('; '));
  return settings;
}

/** The file's settings without their origins. */
export function parseCredentials(text: string, path: string, knownKeys: ReadonlySet<string>): Map<string, string> {
  return new Map([...parseCredentialsEntries(text, path, knownKeys)].map(([name, entry]) => [name, entry.value]));
}
