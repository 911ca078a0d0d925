/**
 * The two body dialects of the box's record writes (`POST`/`DELETE /dns/custom/<qname>/<rtype>`).
 * Upstream Mail-in-a-Box reads the value from the raw body; Power Mail-in-a-Box (the ddavness
 * fork) reads it only from a form body (`value=`, optional `ttl=`). The difference is
 * dangerous, not cosmetic: the fork reads an upstream-style DELETE as "no value" and removes
 * EVERY value at the name (the other value of a wildcard + apex pair, another client's record).
 * Nothing the fork answers tells the two apart beforehand (both report a v60 version), so the
 * flavour is an explicit setting, and the one safe symptom of a wrong setting (a POST refused
 * with "No value for the record provided.") stops every later DELETE of the process.
 */
import { ConfigError, type BoxApiError, type UnsafeToDelete } from '../../errors.js';
import { durationForms, parseDurationMs } from '../../util/duration.js';

export const BOX_FLAVORS = ['upstream', 'power'] as const;
/** `upstream`: Mail-in-a-Box; `power`: Power Mail-in-a-Box. */
export type BoxFlavor = (typeof BOX_FLAVORS)[number];

/**
 * TTL of a challenge record on the fork, in seconds. Short because the record lives for
 * minutes: a resolver (or the CA's) that cached it must not keep an old token when a retry
 * publishes a new one at the same name. Not shorter, because some secondaries and resolvers
 * raise TTLs below a few minutes anyway. Upstream gives every record the zone TTL (86400 s).
 */
export const DEFAULT_CHALLENGE_TTL_SECONDS = 300;
/**
 * TTL of a dynamic DNS address (A/AAAA through `serve`) on the fork: a changed address must
 * reach caching resolvers within a minute. Upstream gives it the zone TTL (86400 s).
 */
export const ADDRESS_TTL_SECONDS = 60;
/** Upstream's TTL for every custom record (the zone TTL). */
export const UPSTREAM_RECORD_TTL_SECONDS = 86_400;

/** The fork raises any TTL below 30 s to 30 s (its TTL_MIN): refuse one it would change. */
export const MIN_CHALLENGE_TTL_SECONDS = 30;
/** The longest TTL we send: the zone TTL; a challenge record never needs more. */
export const MAX_CHALLENGE_TTL_SECONDS = 86_400;

export type BoxDialect =
  | { readonly flavor: 'upstream' }
  | {
      readonly flavor: 'power';
      /** TTL sent with every challenge record this process adds. */
      readonly txtTtlSeconds: number;
    };

export const UPSTREAM_DIALECT: BoxDialect = Object.freeze({ flavor: 'upstream' });

/** A record write's body and its content type. */
export interface WriteBody {
  readonly text: string;
  readonly contentType: string;
}

/**
 * The body of a write. A DELETE carries the value alone: the fork removes by value, and a
 * clean-up process may run with another TTL setting than the one that added the record.
 */
export function writeBody(dialect: BoxDialect, method: 'POST' | 'DELETE', value: string): WriteBody {
  if (dialect.flavor === 'upstream') return { text: value, contentType: 'text/plain; charset=us-ascii' };
  const form = new URLSearchParams({ value });
  if (method === 'POST') form.set('ttl', String(dialect.txtTtlSeconds));
  return { text: form.toString(), contentType: 'application/x-www-form-urlencoded' };
}

/** The body of a `PUT` that replaces a name's addresses: the fork gets the short address TTL. */
export function replaceBody(dialect: BoxDialect, value: string): WriteBody {
  if (dialect.flavor === 'upstream') return { text: value, contentType: 'text/plain; charset=us-ascii' };
  return { text: new URLSearchParams({ value, ttl: String(ADDRESS_TTL_SECONDS) }).toString(), contentType: 'application/x-www-form-urlencoded' };
}

/** What the fork answers an upstream-style (raw body) POST: it found no form field `value`. */
export const FORK_NO_VALUE_ANSWER = 'No value for the record provided.';

/**
 * Whether the box's refusal of a POST with a non-empty value is the fork's answer to a raw
 * body. Upstream answers this only to an empty body, which the client never sends.
 */
export function isForkRefusal(error: BoxApiError): boolean {
  return error.code === 'box-rejected' && error.status === 400 && error.body?.trim() === FORK_NO_VALUE_ANSWER;
}

const SET_FLAVOR = 'Set MIAB_FLAVOR=power (or "flavor = power" in the credentials file)';

/** What the engine tells the user when it leaves records because of the fork's dialect. */
export const FORK_UNSAFE_TO_DELETE: UnsafeToDelete = Object.freeze({ reason: 'the box speaks the Power Mail-in-a-Box dialect', fix: SET_FLAVOR });

