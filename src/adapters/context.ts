/**
 * What a command or an adapter gets from the process that runs it (environment, the flags
 * given on the command line, a stop signal, output), and the one way from that to a runtime:
 * the CLI commands, the hooks and `issue` all open their runtime through `runtimeOptions`, so
 * a flag or variable means the same everywhere.
 */
import { usingRuntime, type Runtime, type RuntimeOptions } from '../runtime.js';
import { stderrLogger, summaryLogger, type Logger } from '../util/log.js';
import type { Settings } from '../config/settings.js';

export interface HookContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Settings given as command-line flags (`--url`, ...); they win over the environment. */
  readonly flags?: Settings;
  /** Credentials file given as `--config` (else `MIAB_CONFIG`). */
  readonly configFile?: string;
  /** `--debug` was given. */
  readonly debug?: boolean;
  /** `--quiet` was given: errors only. */
  readonly quiet?: boolean;
  /** A long-lived process's open runtimes (the run agent's); without it, each call opens and closes its own. */
  readonly runtimes?: RuntimePool;
  /** The process whose run the records belong to, when the adapter knows it better than the default (certbot). */
  readonly ownerPid?: number;
}

/**
 * Runtimes that outlive one call: the box session, its connection and the zone snapshot stay
 * warm between the hook calls of one ACME run. `log` and `signal` of the options apply to
 * this call only.
 */
export interface RuntimePool {
  use<T>(options: RuntimeOptions, work: (runtime: Runtime) => Promise<T>): Promise<T>;
}

/** `--debug` or `MIAB_DEBUG` (any value but empty, `0` or `false`). */
export function isDebug(context: Pick<HookContext, 'env' | 'debug'>): boolean {
  const variable = context.env.MIAB_DEBUG;
  return context.debug === true || (variable !== undefined && !['', '0', 'false'].includes(variable.toLowerCase()));
}

export function contextLogger(context: HookContext, prefix?: string): Logger {
  return stderrLogger({ prefix, debug: isDebug(context), quiet: context.quiet, write: context.stderr });
}

/** The runtime options for this invocation: the only place they are derived from a context. */
export function runtimeOptions(context: HookContext, log: Logger): RuntimeOptions {
  return { env: context.env, flags: context.flags, configFile: context.configFile, log, signal: context.signal, ...(context.ownerPid === undefined ? {} : { ownerPid: context.ownerPid }) };
}

/** Runs `work` with a runtime configured from the context. */
export function withRuntime<T>(context: HookContext, log: Logger, work: (runtime: Runtime, log: Logger) => Promise<T>): Promise<T> {
  const options = runtimeOptions(context, log);
  const use = (runtime: Runtime): Promise<T> => work(runtime, log);
  return context.runtimes === undefined ? usingRuntime(options, use) : context.runtimes.use(options, use);
}

/**
 * Runs `work` with a runtime configured from the hook's context, logging as `label`.
 * certbot shows whatever its hooks print on stderr as "error output": there, progress is
 * reduced to a one-line summary unless debugging.
 */
export async function withHookRuntime<T>(label: string, context: HookContext, work: (runtime: Runtime, log: Logger) => Promise<T>): Promise<T> {
  const prefix = `miab-dns01 ${label}`;
  if (!label.startsWith('certbot')) return withRuntime(context, contextLogger(context, prefix), work);
  const log = summaryLogger({ prefix, debug: isDebug(context), quiet: context.quiet, write: context.stderr });
  const result = await withRuntime(context, log, work);
  log.summarize();
  return result;
}
