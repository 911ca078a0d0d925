/** What an adapter gets from the process that runs it: the environment, a stop signal, output. */
import { usingRuntime, type Runtime } from '../runtime.js';
import { stderrLogger, type Logger } from '../util/log.js';

export interface HookContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Runs `work` with a runtime configured from the hook's environment, logging as `label`. */
export function withHookRuntime<T>(label: string, context: HookContext, work: (runtime: Runtime, log: Logger) => Promise<T>): Promise<T> {
  const log = stderrLogger({ prefix: `miab-dns01 ${label}`, debug: context.env.MIAB_DEBUG === '1', write: context.stderr });
  return usingRuntime({ env: context.env, log, signal: context.signal }, (runtime) => work(runtime, log));
}
