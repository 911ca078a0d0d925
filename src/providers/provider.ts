/**
 * The DNS host behind miab-dns01, as one small interface: a record store plus the auth/session
 * lifecycle. The engine, propagation, journal, adapters, `issue` and the CLI see only this; each
 * host (Mail-in-a-Box, cPanel, ...) lives in its own folder under src/providers/ and is built by
 * the registry in src/providers/index.ts. A provider knows nothing of hooks, ACME or serving.
 *
 * Every implementation runs the record-store conformance suite (src/records/conformance.ts).
 */
import type { TxtRecordStore } from '../records/store.js';

export type { TxtRecordStore } from '../records/store.js';

/** The two address record types dynamic DNS sets. */
export type AddressRecordType = 'A' | 'AAAA';

/** What one name holds, read in one go: its addresses, and a CNAME (which forbids any other data). */
export interface AddressRecords {
  readonly a: readonly string[];
  readonly aaaa: readonly string[];
  readonly cname: string | undefined;
}

/**
 * A and AAAA records of names that belong to one `serve` client each. Unlike TXT challenge
 * values (several writers share a name), a dynamic DNS name has one owner, so a write replaces
 * every address of that type at the name.
 *
 * - `read(name)` is fresh from the host (never a snapshot): `nochg` is decided on it.
 * - `replace(name, type, address)` leaves exactly `address` as the name's `type` records and
 *   touches no other type (TXT, the other address family).
 * - `ttlSeconds` is the TTL those records get on this host (caching resolvers keep an old
 *   address this long).
 */
export interface AddressRecordStore {
  readonly ttlSeconds: number;
  zones(): Promise<string[]>;
  read(name: string): Promise<AddressRecords>;
  replace(name: string, type: AddressRecordType, address: string): Promise<void>;
}

/** What `miab-dns01 check` reports: facts only, never a secret. */
export interface ProviderCheck {
  /** Where the provider talks to, for people and `--json`: `box` + admin API URL, `server` + cPanel origin. */
  readonly server: { readonly label: string; readonly url: string };
  /** How it authenticates: `session`, `system-key` (Mail-in-a-Box), `token`, `otp-header`, `session` (cPanel). */
  readonly authMode: string;
  /** The account's name (the box's e-mail address, the cPanel user); undefined when there is none (system key). */
  readonly account: string | undefined;
  /** The account in words, e.g. `admin@box.example (with TOTP)`, `system key /var/lib/mailinabox/api.key`. */
  readonly accountText: string;
  /**
   * Whether the check reused a cached session or logged in (and how many logins that took);
   * undefined when the auth mode has no session.
   */
  readonly session: { readonly reused: boolean; readonly logins: number } | undefined;
  /**
   * Which credential the server accepted during this check: `session` (a cached session was
   * reused: the password was NOT tried), `password` (a password, +TOTP when set, was sent),
   * `token` (an API token), `system-key` (the box's key file), `none` (no credential: a
   * record store the caller built, see `providerFromStore`).
   */
  readonly verified: 'session' | 'password' | 'token' | 'system-key' | 'none';
  /** The zones the account serves, as `TxtRecordStore.zones()` names them, read fresh. */
  readonly zones: readonly string[];
  /** Provider-specific facts for `check --json`, merged into its object (no secrets). */
  readonly facts: Readonly<Record<string, string | number | boolean | null | undefined>>;
}

export interface ProviderCheckOptions {
  /**
   * `check --login`: send a password (+TOTP) login now, even with a cached session and even
   * when a refusal of these credentials is remembered; a refusal is remembered as any other.
   * No effect where there is no login (tokens, the system key). @default false
   */
  readonly login?: boolean;
}

export interface ProviderLogout {
  /** True when a cached session existed and was ended (on the server when it could be reached) and deleted here. */
  readonly ended: boolean;
  /** One sentence for the user: what was done, or why there was nothing to do. */
  readonly message: string;
}

/**
 * A DNS host. Lifecycle: the registry opens it (reading no secret from anywhere but its config,
 * and contacting the server lazily, on the first call that needs it); `close()` is always called
 * once at the end, after which nothing else is.
 */
export interface DnsProvider {
  /** The provider's name as selected by `--provider` / `MIAB_DNS01_PROVIDER`: `mailinabox`, `cpanel`. */
  readonly name: string;
  /**
   * Identifies the account the records are written to, stably across processes and runs: the
   * journal and every cache shared between the processes of a run are keyed by it, so two
   * accounts (or a box and a cPanel account) never share entries. Holds no secret. For
   * Mail-in-a-Box it is the admin API URL (as the journal has always been keyed); other
   * providers prefix their name (`cpanel:alice@https://host:2083`).
   */
  readonly identity: string;
  /** How messages name the host to the user: `box` (Mail-in-a-Box), `cPanel account`. */
  readonly hostLabel: string;
  /** The records. See TxtRecordStore for the exact semantics every provider honours. */
  readonly store: TxtRecordStore;
  /**
   * A and AAAA records (dynamic DNS through `serve`), for the providers that can write them;
   * absent on the others, which `clients add --ddns-host` then refuses. The challenge engine
   * never uses it.
   */
  readonly addresses?: AddressRecordStore;
  /**
   * Verifies configuration and credentials against the server and lists the zones; writes no
   * record. Reuses a valid cached session and logs in only when there is none.
   */
  check(options?: ProviderCheckOptions): Promise<ProviderCheck>;
  /**
   * Ends the cached session (on the server, and deletes it here). Succeeds with `ended: false`
   * when there is none or the auth mode has no session; never logs in to log out.
   */
  logout(): Promise<ProviderLogout>;
  /** Releases connections. A cached session stays cached for the next process of the run. */
  close(): Promise<void>;
}
