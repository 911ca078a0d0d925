/** `miab-dns01 hook <client> ...`: the client's arguments reach the adapter untouched. */
import { runHook } from '../adapters/dispatch.js';
import type { CommandHandler } from './command.js';

export const hookCommand: CommandHandler = (args, context) => runHook(args.positionals, context);
