/**
 * One command line, run: parses global options and the command (from the table in table.ts),
 * builds the one context every command and hook runs with; errors become exit codes through
 * adapters/report.ts. main.ts runs it for the process; the run agent (src/agent) runs the
 * certbot calls handed over to it itself (adapters/certbot), without this parser.
 */
import { constants } from 'node:os';
import { MiabDns01Error } from '../errors.js';
import { redact } from '../secrets.js';
import { GLOBAL_OPTIONS, flag, mergeArgs, parseArgs, single, usageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { CommandContext, CommandSpec } from './command.js';
import type { RuntimePool } from '../adapters/context.js';
import { reportFailure } from '../adapters/report.js';
import { loadHandler } from './handlers.js';
import { findCommand } from './table.js';
import type { Settings, SettingName } from '../config/settings.js';

const VERSION_OPTION: OptionSpec = { name: 'version', short: 'V', takesValue: false };

/**
 * Splits `[global options] <command> [rest]`: options before the command are global ones
 * (as in git and lego); the first other token is the command.
 */
function splitCommand(argv: readonly string[]): { global: readonly string[]; command: string | undefined; rest: readonly string[] } {
  const byName = new Map<string, OptionSpec>();
  for (const spec of [...GLOBAL_OPTIONS, VERSION_OPTION]) {
    byName.set(`--${spec.name}`, spec);
    if (spec.short) byName.set(`-${spec.short}`, spec);
  }
  let index = 0;
  while (index < argv.length) {
    const token = argv[index] ?? '';
    if (!token.startsWith('-') || token === '-' || token === '--') break;
    const spec = byName.get(token.includes('=') ? token.slice(0, token.indexOf('=')) : token);
    index += spec?.takesValue && !token.includes('=') ? 2 : 1;
  }
  const stop = argv[index] === '--' ? index + 1 : index;
  return { global: argv.slice(0, index), command: argv[stop], rest: argv.slice(stop + 1) };
}

/** Box settings given as flags, from the global options (never a command's own option of the same name). */
function flagSettings(args: ParsedArgs): Settings {
  const settings: Partial<Record<SettingName, string>> = {};
  for (const spec of GLOBAL_OPTIONS) {
    const value = single(args, spec.name);
    if (spec.setting !== undefined && value !== undefined) settings[spec.setting] = value;
  }
  return settings;
}

function wantsHelp(tokens: readonly string[]): boolean {
  const end = tokens.indexOf('--');
  return (end < 0 ? tokens : tokens.slice(0, end)).some((token) => token === '--help' || token === '-h');
}

interface Parsed {
  readonly spec: CommandSpec;
  /** Global options (before and after the command, minus the command's own options). */
  readonly global: ParsedArgs;
  /** The command's options and positionals. */
  readonly own: ParsedArgs;
}

function parseCommandLine(spec: CommandSpec, globalTokens: readonly string[], rest: readonly string[]): Parsed {
  const before = parseArgs(globalTokens, [], false);
  if (spec.raw) return { spec, global: before, own: { options: new Map(), positionals: rest } };
  const after = parseArgs(rest, spec.options, spec.pairs?.(rest) ?? false, spec.name);
  // A command's own option shadows a global one of the same name after the command
  // (`issue --email` is the old spelling of --contact).
  const ownNames = new Set(spec.options.map((option) => option.name));
  const globalAfter = new Map([...after.options].filter(([name]) => !ownNames.has(name)));
  const ownOptions = new Map([...after.options].filter(([name]) => ownNames.has(name)));
  const global = mergeArgs(before, { options: globalAfter, positionals: [] }, GLOBAL_OPTIONS, spec.name);
  return { spec, global, own: { options: ownOptions, positionals: after.positionals } };
}

/** Where a command line's output goes, and what a long-lived process lends it. */
export interface RunOptions {
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Runtimes kept open between command lines (the run agent's), instead of one per command. */
  readonly runtimes?: RuntimePool;
}

/** Runs one command line and returns the exit status. */
export async function run(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, signal: AbortSignal, options: RunOptions = {}): Promise<number> {
  const out = options.stdout ?? ((text: string): void => void process.stdout.write(text));
  const err = options.stderr ?? ((text: string): void => void process.stderr.write(text));
  const stdout = (text: string): void => out(text);
  const stderr = (text: string): void => err(redact(text));
  let json = false;
  // A hook's errors carry the hook's name, as its log lines do (`miab-dns01 certbot-auth: error [...]`).
  let prefix = 'miab-dns01';
  try {
    const { global: globalTokens, command, rest } = splitCommand(argv);
    const leading = parseArgs(globalTokens, [VERSION_OPTION], false);
    json = flag(leading, 'json');
    if (flag(leading, 'version')) {
      stdout(`${(await import('./version.js')).version()}\n`);
      return 0;
    }
    const help = await import('./help.js');
    if (command === undefined) {
      if (flag(leading, 'help')) {
        stdout(help.mainHelp());
        return 0;
      }
      stderr(help.mainHelp());
      return 2;
    }
    const spec = findCommand(command);
    if (spec === undefined) throw usageError(`unknown command "${command}"`);
    if (flag(leading, 'help') || (!spec.raw && wantsHelp(rest) && !spec.pairs?.(rest))) {
      stdout(help.commandHelp(spec));
      return 0;
    }
    let parsed: Parsed;
    try {
      parsed = parseCommandLine(spec, globalTokens, rest);
    } catch (error) {
      // `present -h` and friends: a pair command sees -h as an option only where no value is due.
      if (wantsHelp(rest)) {
        stdout(help.commandHelp(spec));
        return 0;
      }
      throw error;
    }
    const { global, own } = parsed;
    if (spec.raw && own.positionals[0] !== undefined && /^[a-z-]+$/.test(own.positionals[0])) prefix = `miab-dns01 ${own.positionals[0]}`;
    json = flag(global, 'json');
    if (flag(global, 'help')) {
      stdout(help.commandHelp(spec));
      return 0;
    }
    if (json && !spec.json) throw usageError(`--json is available for zones, check, cleanup --stale and issue, not "${spec.name}"`, spec.name);
    const context: CommandContext = {
      env,
      signal,
      stdout,
      stderr,
      flags: flagSettings(global),
      configFile: single(global, 'config'),
      debug: flag(global, 'debug'),
      quiet: flag(global, 'quiet'),
      json,
      ...(options.runtimes === undefined ? {} : { runtimes: options.runtimes }),
    };
    const handler = await loadHandler(spec.name);
    await handler(own, context);
    return 0;
  } catch (error) {
    return reportFailure(error, signal, stderr, json ? stdout : undefined, prefix);
  }
}

/**
 * Runs the process's own command line: signals abort the work (a second one exits at once),
 * and the exit status is set, not forced, so that output is flushed.
 */
export function runProcess(argv: readonly string[]): void {
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      const status = 128 + constants.signals[name];
      // A second signal means "now": exit without further clean-up.
      if (controller.signal.aborted) process.exit(status);
      // What became of the records is added by whoever undoes them (the challenge engine), once it is known.
      controller.abort(new MiabDns01Error('interrupted', `stopped by ${name}`, { exitCode: status }));
    });
  }
  run(argv, process.env, controller.signal).then(
    (status) => {
      // After a signal, clean-up is done: do not wait for libraries' pending timers.
      if (controller.signal.aborted) process.exit(status);
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`miab-dns01: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
