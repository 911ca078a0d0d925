/**
 * The cPanel provider: one factory that turns a parsed `CpanelConfig` into a record store and
 * the session lifecycle the CLI needs. Knows nothing of hooks, ACME or serving.
 *
 *   const provider = await openCpanelProvider(parseCpanelConfig(process.env), { stateDir, log });
 *   try { await provider.store.appendTxt(name, value); } finally { await provider.close(); }
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import type { TxtRecordStore } from '../../records/store.js';
import type { Logger } from '../../util/log.js';
import { UapiClient } from './client.js';
import type { CpanelConfig } from './config.js';
import { CpanelRecordStore } from './store.js';
import { createCpanelTransport, type CpanelTransport } from './transport.js';

export { parseCpanelConfig, CPANEL_SETTINGS, type CpanelConfig, type CpanelAuth, type CpanelAuthMethod } from './config.js';

export interface CpanelProviderOptions {
  /** Private state directory: session cache, one-time-code step, locks (shared by the hook processes of one run). */
  readonly stateDir: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Writes tried per record when the zone's serial keeps moving. @default 5 */
  readonly maxAttempts?: number;
  /** TTL of challenge records in seconds. @default 300 */
  readonly ttl?: number;
  /** Replaces the HTTP transport (tests). */
  readonly transport?: CpanelTransport;
  /** Clock for one-time codes (tests). */
  readonly now?: () => number;
}

export interface CpanelProvider {
  readonly store: TxtRecordStore;
  /** Authenticates (logging in if the method needs it) and lists the account's zones. */
  check(): Promise<{ account: string; zones: string[] }>;
  /** Ends a cached session on the server (session mode); a no-op for the other methods. */
  logout(): Promise<void>;
  /** Releases connections; the session stays cached for the next hook process. */
  close(): Promise<void>;
}

export async function openCpanelProvider(config: CpanelConfig, options: CpanelProviderOptions): Promise<CpanelProvider> {
  let caPem: string | undefined;
  if (config.tls.caFile !== undefined) {
    try {
      caPem = await readFile(config.tls.caFile, 'utf8');
    } catch (error) {
      throw new ConfigError('config-invalid', `cpanel: configuration: CPANEL_CA_FILE=${config.tls.caFile} cannot be read (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  const transport = options.transport ?? createCpanelTransport({ caPem, fingerprint: config.tls.fingerprint }, options.log);
  const client = new UapiClient({
    config,
    transport,
    stateDir: options.stateDir,
    log: options.log,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const store = new CpanelRecordStore(client, {
    log: options.log,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
  });
  return {
    store,
    async check() {
      await store.refresh();
      return { account: client.account, zones: await store.zones() };
    },
    async logout() {
      await client.logout();
    },
    close: () => transport.close(),
  };
}
