/**
 * The record-store interface the challenge engine writes through: what a DNS host must offer,
 * stated once. Every implementation (the in-memory reference, Mail-in-a-Box, cPanel, the serve
 * client, a third party's) honours it, and proves it with the conformance suite shipped as
 * `miab-dns01/conformance` (docs/conformance.md).
 *
 * Names are lower-case, punycode, without trailing dot; values are raw (no quotes). A method
 * that fails rejects with an `Error` whose message names the host and the step.
 *
 * Cancellation: every method takes an optional per-call `signal`. A call whose signal has
 * already aborted rejects with the signal's reason and changes nothing. A read whose signal
 * aborts while it is in flight may be cut short (it rejects with the reason); a write already
 * sent is allowed to finish, because the engine undoes what it wrote and must know that it did.
 * A store may also have been opened with a signal of its own: either one stops the call.
 *
 * Concurrency: a store may be used by concurrent calls of one process (the engine reads CNAMEs
 * and writes values of different names in parallel), and by several processes at once (certbot
 * runs one hook per name, serve answers clients in parallel). Writes to the SAME name from
 * concurrent calls must each take effect, exactly as if they had run one after the other
 * (a wildcard + apex pair appends two values to one name at the same moment). Nothing else is
 * ordered: a read that runs beside a write may see it or not.
 *
 * Reading values is an optional capability: a store that cannot list TXT values (the serve
 * client: the httpreq protocol has no read) leaves `txtValues` out, and callers say that they
 * cannot verify instead of failing ({@link canListTxt}).
 */
export interface StoreCallOptions {
  /** Stops the call (see "Cancellation" above). */
  readonly signal?: AbortSignal;
}

export interface TxtRecordStore {
  /** The zones the store serves: lower-case, punycode, no trailing dot. May be cached. */
  zones(options?: StoreCallOptions): Promise<string[]>;
  /**
   * The TXT values at exactly `name`, as the source holds them now (empty when none; a name in
   * no zone is empty, not an error). Optional: absent when the host offers no way to read.
   */
  txtValues?(name: string, options?: StoreCallOptions): Promise<string[]>;
  /**
   * The CNAME at exactly `name`, or undefined, as the source holds it NOW (never from another
   * process's cache; the box's store asks the zone's authoritative nameservers, which serve a
   * change ~20 ms after its API answers, and may answer from its own read of the last 2 s,
   * docs/performance.md): the engine asks it right before every write, because a TXT beside a
   * CNAME makes the host's nameserver refuse the whole zone.
   */
  cnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined>;
  /**
   * Like `cnameTarget` but may answer from a snapshot: used only to find where a challenge is
   * delegated, never as the safety check.
   */
  cachedCnameTarget?(name: string, options?: StoreCallOptions): Promise<string | undefined>;
  /**
   * Adds one value and never modifies or removes other values at that name; appending a value
   * that is already there changes nothing and succeeds. There is no "replace": Mail-in-a-Box's
   * replace wipes the other value of a wildcard + apex pair.
   */
  appendTxt(name: string, value: string, options?: StoreCallOptions): Promise<void>;
  /**
   * Removes exactly that value and nothing else; deleting a missing value changes nothing and
   * succeeds. There is no "delete all".
   */
  deleteTxt(name: string, value: string, options?: StoreCallOptions): Promise<void>;
  /**
   * Drops cached zone and CNAME data so the next lookups read the source again (called before
   * reporting a name as outside every zone). Optional.
   */
  refresh?(options?: StoreCallOptions): Promise<void>;
}

/** A store that can list TXT values (the optional capability present). */
export type ListingTxtRecordStore = TxtRecordStore & Required<Pick<TxtRecordStore, 'txtValues'>>;

/** Whether `store` can list TXT values; narrows it so `txtValues` may be called. */
export function canListTxt<Store extends Pick<TxtRecordStore, 'txtValues'>>(store: Store): store is Store & Required<Pick<TxtRecordStore, 'txtValues'>> {
  return typeof store.txtValues === 'function';
}

/**
 * Runs one store call under the per-call `signal` and the store's own: rejects with the
 * reason, before starting, when either has aborted; a read (`cutShort`) also stops waiting
 * when one aborts while it is in flight. For implementations whose client takes one signal
 * for its whole life.
 */
export async function underSignals<T>(signals: readonly (AbortSignal | undefined)[], work: () => Promise<T>, cutShort: boolean): Promise<T> {
  const live = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  for (const signal of live) signal.throwIfAborted();
  if (!cutShort || live.length === 0) return work();
  const listeners: (() => void)[] = [];
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        for (const signal of live) {
          const onAbort = (): void => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          listeners.push(() => signal.removeEventListener('abort', onAbort));
        }
      }),
    ]);
  } finally {
    for (const remove of listeners) remove();
  }
}
