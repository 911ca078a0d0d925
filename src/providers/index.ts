/**
 * The provider registry: the one place that maps a provider name to its factory. The
 * composition root (src/runtime.ts) opens the configured provider here; everything above
 * src/providers sees only the DnsProvider interface (provider.ts).
 */
import type { ProviderConfig, ProviderName } from '../config/config.js';
import type { PropagationSettings } from '../propagation/settings.js';
import type { Logger } from '../util/log.js';
import type { RetryPolicy } from './mailinabox/index.js';
import type { DnsProvider } from './provider.js';
import { CPANEL_SECRET_VARIABLES } from './cpanel/config.js';
import { SERVE_CLIENT_SECRET_VARIABLES } from './serve-client/config.js';

export type { AddressRecords, AddressRecordStore, AddressRecordType, DnsProvider, ProviderCheck, ProviderLogout } from './provider.js';
export type { RetryPolicy } from './mailinabox/index.js';

/**
 * The secret-carrying variables the cPanel and serve-client providers declare (Mail-in-a-Box's
 * are in config/settings.ts): collected here, the one module that may name every provider, so
 * that what keeps secrets away from child processes needs no list of its own.
 */
export const PROVIDER_SECRET_VARIABLES: readonly string[] = [...CPANEL_SECRET_VARIABLES, ...SERVE_CLIENT_SECRET_VARIABLES];

export interface ProviderOpenOptions {
  /** Private state directory: session caches, locks, run snapshots. */
  readonly stateDir: string;
  readonly log: Logger;
  /** Aborts waits, back-offs and reads (not writes, so that clean-up can still run). */
  readonly signal?: AbortSignal;
  /** The process that owns this run (for hooks: the ACME client): run-wide caches are keyed by it. */
  readonly ownerPid: number;
  /** Overrides for the retry policy of transient faults (tests shorten the back-off). */
  readonly retry?: Partial<RetryPolicy>;
  /** Mail-in-a-Box: per-request timeout. @default 90_000 */
  readonly requestTimeoutMs?: number;
  /** Mail-in-a-Box: how to reach the zones' authoritative nameservers, which the CNAME check asks first. */
  readonly propagation?: PropagationSettings;
}

type Opener<Name extends ProviderName> = (config: Extract<ProviderConfig, { name: Name }>, options: ProviderOpenOptions) => Promise<DnsProvider>;

/** One entry per provider name: adding a name to PROVIDER_NAMES without a factory does not compile. */
const OPENERS: { readonly [Name in ProviderName]: Opener<Name> } = {
  // Each provider's code loads only when it is the one configured: a hook process pays for one.
  mailinabox: async (config, options) =>
    (await import('./mailinabox/index.js')).openMailinaboxProvider(config.box, {
      log: options.log,
      ownerPid: options.ownerPid,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.propagation ? { propagation: options.propagation } : {}),
    }),
  cpanel: async (config, options) =>
    (await import('./cpanel/index.js')).openCpanelProvider(config.cpanel, {
      stateDir: options.stateDir,
      log: options.log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
    }),
  serve: async (config, options) =>
    (await import('./serve-client/index.js')).openServeClientProvider(config.serve, { log: options.log, ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}) }),
};

/** Opens the configured provider. */
export function openProvider(config: ProviderConfig, options: ProviderOpenOptions): Promise<DnsProvider> {
  switch (config.name) {
    case 'mailinabox':
      return OPENERS.mailinabox(config, options);
    case 'cpanel':
      return OPENERS.cpanel(config, options);
    case 'serve':
      return OPENERS.serve(config, options);
  }
}
