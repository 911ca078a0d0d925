/**
 * The composition root: turns configuration into a ready challenge engine (the configured
 * DNS provider from the registry, journal, propagation waiter). The CLI, the client adapters and
 * the ACME driver all start here, so none of them wires the core differently.
 */
import { ChallengeEngine, type RecordsWaiter } from './challenge/engine.js';
import { loadConfig, type RuntimeConfig } from './config/config.js';
import type { Environment, Settings } from './config/settings.js';
import { parsePropagationSettings, type PropagationSettings } from './propagation/settings.js';
import { openProvider, type DnsProvider, type RetryPolicy } from './providers/index.js';

/** Every provider's secret-carrying variables (beyond config/settings.ts): for what keeps secrets from child processes. */
export { PROVIDER_SECRET_VARIABLES } from './providers/index.js';
import { Journal } from './records/journal.js';
import { ensurePrivateDir } from './state/files.js';
import { findOwnerPid } from './state/processes.js';
import type { Logger } from './util/log.js';

export interface RuntimeOptions {
  /** Environment to read settings from (tests pass their own). */
  readonly env: Environment;
  /** Settings given as command-line flags (they win over the environment). */
  readonly flags?: Settings;
  /** Credentials file given as a flag (else `MIAB_CONFIG`). */
  readonly configFile?: string;
  readonly log: Logger;
  /** Aborts waits, box back-offs and reads (not box writes, so that clean-up can still run). */
  readonly signal?: AbortSignal;
  /** Where progress lines of the propagation wait go. @default log.info */
  readonly progress?: (line: string) => void;
  /** Whether progress goes to a terminal (more frequent updates). @default process.stderr.isTTY */
  readonly isTTY?: boolean;
  /** Mail-in-a-Box: overrides for the box client's retry policy (tests shorten the back-off). */
  readonly retry?: Partial<RetryPolicy>;
  /** Mail-in-a-Box: per-request timeout for the box. @default 90_000 */
  readonly requestTimeoutMs?: number;
  /**
   * The process whose run the records belong to (journal, stale detection).
   * @default the ACME client that ran this process: the first ancestor that is not a shell or our hook script (none when that is an interactive shell)
   */
  readonly ownerPid?: number;
}

export interface Runtime {
  /** The validated settings every provider shares. Holds no secret: credentials stay inside the provider. */
  readonly config: RuntimeConfig;
  readonly propagation: PropagationSettings;
  /** The DNS host (`--provider`): its record store, check, logout. */
  readonly provider: DnsProvider;
  readonly journal: Journal;
  readonly engine: ChallengeEngine;
  close(): Promise<void>;
}

export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { log } = options;
  const { config, provider: providerConfig } = await loadConfig({ env: options.env, flags: options.flags, configFile: options.configFile });
  // Before any request: a state dir that cannot be made is bad configuration, said at once.
  await ensurePrivateDir(config.stateDir);
  const propagation = parsePropagationSettings(config.settings);
  const ownerPid = options.ownerPid ?? findOwnerPid();
  const provider = await openProvider(providerConfig, {
    stateDir: config.stateDir,
    log,
    // Keys the provider's per-run caches: without an ACME run, this process is the run.
    ownerPid: ownerPid ?? process.pid,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    propagation,
  });
  const journal = new Journal(config.stateDir);
  const waitForRecords: RecordsWaiter = async (records, signal) => {
    // Loaded only when waiting: a hook call that only writes (every certbot auth call but
    // the last, `present --no-wait`) starts faster without dns-packet and the DNS code.
    const { waitForPropagation } = await import('./propagation/wait.js');
    await waitForPropagation(records, propagation, {
      signal: signal ?? options.signal,
      progress: options.progress ?? ((line) => log.info(line)),
      isTTY: options.isTTY ?? process.stderr.isTTY === true,
    });
  };
  const engine = new ChallengeEngine({ store: provider.store, journal, apiUrl: provider.identity, host: provider.hostLabel, waitForRecords, log, ownerPid });
  return { config, propagation, provider, journal, engine, close: () => provider.close() };
}

/** Opens a runtime, runs `work`, and always closes the connection to the box. */
export async function usingRuntime<T>(options: RuntimeOptions, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(options);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}
