/**
 * The record commands: each gets its parsed arguments, calls the engine, and prints a result
 * (text, or JSON with --json). No command calls process.exit; errors propagate to main.ts,
 * which maps them to exit codes.
 */
import { contextLogger, withRuntime } from '../adapters/context.js';
import { resolveStateDir } from '../config/config.js';
import { collectSettings } from '../config/settings.js';
import { Journal, isStale, type JournalEntry } from '../records/journal.js';
import { flag, parseDuration, recordPairs, single, usageError } from './args.js';
import type { CommandContext, CommandHandler } from './command.js';

function printJson(context: CommandContext, value: unknown): void {
  context.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

function noArguments(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) throw usageError(`"${command}" takes no arguments (got ${JSON.stringify(positionals[0])})`, command);
}

export const present: CommandHandler = async (args, context) => {
  const records = recordPairs(args, 'present', true);
  await withRuntime(context, contextLogger(context), ({ engine }) => engine.present(records, { wait: !flag(args, 'no-wait'), signal: context.signal }));
};

export const wait: CommandHandler = async (args, context) => {
  const records = recordPairs(args, 'wait', false);
  await withRuntime(context, contextLogger(context), async ({ engine }) => engine.wait(await engine.prepare(records), context.signal));
};

function ageSeconds(entry: JournalEntry, now: number): number {
  return Math.round((now - Date.parse(entry.createdAt)) / 1000);
}

function describeEntry(entry: JournalEntry, now: number): string {
  const seconds = ageSeconds(entry, now);
  const age = seconds >= 7200 ? `${Math.round(seconds / 3600)}h` : seconds >= 120 ? `${Math.round(seconds / 60)}m` : `${seconds}s`;
  return `${entry.fqdn}\t${entry.value}\t${age}\t(pid ${entry.pid}, owner ${entry.ownerPid ?? 'none'}, ${entry.apiUrl})`;
}

function entryJson(entry: JournalEntry, now: number): Record<string, unknown> {
  return { name: entry.fqdn, value: entry.value, ageSeconds: ageSeconds(entry, now), pid: entry.pid, ownerPid: entry.ownerPid, box: entry.apiUrl };
}

export const cleanup: CommandHandler = async (args, context) => {
  if (!flag(args, 'stale')) {
    if (flag(args, 'older-than') || flag(args, 'dry-run')) throw usageError('--older-than and --dry-run go with --stale', 'cleanup');
    if (context.json) throw usageError('--json goes with "cleanup --stale"', 'cleanup');
    const [record] = recordPairs(args, 'cleanup', true);
    if (record !== undefined) await withRuntime(context, contextLogger(context), ({ engine }) => engine.cleanup(record.name, record.value));
    return;
  }
  if (args.positionals.length > 0) throw usageError('"cleanup --stale" takes no name or value', 'cleanup');
  const olderThan = single(args, 'older-than');
  const olderThanMs = olderThan === undefined ? undefined : parseDuration(olderThan, '--older-than');
  const now = Date.now();
  const log = contextLogger(context);
  if (flag(args, 'dry-run')) {
    // A dry run only reads the journal: it needs no credentials.
    const settings = await collectSettings({ env: context.env, flags: context.flags, configFile: context.configFile });
    const entries = (await new Journal(resolveStateDir(settings.MIAB_STATE_DIR, context.env)).list()).filter((entry) => isStale(entry, now, olderThanMs));
    if (context.json) {
      printJson(context, { stale: entries.map((entry) => entryJson(entry, now)) });
      return;
    }
    for (const entry of entries) context.stdout(`${describeEntry(entry, now)}\n`);
    if (entries.length === 0) log.info('no stale records');
    return;
  }
  await withRuntime(context, log, async (runtime) => {
    const stale = (await runtime.journal.list(runtime.provider.identity)).filter((entry) => isStale(entry, now, olderThanMs));
    const removed: JournalEntry[] = [];
    for (const entry of stale) {
      await runtime.engine.remove(entry);
      removed.push(entry);
      if (!context.json) context.stdout(`removed ${describeEntry(entry, now)}\n`);
    }
    if (context.json) printJson(context, { removed: removed.map((entry) => entryJson(entry, now)) });
    else if (stale.length === 0) log.info('no stale records');
  });
};

export const zones: CommandHandler = async (args, context) => {
  noArguments('zones', args.positionals);
  await withRuntime(context, contextLogger(context), async ({ provider }) => {
    // Fresh from the host, not from a run's snapshot: the user asks what is there now.
    await provider.store.refresh?.();
    const found = await provider.store.zones();
    if (context.json) printJson(context, { zones: found });
    else for (const zone of found) context.stdout(`${zone}\n`);
  });
};

export const logout: CommandHandler = async (args, context) => {
  noArguments('logout', args.positionals);
  await withRuntime(context, contextLogger(context), async (runtime, log) => {
    log.info((await runtime.provider.logout()).message);
  });
};
