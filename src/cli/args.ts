/**
 * Command-line parsing. TXT values are base64url and may begin with `-`, so the token after a
 * record name is always taken as its value, never as an option. The first `--` ends the
 * options wherever it stands (before, between or after the positionals); a TXT value is never
 * `--` itself (it is 43 characters long). Secrets are refused as arguments: anything in argv
 * shows up in `ps`.
 */
import { ConfigError } from '../errors.js';
import { durationForms, parseDurationMs, type DurationUnit } from '../util/duration.js';
import type { SettingName } from '../config/settings.js';

export interface OptionSpec {
  /** Long name without dashes, e.g. `no-wait`. */
  readonly name: string;
  readonly short?: string;
  readonly takesValue: boolean;
  readonly repeatable?: boolean;
  /** Placeholder of the value in help, e.g. `<dir>`. */
  readonly valueName?: string;
  /** One line for help, completion and the man page. */
  readonly description?: string;
  /** The `MIAB_*` setting this flag sets (flag > environment > credentials file). */
  readonly setting?: SettingName;
  /** Shown in help but not offered by completion (deprecated spellings). */
  readonly hidden?: boolean;
}

export interface ParsedArgs {
  readonly options: ReadonlyMap<string, readonly string[]>;
  readonly positionals: readonly string[];
}

/** Which DNS host, where it is and how to reach it (never secrets): every command takes them, before or after its name. */
export const CONNECTION_OPTIONS: readonly OptionSpec[] = [
  { name: 'provider', takesValue: true, setting: 'MIAB_DNS01_PROVIDER', valueName: '<name>', description: 'DNS host: mailinabox (default), cpanel, or serve (MIAB_DNS01_PROVIDER; serve when MIAB_DNS01_SERVE_URL is set)' },
  { name: 'url', takesValue: true, setting: 'MIAB_URL', valueName: '<url>', description: 'admin API, e.g. https://box.example.com/admin' },
  { name: 'email', takesValue: true, setting: 'MIAB_EMAIL', valueName: '<address>', description: 'admin account of the box' },
  { name: 'config', takesValue: true, valueName: '<file>', description: 'credentials file (MIAB_CONFIG; key = value, chmod 600)' },
  { name: 'state-dir', takesValue: true, setting: 'MIAB_STATE_DIR', valueName: '<dir>', description: 'session cache, journal, locks, ACME account' },
  { name: 'ca-file', takesValue: true, setting: 'MIAB_CA_FILE', valueName: '<pem>', description: 'extra CA to trust for the box' },
  { name: 'tls-fingerprint', takesValue: true, setting: 'MIAB_TLS_FINGERPRINT', valueName: '<sha256>', description: "pin the box's certificate" },
  { name: 'system-key-file', takesValue: true, setting: 'MIAB_SYSTEM_KEY_FILE', valueName: '<file>', description: 'on the box: /var/lib/mailinabox/api.key' },
];

/** Output options, also accepted before or after the command name. */
export const OUTPUT_OPTIONS: readonly OptionSpec[] = [
  { name: 'debug', takesValue: false, description: 'show every step and HTTP exchange, credentials redacted (MIAB_DEBUG=1)' },
  { name: 'quiet', short: 'q', takesValue: false, description: 'print errors only' },
  { name: 'json', takesValue: false, description: 'machine-readable result on stdout (zones, check, cleanup --stale, issue)' },
  { name: 'help', short: 'h', takesValue: false, description: "print this command's help" },
];

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [...CONNECTION_OPTIONS, ...OUTPUT_OPTIONS];

const SECRET_FLAGS: Readonly<Record<string, string>> = {
  password: 'MIAB_PASSWORD_FILE (a 0600 file) or MIAB_PASSWORD',
  'totp-secret': 'MIAB_TOTP_SECRET_FILE (a 0600 file) or MIAB_TOTP_SECRET',
  'system-key': 'MIAB_SYSTEM_KEY_FILE',
  'api-key': 'the session cache, which miab-dns01 manages itself',
};

export function usageError(message: string, command?: string): ConfigError {
  return new ConfigError('usage', `${message}; see "miab-dns01 ${command === undefined ? '--help' : `help ${command}`}"`);
}

/**
 * @param specs the command's options; global options are added. A command option of the
 *   same name as a global one replaces it.
 * @param pairs when true, positionals are `<name> <value>` pairs and the token after each name
 *   is taken verbatim as its value.
 * @param command for the hint in error messages.
 */
export function parseArgs(tokens: readonly string[], specs: readonly OptionSpec[], pairs: boolean, command?: string): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const spec of [...GLOBAL_OPTIONS, ...specs]) {
    byName.set(spec.name, spec);
    if (spec.short) byName.set(spec.short, spec);
  }
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  let onlyPositionals = false;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] ?? '';
    if (token === '--' && !onlyPositionals) {
      onlyPositionals = true;
      continue;
    }
    const expectingValue = pairs && positionals.length % 2 === 1;
    if (onlyPositionals || expectingValue || !token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const long = token.startsWith('--');
    const body = token.slice(long ? 2 : 1);
    const equals = long ? body.indexOf('=') : -1;
    const name = equals >= 0 ? body.slice(0, equals) : body;
    if (SECRET_FLAGS[name] !== undefined) {
      throw usageError(`--${name} is not accepted: secrets on the command line are visible to every user in "ps"; use ${SECRET_FLAGS[name]}`, command);
    }
    const spec = long || name.length === 1 ? byName.get(name) : undefined;
    if (spec === undefined) throw usageError(`unknown option ${token}`, command);
    let value: string | undefined;
    if (spec.takesValue) {
      value = equals >= 0 ? body.slice(equals + 1) : tokens[++index];
      if (value === undefined) throw usageError(`option --${spec.name} needs a value`, command);
    } else if (equals >= 0) {
      throw usageError(`option --${spec.name} takes no value`, command);
    }
    const values = options.get(spec.name) ?? [];
    if (values.length > 0 && !spec.repeatable) throw usageError(`option --${spec.name} given twice`, command);
    options.set(spec.name, [...values, value ?? 'true']);
  }
  return { options, positionals };
}

/** Options of `extra` added to `base`; a non-repeatable option in both is a usage error. */
export function mergeArgs(base: ParsedArgs, extra: ParsedArgs, specs: readonly OptionSpec[], command?: string): ParsedArgs {
  const options = new Map<string, string[]>([...base.options].map(([name, values]) => [name, [...values]]));
  for (const [name, values] of extra.options) {
    const existing = options.get(name);
    if (existing !== undefined && !specs.find((spec) => spec.name === name)?.repeatable) throw usageError(`option --${name} given twice`, command);
    options.set(name, [...(existing ?? []), ...values]);
  }
  return { options, positionals: [...base.positionals, ...extra.positionals] };
}

/** A flag's duration (`90s`, `30m`, `2h`, `1d`) in milliseconds; `bareUnit` reads a plain number. */
export function parseDuration(text: string, option: string, bareUnit?: DurationUnit): number {
  const ms = parseDurationMs(text, bareUnit);
  if (ms === undefined) throw usageError(`${option} takes ${durationForms(bareUnit)} (got ${JSON.stringify(text)})`);
  return ms;
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
    throw usageError(`"${command}" takes ${atMostOne ? 'a name and a value' : 'one or more name and value pairs'} (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'})`, command);
  }
  const records: { name: string; value: string }[] = [];
  for (let index = 0; index < positionals.length; index += 2) {
    records.push({ name: positionals[index] ?? '', value: positionals[index + 1] ?? '' });
  }
  return records;
}
