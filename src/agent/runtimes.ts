/**
 * The run agent's runtime, opened at its first call and kept for the next ones: the box
 * session, the kept-alive connection and the zone snapshot stay warm. Calls run one at a time
 * (the agent queues them), so "this call's logger" is well defined: the runtime logs through
 * a forwarder pointed at the current call's logger.
 */
import type { RuntimePool } from '../adapters/context.js';
import { openRuntime, usingRuntime, type Runtime, type RuntimeOptions } from '../runtime.js';
import { silentLogger, type Logger } from '../util/log.js';

export class WarmRuntimes implements RuntimePool {
  readonly #ownerPid: number;
  readonly #signal: AbortSignal;
  #target: Logger = silentLogger;
  #opened: { readonly key: string; readonly runtime: Promise<Runtime> } | undefined;

  constructor(ownerPid: number, signal: AbortSignal) {
    this.#ownerPid = ownerPid;
    this.#signal = signal;
  }

  async use<T>(options: RuntimeOptions, work: (runtime: Runtime) => Promise<T>): Promise<T> {
    const ownOptions = { ...options, ownerPid: this.#ownerPid };
    // The agent's address covers environment and arguments; flags are compared anyway, so
    // that a call which would configure differently never gets another call's runtime.
    const key = JSON.stringify([options.flags ?? {}, options.configFile ?? '']);
    if (this.#opened !== undefined && this.#opened.key !== key) return usingRuntime(ownOptions, work);
    const forward: Logger = {
      info: (message) => this.#target.info(message),
      warn: (message) => this.#target.warn(message),
      debug: (message) => this.#target.debug(message),
    };
    this.#opened ??= { key, runtime: openRuntime({ ...ownOptions, log: forward, signal: this.#signal }) };
    const opened = this.#opened;
    this.#target = options.log;
    try {
      const runtime = await opened.runtime.catch((error: unknown) => {
        // A failed open (bad configuration, box down) is this call's error; the next call tries again.
        if (this.#opened === opened) this.#opened = undefined;
        throw error;
      });
      return await work(runtime);
    } finally {
      this.#target = silentLogger;
    }
  }

  /** The open runtime, if a call opened one (the agent's last clean-up uses it). */
  async current(log: Logger): Promise<Runtime | undefined> {
    this.#target = log;
    return this.#opened?.runtime.catch(() => undefined);
  }

  async close(): Promise<void> {
    const runtime = await this.#opened?.runtime.catch(() => undefined);
    this.#opened = undefined;
    await runtime?.close();
  }
}
