/**
 * The Mail-in-a-Box provider: turns a validated `BoxConfig` into the provider interface (the box
 * record store, session or system-key auth, check and logout). Knows nothing of hooks, ACME or
 * serving.
 *
 *   const provider = await openMailinaboxProvider(config, { log, ownerPid: process.pid });
 *   try { await provider.store.appendTxt(name, value); } finally { await provider.close(); }
 */
import { sessionSecrets, type BoxConfig } from '../../config/config.js';
import type { Logger } from '../../util/log.js';
import type { DnsProvider } from '../provider.js';
import type { PropagationSettings } from '../../propagation/settings.js';
import { BoxAddressStore } from './addresses.js';
import { AuthoritativeCnameLookup } from './authoritative-cname.js';
import { BoxClient, type RetryPolicy } from './client.js';
import { SessionAuthenticator } from './session.js';
import { BoxRecordStore } from './store.js';
import { SystemKeyAuthenticator } from './system-key.js';
import { BoxTransport } from './transport.js';

export type { RetryPolicy } from './client.js';

export interface MailinaboxProviderOptions {
  readonly log: Logger;
  /** Aborts back-offs and reads (not writes, so that clean-up can still run). */
  readonly signal?: AbortSignal;
  /** The ACME run (client process) the zone/CNAME snapshot is shared by. */
  readonly ownerPid: number;
  /** Overrides for the client's retry policy (tests shorten the back-off). */
  readonly retry?: Partial<RetryPolicy>;
  /** Per-request timeout. @default 90_000 */
  readonly requestTimeoutMs?: number;
  /**
   * Where the zones' authoritative nameservers are (MIAB_NAMESERVERS, resolvers, port): the
   * CNAME check asks them before reading the box's whole table. Absent, or with
   * MIAB_PROPAGATION_WAIT (the nameservers cannot be asked from here): the table only.
   */
  readonly propagation?: PropagationSettings;
}

export async function openMailinaboxProvider(config: BoxConfig, options: MailinaboxProviderOptions): Promise<DnsProvider> {
  const { log } = options;
  const transport = new BoxTransport({ tls: config.tls, log, requestTimeoutMs: options.requestTimeoutMs });
  const client = new BoxClient({ apiUrl: config.apiUrl, transport, log, retry: options.retry, signal: options.signal, dialect: config.dialect });
  let auth: SessionAuthenticator | SystemKeyAuthenticator;
  if (config.auth.kind === 'system-key') {
    auth = new SystemKeyAuthenticator(config.auth.keyFile);
  } else {
    const secrets = sessionSecrets(config);
    if (secrets === undefined) throw new TypeError('a session config without secrets: it was not made by loadBoxConfig');
    auth = new SessionAuthenticator({
      credentials: { apiUrl: config.apiUrl, email: config.auth.email, ...secrets },
      stateDir: config.stateDir,
      endpoint: client,
      log,
      signal: options.signal,
    });
  }
  client.useAuthenticator(auth);
  const nameservers = options.propagation !== undefined && options.propagation.fixedWaitMs === undefined ? new AuthoritativeCnameLookup(options.propagation) : undefined;
  const store = new BoxRecordStore(client, { stateDir: config.stateDir, apiUrl: config.apiUrl, ownerPid: options.ownerPid, log, ...(nameservers ? { nameservers } : {}) });
  const settings = config.auth;
  return {
    name: 'mailinabox',
    // Records written in the fork's dialect are journaled apart: a clean-up run without
    // MIAB_FLAVOR=power never sees them, so it cannot send the raw-body DELETE that would wipe
    // every value at the name on the fork. They are swept once the flavour is set again.
    identity: config.dialect.flavor === 'power' ? `${config.apiUrl}#power` : config.apiUrl,
    hostLabel: 'box',
    store,
    addresses: new BoxAddressStore(client, config.dialect, () => store.zones()),
    async check(checkOptions = {}) {
      if (checkOptions.login === true && auth.mode === 'session') await auth.verifyLogin();
      const zones = await client.zones();
      // Counted, not predicted: a session another process cached meanwhile is a reuse too.
      const reused = client.counts.logins === 0;
      return {
        server: { label: 'box', url: config.apiUrl },
        authMode: auth.mode,
        account: settings.kind === 'session' ? settings.email : undefined,
        accountText: settings.kind === 'session' ? `${settings.email}${settings.totp ? ' (with TOTP)' : ''}` : `system key ${settings.keyFile}`,
        session: auth.mode === 'session' ? { reused, logins: client.counts.logins } : undefined,
        verified: auth.mode === 'session' ? (reused ? 'session' : 'password') : 'system-key',
        zones,
        facts: {
          totp: settings.kind === 'session' ? settings.totp : undefined,
          systemKeyFile: settings.kind === 'system-key' ? settings.keyFile : undefined,
        },
      };
    },
    async logout() {
      if (auth.mode !== 'session') return { ended: false, message: 'system key mode has no session to end' };
      const ended = await auth.logout();
      return { ended, message: ended ? 'ended the cached session on the box and deleted it here' : 'there was no cached session' };
    },
    close: () => client.close(),
  };
}
