/**
 * The daemon's session table: `ExpiringDict(max_len=64, max_age_seconds=2 days)` from the
 * Python `expiringdict` package, reproduced with its quirks because clients see them:
 * - an entry is valid while `now - set_time < max_age`; every authenticated use re-sets it
 *   (auth.py "re-ups" the session), so expiry slides from the LAST use;
 * - an expired entry is deleted only when looked up; until then it still counts towards
 *   max_len;
 * - inserting into a full table evicts the oldest entry in insertion order; re-setting an
 *   existing key keeps its position, except when the table is full, where it moves to the end.
 */

export interface Session {
  readonly email: string;
  /** Fingerprint of the user's password and MFA state at login (auth.py password_token). */
  readonly userStamp: string;
}

interface Entry {
  readonly session: Session;
  readonly setAt: number;
}

export class SessionTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number,
    readonly maxLength = 64,
    readonly maxAgeMs = 2 * 24 * 3600 * 1000,
  ) {}

  /** Like `key in d` followed by `d[key]`: expired entries are removed on the way. */
  get(key: string): Session | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.setAt < this.maxAgeMs) return entry.session;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, session: Session): void {
    if (this.entries.size >= this.maxLength) {
      if (this.entries.has(key)) {
        this.entries.delete(key);
      } else {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
    }
    this.entries.set(key, { session, setAt: this.now() });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Entries still valid now (no side effects). */
  liveCount(): number {
    const now = this.now();
    let count = 0;
    for (const entry of this.entries.values()) if (now - entry.setAt < this.maxAgeMs) count++;
    return count;
  }
}
