/**
 * The record commands: each parses its arguments, calls the engine, and prints a result.
 * No command calls process.exit; errors propagate to main.ts, which maps them to exit codes.
 */
import { ConfigError } from '../errors.js';
import { formatServer } from '../propagation/address.js';
import { collectSettings } from '../config/settings.js';
import { resolveStateDir } from '../config/config.js';
import { Journal, isStale, type JournalEntry } from '../records/journal.js';
import { usingRuntime, type Runtime } from '../runtime.js';
import { stderrLogger, type Logger } from '../util/log.js';
import { CONNECTION_OPTIONS, flag, parseArgs, parseDuration, recordPairs, single, type OptionSpec, type ParsedArgs } from './args.js';
import type { Environment, Settings, SettingName } from '../config/settings.js';

export interface CommandContext {
  readonly env: Environment;
  readonly signal: AbortSignal;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export type Command = (tokens: readonly string[], context: CommandContext) => Promise<void>;

export function loggerFor(args: ParsedArgs, context: CommandContext): Logger {
  return stderrLogger({ debug: flag(args, 'debug') || context.env.MIAB_DEBUG === '1', write: context.stderr });
}

export function flagSettings(args: ParsedArgs): Settings {
  const settings: Partial<Record<SettingName, string>> = {};
  for (const spec of CONNECTION_OPTIONS) {
    const value = single(args, spec.name);
    if (spec.setting !== undefined && value !== undefined) settings[spec.setting] = value;
  }
  return settings;
}

/** Opens the runtime for a parsed command line and runs `work` with it. */
export function withRuntime<T>(args: ParsedArgs, context: CommandContext, work: (runtime: Runtime, log: Logger) => Promise<T>): Promise<T> {
  const log = loggerFor(args, context);
  return usingRuntime({ env: context.env, flags: flagSettings(args), configFile: single(args, 'config'), log, signal: context.signal }, (runtime) => work(runtime, log));
}

const NO_WAIT: OptionSpec = { name: 'no-wait', takesValue: false };

export const present: Command = async (tokens, context) => {
  const args = parseArgs(tokens, [NO_WAIT], true);
  const records = recordPairs(args, 'present', true);
  await withRuntime(args, context, (runtime) => runtime.engine.present(records, { wait: !flag(args, 'no-wait'), signal: context.signal }));
};

export const wait: Command = async (tokens, context) => {
  const args = parseArgs(tokens, [], true);
  const records = recordPairs(args, 'wait', false);
  await withRuntime(args, context, async (runtime) => runtime.engine.wait(await runtime.engine.prepare(records), context.signal));
};

const STALE_OPTIONS: readonly OptionSpec[] = [
  { name: 'stale', takesValue: false },
  { name: 'older-than', takesValue: true },
  { name: 'dry-run', takesValue: false },
];

function describeEntry(entry: JournalEntry, now: number): string {
  const ageSeconds = Math.round((now - Date.parse(entry.createdAt)) / 1000);
  const age = ageSeconds >= 7200 ? `${Math.round(ageSeconds / 3600)}h` : ageSeconds >= 120 ? `${Math.round(ageSeconds / 60)}m` : `${ageSeconds}s`;
  return `${entry.fqdn}\t${entry.value}\t${age}\t(pid ${entry.pid}, owner ${entry.ownerPid}, ${entry.apiUrl})`;
}

export const cleanup: Command = async (tokens, context) => {
  const args = parseArgs(tokens, STALE_OPTIONS, !tokens.includes('--stale'));
  if (!flag(args, 'stale')) {
    if (flag(args, 'older-than') || flag(args, 'dry-run')) throw new ConfigError('usage', '--older-than and --dry-run go with --stale; see "miab-dns01 --help"');
    const [record] = recordPairs(args, 'cleanup', true);
    if (record !== undefined) await withRuntime(args, context, (runtime) => runtime.engine.cleanup(record.name, record.value));
    return;
  }
  if (args.positionals.length > 0) throw new ConfigError('usage', '"cleanup --stale" takes no name or value; see "miab-dns01 --help"');
  const olderThan = single(args, 'older-than');
  const olderThanMs = olderThan === undefined ? undefined : parseDuration(olderThan, '--older-than');
  const now = Date.now();
  if (flag(args, 'dry-run')) {
    // A dry run only reads the journal: it needs no credentials.
    const settings = await collectSettings({ env: context.env, flags: flagSettings(args), configFile: single(args, 'config') });
    const entries = (await new Journal(resolveStateDir(settings.MIAB_STATE_DIR, context.env)).list()).filter((entry) => isStale(entry, now, olderThanMs));
    for (const entry of entries) context.stdout(`${describeEntry(entry, now)}\n`);
    if (entries.length === 0) context.stderr('miab-dns01: no stale records\n');
    return;
  }
  await withRuntime(args, context, async (runtime, log) => {
    const stale = (await runtime.journal.list(runtime.config.apiUrl)).filter((entry) => isStale(entry, now, olderThanMs));
    for (const entry of stale) {
      await runtime.engine.remove(entry);
      context.stdout(`removed ${describeEntry(entry, now)}\n`);
    }
    if (stale.length === 0) log.info('no stale records');
  });
};

export const zones: Command = async (tokens, context) => {
  const args = parseArgs(tokens, [], false);
  if (args.positionals.length > 0) throw new ConfigError('usage', '"zones" takes no arguments');
  await withRuntime(args, context, async (runtime) => {
    for (const zone of await runtime.client.zones()) context.stdout(`${zone}\n`);
  });
};

export const check: Command = async (tokens, context) => {
  const args = parseArgs(tokens, [], false);
  if (args.positionals.length > 0) throw new ConfigError('usage', '"check" takes no arguments');
  await withRuntime(args, context, async (runtime) => {
    const { config, auth, propagation } = runtime;
    const reused = auth.mode === 'session' && (await auth.hasCachedSession());
    const boxZones = await runtime.client.zones();
    const account = config.auth.kind === 'session' ? `${config.auth.email}${config.auth.totp ? ' (with TOTP)' : ''}` : `system key ${config.auth.keyFile}`;
    const lines = [
      `box:        ${config.apiUrl}`,
      `auth mode:  ${auth.mode}`,
      `account:    ${account}`,
      ...(auth.mode === 'session' ? [`session:    ${reused ? 'reused the cached session' : `logged in (${runtime.client.counts.logins} login)`}`] : []),
      `state dir:  ${config.stateDir}`,
      `zones:      ${boxZones.join(', ') || '(none)'}`,
      `nameservers: ${propagation.nameservers ? propagation.nameservers.map(formatServer).join(', ') : 'discovered from each zone\'s NS records'}`,
      'OK: configuration and credentials work; nothing was written',
    ];
    context.stdout(`${lines.join('\n')}\n`);
  });
};

export const logout: Command = async (tokens, context) => {
  const args = parseArgs(tokens, [], false);
  await withRuntime(args, context, async (runtime, log) => {
    if (runtime.auth.mode !== 'session') {
      log.info('system key mode has no session to end');
      return;
    }
    log.info((await runtime.auth.logout()) ? 'ended the cached session on the box and deleted it here' : 'there was no cached session');
  });
};
