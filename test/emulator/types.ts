/** Public option and data types of the Mail-in-a-Box emulator. */
import type { ZoneData, ZonePublisher } from '../fixtures/zones.js';

export interface EmulatorUser {
  /** Login name, compared exactly (the box's SQLite lookup is case-sensitive). */
  readonly email: string;
  readonly password: string;
  /** Default `['admin']`; `[]` makes a plain mail user ("You are not an administrator."). */
  readonly privileges?: readonly string[];
  /** Base32 TOTP secret; when set, password logins need `X-Auth-Token`. */
  readonly totpSecret?: string;
}

/** One custom DNS record as the box stores it in custom.yaml. */
export interface CustomRecord {
  readonly qname: string;
  readonly rtype: string;
  readonly value: string;
  /**
   * Per-record TTL in seconds: Power Mail-in-a-Box only (form field `ttl`). Absent means the
   * zone's default (86400 s), as upstream gives every record.
   */
  readonly ttl?: number;
}

/**
 * Which daemon to imitate at `/dns/custom/<qname>[/<rtype>]`:
 * - `upstream` (default): the value is the raw request body;
 * - `power` (Power Mail-in-a-Box, the ddavness fork): the value comes only from a form body
 *   (`value=`, optional `ttl=`); a raw body reads as "no value", so a raw DELETE removes every
 *   value of the name and type. See the last section of the MIAB API spec.
 */
export type EmulatorFlavor = 'upstream' | 'power';

export interface FaultMatch {
  /** Upper-case HTTP method, e.g. `POST`. */
  readonly method?: string;
  /**
   * Prefix of the daemon path (`/dns/custom/...`, without basePath) or of the full request
   * path (`/admin/dns/custom/...`): either matches.
   */
  readonly pathPrefix?: string;
}

/**
 * One injected failure, consumed by the first later request it matches (faults are tried in
 * injection order; at most one applies per request).
 */
export type Fault =
  | {
      /**
       * 502/503/504 are nginx pages (daemon restarting / gateway timeout); 500 is Flask's page
       * (ldns-signzone or nsd failed).
       */
      readonly status: 500 | 502 | 503 | 504;
      /**
       * false (default): answered at once, the daemon never sees the request.
       * true: the daemon handles the request completely (the change lands and is published),
       * then the client gets this status instead: the 504-after-timeout / 500-after-save cases.
       */
      readonly afterApply?: boolean;
      /** Wait this long first (inside the daemon's one-at-a-time queue when afterApply). */
      readonly delayMs?: number;
      /** Replace the default HTML page. */
      readonly body?: string;
      readonly match?: FaultMatch;
    }
  | {
      /** Destroy the connection without an answer. */
      readonly reset: true;
      /** Handle the request (change applied) before dropping the connection. */
      readonly afterApply?: boolean;
      readonly delayMs?: number;
      readonly match?: FaultMatch;
    }
  | {
      /** A slow daemon: the request holds the one worker this long before being handled. */
      readonly delayMs: number;
      readonly match?: FaultMatch;
    };

export type AuthKind = 'system' | 'session' | 'password' | 'none' | 'invalid';

export interface RequestLogEntry {
  readonly method: string;
  /** The request target as received (includes basePath and any query string). */
  readonly path: string;
  /**
   * How the request authenticated: `invalid` when an Authorization header was sent but
   * rejected, `none` without one. For requests that never reached authentication (404,
   * 405, faults answered before the daemon) it is what the header would have been.
   */
  readonly authKind: AuthKind;
  /** Raw body as UTF-8 text. */
  readonly body: string;
  /** Status sent; 0 when the connection was reset. */
  readonly status: number;
  /** Emulator clock (`options.now`) when the request arrived, ms. */
  readonly time: number;
  /** The fault applied to this request, if any. */
  readonly fault?: Fault;
}

export interface SecondaryOptions {
  readonly publisher: ZonePublisher;
  /** Each snapshot reaches the secondary this long after the change (real time). */
  readonly lagMs: number;
}

