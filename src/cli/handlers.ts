/**
 * Where each command's handler is loaded from, apart from the command table (table.ts) so that
 * help, completion and the man page (help.ts), which read the table, are not loaded by it.
 * Every command of the table needs its loader here: the type says so. Handlers are loaded
 * lazily so `--version` and hook start-up stay fast.
 */
import type { CommandHandler } from './command.js';
import type { CommandName } from './table.js';

const LOADERS: { readonly [name in CommandName]: () => Promise<CommandHandler> } = {
  present: async () => (await import('./commands.js')).present,
  cleanup: async () => (await import('./commands.js')).cleanup,
  wait: async () => (await import('./commands.js')).wait,
  zones: async () => (await import('./commands.js')).zones,
  check: async () => (await import('./check.js')).check,
  logout: async () => (await import('./commands.js')).logout,
  issue: async () => (await import('./issue.js')).issue,
  help: async () => (await import('./help.js')).helpCommand,
  completion: async () => (await import('./help.js')).completionCommand,
  man: async () => (await import('./help.js')).manCommand,
  serve: async () => (await import('./serve.js')).serve,
  clients: async () => (await import('./clients.js')).clients,
  hook: async () => (await import('./hook.js')).hookCommand,
};

export function loadHandler(name: CommandName): Promise<CommandHandler> {
  return LOADERS[name]();
}
