/**
 * The composition root: turns configuration into a ready challenge engine (the configured
 * DNS provider from the registry, journal, propagation waiter). The CLI, the client adapters and
 * the ACME driver all start here, so none of them wires the core differently.
 */
import { ChallengeEngine, type RecordsWaiter } from './challenge/engine.js';
import { loadConfig, loadSharedConfig, type RuntimeConfig } from './config/config.js';
import { ConfigError } from './errors.js';
import type { Environment, Settings } from './config/settings.js';
import { parsePropagationSettings, type PropagationSettings } from './propagation/settings.js';
import { openProvider, type DnsProvider, type RetryPolicy } from './providers/index.js';
import { providerFromStore } from './providers/store-provider.js';
import type { TxtRecordStore } from './records/store.js';

/** Every provider's secret-carrying variables (beyond config/settings.ts): for what keeps secrets from child processes. */
export { PROVIDER_SECRET_VARIABLES } from './providers/index.js';
import { Journal } from './records/journal.js';
import { ensurePrivateDir } from './state/files.js';
import { findOwnerPid } from './state/processes.js';
import type { Logger } from './util/log.js';

export interface RuntimeOptions {
  /** Environment to read settings from (tests pass their own). @default process.env */
  readonly env?: Environment;
  /**
   * A DNS host the caller built, used instead of a configured one: no provider is selected
   * and no provider setting (`MIAB_URL`, `CPANEL_*`, ...) is read or required; only the shared
   * ones are (state dir, propagation). `close()` of the runtime closes it.
   */
  readonly provider?: DnsProvider;
  /**
   * A record store the caller built, wrapped into a provider (`providerFromStore(store)`:
   * name `custom`, host `DNS host`). Give `provider` instead to name the host and the
   * account the journal is keyed by. Not together with `provider`.
   */
  readonly store?: TxtRecordStore;
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
  if (options.provider !== undefined && options.store !== undefined) {
    throw new ConfigError('config-invalid', 'openRuntime takes a provider or a store, not both: wrap the store with providerFromStore(store, { name, identity, hostLabel }) and give only the provider');
  }
  const given = options.provider ?? (options.store === undefined ? undefined : providerFromStore(options.store));
  const sources = { env: options.env ?? process.env, ...(options.flags ? { flags: options.flags } : {}), ...(options.configFile !== undefined ? { configFile: options.configFile } : {}) };
  // A provider the caller built needs only the shared settings; otherwise the configured one is opened.
  const loaded = given === undefined ? await loadConfig(sources) : { config: await loadSharedConfig(sources, given.name), provider: undefined };
  const { config } = loaded;
  // Before any request: a state dir that cannot be made is bad configuration, said at once.
  await ensurePrivateDir(config.stateDir);
  const propagation = parsePropagationSettings(config.settings);
  const ownerPid = options.ownerPid ?? findOwnerPid();
  const provider =
    loaded.provider === undefined
      ? (given as DnsProvider)
      : await openProvider(loaded.provider, {
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
      host: provider.hostLabel,
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
