/**
 * A DNS provider around a record store the caller built: how a library user runs the engine
 * against a host this package does not ship. The store holds its own credentials, if any, so
 * there is no session to check or end; `close()` is left to whoever made the store.
 */
import type { TxtRecordStore } from '../records/store.js';
import type { DnsProvider, ProviderCheck, ProviderLogout } from './provider.js';

export interface StoreProviderOptions {
  /** The provider's name, for messages and `Runtime.config.provider`. @default 'custom' */
  readonly name?: string;
  /**
   * Identifies the account the records go to, stably across processes: the journal is keyed
   * by it, so two stores writing to different accounts must not share one. Holds no secret.
   * @default `${name}:store`
   */
  readonly identity?: string;
  /** How messages name the host to the user (`DNS host`, `my-dns account`). @default 'DNS host' */
  readonly hostLabel?: string;
}

/** A `DnsProvider` whose records are `store`; `check()` lists the zones, `logout()` has nothing to end. */
export function providerFromStore(store: TxtRecordStore, options: StoreProviderOptions = {}): DnsProvider {
  const name = options.name ?? 'custom';
  const identity = options.identity ?? `${name}:store`;
  const hostLabel = options.hostLabel ?? 'DNS host';
  return {
    name,
    identity,
    hostLabel,
    store,
    async check(): Promise<ProviderCheck> {
      return {
        server: { label: hostLabel, url: identity },
        authMode: 'store',
        account: undefined,
        accountText: `a record store given by the caller (${identity})`,
        session: undefined,
        verified: 'none',
        zones: await store.zones(),
        facts: {},
      };
    },
    async logout(): Promise<ProviderLogout> {
      return { ended: false, message: `the ${hostLabel} has no session here to end` };
    },
    async close(): Promise<void> {
      // The caller made the store and releases it.
    },
  };
}
