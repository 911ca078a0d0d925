/**
 * DNS clients retransmit an UPDATE over UDP when no answer came within ~3 s (nsupdate,
 * knsupdate), and serve may take longer than that (box write + nameserver wait). A
 * retransmission carries the same ID and MAC from the same source: it must get the same answer
 * and never be applied twice. Entries live a short while and the map is bounded, so a flood of
 * distinct messages cannot grow memory (the oldest entries go first).
 */
export interface RetransmitCacheOptions {
  /** How long an answer is kept after it was given. @default 120_000 */
  readonly ttlMs?: number;
  /** @default 10_000 */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export class RetransmitCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Insertion order is age order: Map iterates oldest first. */
  readonly #entries = new Map<string, { reply: Promise<Buffer>; expires: number }>();

  constructor(options: RetransmitCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 120_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** The answer for `key`: computed once by `compute`, shared by every retransmission. */
  once(key: string, compute: () => Promise<Buffer>): Promise<Buffer> {
    const now = this.#now();
    const known = this.#entries.get(key);
    if (known !== undefined && known.expires > now) return known.reply;
    this.#evict(now);
    const reply = compute();
    // Expiry counts from the answer; until then the entry stays (a retransmission waits for it).
    const entry = { reply, expires: Number.POSITIVE_INFINITY };
    this.#entries.set(key, entry);
    reply.then(
      () => (entry.expires = this.#now() + this.#ttlMs),
      () => this.#entries.delete(key),
    );
    return reply;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }

  #evict(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires <= now) this.#entries.delete(key);
      else break;
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
