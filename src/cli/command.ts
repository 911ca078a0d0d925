/**
 * What a command is, apart from the table that lists the commands: handlers import these
 * types without importing the table.
 */
import type { HookContext } from '../adapters/context.js';
import type { OptionSpec, ParsedArgs } from './args.js';

export interface CommandContext extends HookContext {
  /** `--json` was given: the result goes to stdout as JSON. */
  readonly json?: boolean;
}

export type CommandHandler = (args: ParsedArgs, context: CommandContext) => Promise<void>;

export interface CommandSpec {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** Synopsis lines without the program name, e.g. `present [--no-wait] <name> <value>`. */
  readonly usage: readonly string[];
  /** The command's own options (global options are added to every command). */
  readonly options: readonly OptionSpec[];
  /** Positionals are `<name> <value>` pairs: the token after a name is always its value. */
  readonly pairs?: (tokens: readonly string[]) => boolean;
  /** The tokens after the command are its positionals, untouched (a client's own arguments). */
  readonly raw?: boolean;
  /** Whether `--json` gives a result. */
  readonly json?: boolean;
  /** More help text, after the options. */
  readonly details?: string;
  /** Not listed in help and completion (the hooks' entry point). */
  readonly hidden?: boolean;
  /** What completion offers for the positionals. */
  readonly complete?: 'commands' | 'shells' | 'hooks';
}