/**
 * Whether records listed by `GET /dns/custom...` carry a `ttl`: only the fork lists one (for
 * every record), so a listing in the upstream dialect that has one shows the box is the fork.
 */
export function listsForkTtl(rows: readonly unknown[]): boolean {
  return rows.some((row) => typeof row === 'object' && row !== null && 'ttl' in row);
}

/** The POST refused as the fork refuses a raw body: stop the run, nothing was written. */
export function dialectMismatchError(qname: string, cause: unknown): ConfigError {
  // Without a cause: a later POST of the same process, not sent (the box would refuse it too).
  const seen = cause === undefined ? `not adding TXT ${qname}: the box refused an earlier value with "${FORK_NO_VALUE_ANSWER}"` : `the box refused to add TXT ${qname} with "${FORK_NO_VALUE_ANSWER}" although a value was sent`;
  return new ConfigError(
    'box-dialect-mismatch',
    `${seen}: it speaks the Power Mail-in-a-Box dialect (form bodies). Nothing was written, and no DELETE is sent to this box from now on, because in the dialect used so far a DELETE would remove EVERY value at the name. ${SET_FLAVOR} and run again`,
    cause === undefined ? { unsafeToDelete: FORK_UNSAFE_TO_DELETE } : { cause, unsafeToDelete: FORK_UNSAFE_TO_DELETE },
  );
}

/** A DELETE refused by this client once the box showed it is the fork. */
export function deleteRefusedError(qname: string): ConfigError {
  return new ConfigError(
    'box-dialect-mismatch',
    `not removing TXT ${qname}: this box speaks the Power Mail-in-a-Box dialect (it refused a plain-body value, or lists its records with a per-record TTL), where the DELETE this run would send removes EVERY value at the name. ${SET_FLAVOR}, then remove it again (or run "miab-dns01 cleanup --stale")`,
    { unsafeToDelete: FORK_UNSAFE_TO_DELETE },
  );
}

/** `MIAB_FLAVOR`: `upstream` (default) or `power`, case-insensitive. */
export function parseFlavor(raw: string | undefined, origin = 'MIAB_FLAVOR'): BoxFlavor {
  if (raw === undefined || raw.trim() === '') return 'upstream';
  const flavor = raw.trim().toLowerCase();
  if ((BOX_FLAVORS as readonly string[]).includes(flavor)) return flavor as BoxFlavor;
  throw new ConfigError(
    'config-invalid',
    `${origin}=${JSON.stringify(raw)} is not a Mail-in-a-Box flavour; use one of: ${BOX_FLAVORS.join(', ')} ("power" for Power Mail-in-a-Box, "upstream" (the default) for Mail-in-a-Box)`,
  );
}

/**
 * The dialect from `MIAB_FLAVOR` and `MIAB_TXT_TTL` (seconds, or a duration like `5m`). A TTL
 * without the power flavour is an error rather than ignored: upstream has no per-record TTL.
 */
export function parseDialect(flavorRaw: string | undefined, ttlRaw: string | undefined, origins: { readonly flavor?: string; readonly ttl?: string } = {}): BoxDialect {
  const flavor = parseFlavor(flavorRaw, origins.flavor);
  const ttlOrigin = origins.ttl ?? 'MIAB_TXT_TTL';
  const ttlGiven = ttlRaw !== undefined && ttlRaw.trim() !== '';
  if (flavor === 'upstream') {
    if (ttlGiven) {
      throw new ConfigError(
        'config-invalid',
        `${ttlOrigin} is set, but Mail-in-a-Box (upstream) has no per-record TTL (every record gets the zone's 86400 s); remove it, or set MIAB_FLAVOR=power if the box runs Power Mail-in-a-Box`,
      );
    }
    return UPSTREAM_DIALECT;
  }
  if (!ttlGiven) return Object.freeze({ flavor, txtTtlSeconds: DEFAULT_CHALLENGE_TTL_SECONDS });
  const ms = parseDurationMs(ttlRaw, 's');
  const seconds = ms === undefined ? undefined : ms / 1000;
  if (seconds === undefined || !Number.isInteger(seconds) || seconds < MIN_CHALLENGE_TTL_SECONDS || seconds > MAX_CHALLENGE_TTL_SECONDS) {
    throw new ConfigError(
      'config-invalid',
      `${ttlOrigin}=${JSON.stringify(ttlRaw)} must be ${durationForms('s')}, a whole number of seconds from ${MIN_CHALLENGE_TTL_SECONDS} (Power Mail-in-a-Box raises anything shorter to 30) to ${MAX_CHALLENGE_TTL_SECONDS}`,
    );
  }
  return Object.freeze({ flavor, txtTtlSeconds: seconds });
}
