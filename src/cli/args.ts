/**
 * Command-line parsing. TXT values are base64url and may begin with `-`, so the token after a
 * record name is always taken as its value, never as an option; `--` ends the options.
 * Secrets are refused as arguments: anything in argv shows up in `ps`.
 */
import { ConfigError } from '../errors.js';
import type { SettingName } from '../config/settings.js';

export interface OptionSpec {
  /** Long name without dashes, e.g. `no-wait`. */
  readonly name: string;
  readonly short?: string;
  readonly takesValue: boolean;
  readonly repeatable?: boolean;
}

export interface ParsedArgs {
  readonly options: ReadonlyMap<string, readonly string[]>;
  readonly positionals: readonly string[];
}

/** Options every command accepts: where the box is and how to reach it (never secrets). */
export const CONNECTION_OPTIONS: readonly (OptionSpec & { readonly setting?: SettingName })[] = [
  { name: 'url', takesValue: true, setting: 'MIAB_URL' },
  { name: 'email', takesValue: true, setting: 'MIAB_EMAIL' },
  { name: 'config', takesValue: true },
  { name: 'state-dir', takesValue: true, setting: 'MIAB_STATE_DIR' },
  { name: 'ca-file', takesValue: true, setting: 'MIAB_CA_FILE' },
  { name: 'tls-fingerprint', takesValue: true, setting: 'MIAB_TLS_FINGERPRINT' },
  { name: 'system-key-file', takesValue: true, setting: 'MIAB_SYSTEM_KEY_FILE' },
  { name: 'debug', takesValue: false },
];

const SECRET_FLAGS: Readonly<Record<string, string>> = {
  password: 'MIAB_PASSWORD_FILE (a 0600 file) or MIAB_PASSWORD',
  'totp-secret': 'MIAB_TOTP_SECRET_FILE (a 0600 file) or MIAB_TOTP_SECRET',
  'system-key': 'MIAB_SYSTEM_KEY_FILE',
  'api-key': 'the session cache, which miab-dns01 manages itself',
};

function usage(message: string): ConfigError {
  return new ConfigError('usage', `${message}; see "miab-dns01 --help"`);
}

/**
 * @param pairs when true, positionals are `<name> <value>` pairs and the token after each name
 *   is taken verbatim as its value.
 */
export function parseArgs(tokens: readonly string[], specs: readonly OptionSpec[], pairs: boolean): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const spec of [...specs, ...CONNECTION_OPTIONS]) {
    byName.set(spec.name, spec);
    if (spec.short) byName.set(spec.short, spec);
  }
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  let onlyPositionals = false;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] ?? '';
    const expectingValue = pairs && positionals.length % 2 === 1;
    if (onlyPositionals || expectingValue || !token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    if (token === '--') {
      onlyPositionals = true;
      continue;
    }
    const long = token.startsWith('--');
    const body = token.slice(long ? 2 : 1);
    const equals = long ? body.indexOf('=') : -1;
    const name = equals >= 0 ? body.slice(0, equals) : body;
    if (SECRET_FLAGS[name] !== undefined) {
      throw usage(`--${name} is not accepted: secrets on the command line are visible to every user in "ps"; use ${SECRET_FLAGS[name]}`);
    }
    const spec = long || name.length === 1 ? byName.get(name) : undefined;
    if (spec === undefined) throw usage(`unknown option ${token}`);
    let value: string | undefined;
    if (spec.takesValue) {
      value = equals >= 0 ? body.slice(equals + 1) : tokens[++index];
      if (value === undefined) throw usage(`option --${spec.name} needs a value`);
    } else if (equals >= 0) {
      throw usage(`option --${spec.name} takes no value`);
    }
    const values = options.get(spec.name) ?? [];
    if (values.length > 0 && !spec.repeatable) throw usage(`option --${spec.name} given twice`);
    options.set(spec.name, [...values, value ?? 'true']);
  }
  return { options, positionals };
}

/** `90s`, `30m`, `2h`, `1d` in milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!match) throw usage(`${option} takes a duration such as 90s, 30m, 2h or 1d (got ${JSON.stringify(text)})`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

export function single(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.[0];
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}

/** Splits `<name> <value> [<name> <value>...]` positionals into records. */
export function recordPairs(args: ParsedArgs, command: string, atMostOne: boolean): { name: string; value: string }[] {
  const { positionals } = args;
  if (positionals.length === 0 || positionals.length % 2 !== 0 || (atMostOne && positionals.length !== 2)) {
    throw usage(`"${command}" takes ${atMostOne ? 'a name and a value' : 'one or more name and value pairs'} (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'})`);
  }
  const records: { name: string; value: string }[] = [];
  for (let index = 0; index < positionals.length; index += 2) {
    records.push({ name: positionals[index] ?? '', value: positionals[index + 1] ?? '' });
  }
  return records;
}
