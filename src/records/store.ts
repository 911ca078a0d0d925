/**
 * The record-store interface the challenge engine writes through. Semantics, which every
 * implementation (the box, the in-memory store) must honour, checked by one conformance suite:
 *
 * - `zones()` lists the zones the store serves: lower-case, punycode, no trailing dot.
 * - `txtValues(name)` lists the TXT values at exactly `name` (empty when none).
 * - `cnameTarget(name)` is the CNAME at exactly `name`, or undefined, as the source holds it
 *   now (never from another process's cache; the box's store may answer from its own read of
 *   the last 2 s, docs/performance.md): the engine asks it right before every write, because a
 *   TXT beside a CNAME makes the box's nameserver refuse the whole zone.
 * - `cachedCnameTarget(name)`, when present, may answer from a snapshot: used only to find
 *   where a challenge is delegated, never as the safety check.
 * - `appendTxt(name, value)` adds one value and never modifies or removes other values at
 *   that name; appending a value that is already there changes nothing and succeeds.
 * - `deleteTxt(name, value)` removes exactly that value; deleting a missing value changes
 *   nothing and succeeds. There is no "delete all" and no "replace": the box's replace
 *   wipes the other value of a wildcard+apex pair.
 *
 * - `refresh()`, when present, drops cached zone and CNAME data so the next lookups read the
 *   source again (called before reporting a name as outside every zone).
 *
 * Names are lower-case, punycode, without trailing dot; values are raw (no quotes).
 */
export interface TxtRecordStore {
  zones(): Promise<string[]>;
  txtValues(name: string): Promise<string[]>;
  cnameTarget(name: string): Promise<string | undefined>;
  cachedCnameTarget?(name: string): Promise<string | undefined>;
  appendTxt(name: string, value: string): Promise<void>;
  deleteTxt(name: string, value: string): Promise<void>;
  refresh?(): Promise<void>;
}
