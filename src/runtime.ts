/**
 * The composition root: turns configuration into a ready challenge engine (authenticator,
 * box client, record store, journal, propagation waiter). The CLI, the client adapters and
 * the ACME driver all start here, so none of them wires the core differently.
 */
import { SessionAuthenticator } from './auth/session.js';
import { SystemKeyAuthenticator } from './auth/system-key.js';
import { BoxClient, type RetryPolicy } from './box/client.js';
import { BoxTransport } from './box/transport.js';
import { ChallengeEngine, type RecordsWaiter } from './challenge/engine.js';
import { loadBoxConfig, sessionSecrets, type BoxConfig, type SessionSecrets } from './config/config.js';
import type { Environment, Settings } from './config/settings.js';
import { parsePropagationSettings, type PropagationSettings } from './propagation/settings.js';
import { BoxRecordStore } from './records/box-store.js';
import { Journal } from './records/journal.js';
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
  /** Overrides for the box client's retry policy (tests shorten the back-off). */
  readonly retry?: Partial<RetryPolicy>;
  /** Per-request timeout for the box. @default 90_000 */
  readonly requestTimeoutMs?: number;
}

export interface Runtime {
  /** The validated configuration. Holds no secret: the password and TOTP secret stay inside the runtime. */
  readonly config: BoxConfig;
  readonly propagation: PropagationSettings;
  readonly client: BoxClient;
  readonly auth: SessionAuthenticator | SystemKeyAuthenticator;
  readonly journal: Journal;
  readonly engine: ChallengeEngine;
  close(): Promise<void>;
}

function requireSecrets(config: BoxConfig): SessionSecrets {
  const secrets = sessionSecrets(config);
  if (secrets === undefined) throw new TypeError('a session config without secrets: it was not made by loadBoxConfig');
  return secrets;
}

export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { log } = options;
  const config = await loadBoxConfig({ env: options.env, flags: options.flags, configFile: options.configFile });
  const propagation = parsePropagationSettings(config.settings);
  const transport = new BoxTransport({ tls: config.tls, log, requestTimeoutMs: options.requestTimeoutMs });
  const client = new BoxClient({ apiUrl: config.apiUrl, transport, log, retry: options.retry, signal: options.signal, dialect: config.dialect });
  const auth =
    config.auth.kind === 'system-key'
      ? new SystemKeyAuthenticator(config.auth.keyFile)
      : new SessionAuthenticator({
          credentials: { apiUrl: config.apiUrl, email: config.auth.email, ...requireSecrets(config) },
          stateDir: config.stateDir,
          endpoint: client,
          log,
          signal: options.signal,
        });
  client.useAuthenticator(auth);
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
  const ownerPid = findOwnerPid();
  const engine = new ChallengeEngine({
    store: new BoxRecordStore(client, { stateDir: config.stateDir, apiUrl: config.apiUrl, ownerPid }),
    journal,
    apiUrl: config.apiUrl,
    waitForRecords,
    log,
    ownerPid,
  });
  return { config, propagation, client, auth, journal, engine, close: () => client.close() };
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
