/**
 * The cPanel provider: one factory that turns a parsed `CpanelConfig` into a record store and
 * the session lifecycle the CLI needs. Knows nothing of hooks, ACME or serving.
 *
 *   const provider = await openCpanelProvider(parseCpanelConfig(process.env), { stateDir, log });
 *   try { await provider.store.appendTxt(name, value); } finally { await provider.close(); }
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../util/log.js';
import type { RetryPolicy } from '../http/retry.js';
import type { DnsProvider } from '../provider.js';
import { UapiClient } from './client.js';
import type { CpanelConfig } from './config.js';
import { ADDRESS_TTL_SECONDS, CpanelRecordStore } from './store.js';
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
  /** Retries of transient faults (tests shorten the back-off). */
  readonly retry?: Partial<RetryPolicy>;
}

/** The cPanel provider: the provider interface (src/providers/provider.ts), with a store that can list values. */
export type CpanelProvider = DnsProvider & { readonly store: CpanelRecordStore };

/** The journal and cache key of one cPanel account: never equal to a box's admin URL. */
export function cpanelIdentity(config: CpanelConfig): string {
  return `cpanel:${config.auth.username}@${config.baseUrl}`;
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
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const store = new CpanelRecordStore(client, {
    log: options.log,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
  });
  const auth = config.auth;
  return {
    name: 'cpanel',
    identity: cpanelIdentity(config),
    hostLabel: 'cPanel account',
    store,
    addresses: {
      ttlSeconds: ADDRESS_TTL_SECONDS,
      zones: () => store.zones(),
      read: (name) => store.addresses(name),
      replace: (name, type, address) => store.replaceAddress(name, type, address),
    },
    async check(checkOptions = {}) {
      if (checkOptions.login === true) await client.verifyLogin('check');
      await store.refresh();
      const zones = await store.zones();
      return {
        server: { label: 'server', url: config.baseUrl },
        authMode: auth.method,
        account: client.account,
        accountText: `${client.account}${auth.method !== 'token' && auth.totpSecret !== undefined ? ' (with TOTP)' : ''}`,
        session: auth.method === 'session' ? { reused: client.loginsSent === 0, logins: client.loginsSent } : undefined,
        // The OTP-header mode sends the password (and a code) with every request.
        verified: auth.method === 'token' ? 'token' : auth.method === 'session' && client.loginsSent === 0 ? 'session' : 'password',
        zones,
        facts: { totp: auth.method === 'token' ? false : auth.totpSecret !== undefined },
      };
    },
    async logout() {
      if (auth.method !== 'session') return { ended: false, message: `CPANEL_AUTH=${auth.method} has no session to end` };
      const ended = await client.logout();
      return { ended, message: ended ? 'ended the cached cPanel session and deleted it here' : 'there was no cached session' };
    },
    close: () => transport.close(),
  };
}