export interface EmulatorOptions {
  /** Loopback address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Fixed port (default: a free one). */
  readonly port?: number;
  /** Permit a non-loopback `host` (only for the container runner). */
  readonly allowNonLoopback?: boolean;
  /** Serve HTTPS with this PEM key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** '/admin' (default: the box behind nginx) or '' (on the box, port 10222). */
  readonly basePath?: string;
  readonly users?: readonly EmulatorUser[];
  /** Zone apexes (lower-case punycode, never nested). */
  readonly zones: readonly string[];
  /** NS host names put in every ZoneData (default ns1/ns2.box.example.test). */
  readonly nameservers?: readonly string[];
  /** What GET /dns/secondary-nameserver reports (default none). */
  readonly secondaryNameservers?: readonly string[];
  /** The box's PRIMARY_HOSTNAME, for sort orders (default: first nameserver minus `ns1.`). */
  readonly primaryHostname?: string;
  /** What an A record with value `local` publishes as (default 127.0.0.1). */
  readonly publicIp?: string;
  /** The daemon's dialect for record writes (default `upstream`). */
  readonly flavor?: EmulatorFlavor;
  /** Custom records present at start. */
  readonly records?: readonly CustomRecord[];
  /** Write the system API key here at every (re)start, mode 0600. */
  readonly systemKeyFile?: string;
  /** Pre-v60 key file format: key followed by a newline. */
  readonly systemKeyTrailingNewline?: boolean;
  /** Clock in ms for sessions, TOTP and the log (default Date.now). */
  readonly now?: () => number;
  readonly dns?: {
    readonly primary?: ZonePublisher;
    readonly secondary?: SecondaryOptions;
  };
}

export interface UserPatch {
  readonly password?: string;
  /** `null` disables TOTP. */
  readonly totpSecret?: string | null;
  readonly privileges?: readonly string[];
}

export interface MiabEmulator {
  /** Base URL including basePath, no trailing slash (e.g. http://127.0.0.1:4711/admin). */
  readonly url: string;
  /** Scheme, host and port only. */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly basePath: string;
  /** Current system API key (32 hex); changes on restart(). */
  readonly systemKey: string;
  /** Every rejected authentication (API endpoints and /login; not /logout, not non-admin). */
  readonly failedLogins: number;
  /**
   * The failures the real daemon writes to its log for fail2ban: like failedLogins but
   * without API calls that sent no Authorization header and without /login answers of
   * `missing-totp-token`.
   */
  readonly loggedFailedLogins: number;
  /** Sessions that are still valid now. */
  readonly liveSessions: number;
  readonly requests: readonly RequestLogEntry[];
  /** Empty the request log and reset both failure counters. */
  clearLog(): void;
  /** Current custom records, in the box's stored order. */
  records(): CustomRecord[];
  /**
   * Appends a record as another client (or the admin panel) would, without a request: no
   * request log entry, zones re-rendered and published. Returns false when it was there.
   */
  addRecord(record: CustomRecord): Promise<boolean>;
  /** Zones as last rendered (what the primary got). */
  zones(): ZoneData[];
  injectFaults(faults: readonly Fault[]): void;
  /** Faults not consumed yet. */
  pendingFaults(): readonly Fault[];
  setSecondaryLag(ms: number): void;
  /** Resolves when every scheduled secondary delivery has happened. */
  secondaryIdle(): Promise<void>;
  /** Errors thrown by the secondary publisher (the daemon never sees them). */
  readonly secondaryErrors: readonly unknown[];
  /** Daemon restart: sessions forgotten, new system key written. */
  restart(): Promise<void>;
  /** Change a user's password/TOTP/privileges; like the box, this ends the user's sessions. */
  updateUser(email: string, patch: UserPatch): void;
  /** Close the server and connections, cancel pending secondary deliveries. */
  stop(): Promise<void>;
}
