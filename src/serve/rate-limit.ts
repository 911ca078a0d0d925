/**
 * A token bucket per source address (IPv6 by its prefix), for front-ends where one packet costs
 * an answer: the RFC 2136 listener over UDP answers a source at most `burst` times at once and
 * `perSecond` a second after that, and drops the rest without an answer (no amplification,
 * and a spoofed source cannot turn serve into a reflector). Memory is bounded: at most
 * `maxTracked` addresses; full buckets are the first to go.
 */
import { addressKey, DEFAULT_IPV6_PREFIX } from './address-key.js';

export interface RateLimitOptions {
  /** @default 20 */
  readonly perSecond?: number;
  /** @default 40 */
  readonly burst?: number;
  /** @default 64 */
  readonly ipv6Prefix?: number;
  /** @default 100_000 */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

export class AddressRateLimit {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #ipv6Prefix: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: RateLimitOptions = {}) {
    this.#perMs = (options.perSecond ?? 20) / 1000;
    this.#burst = options.burst ?? 40;
    this.#ipv6Prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
    this.#maxTracked = options.maxTracked ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for `address`; false: drop the packet (or refuse the request) without work. */
  take(address: string): boolean {
    const key = addressKey(address, this.#ipv6Prefix);
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    const tokens = bucket === undefined ? this.#burst : Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    if (bucket === undefined && this.#buckets.size >= this.#maxTracked) this.#prune(now);
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: now });
      return false;
    }
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    return true;
  }

  get tracked(): number {
    return this.#buckets.size;
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#burst) this.#buckets.delete(key);
    // Still full: the least recently seen go first (Map order).
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < this.#maxTracked) break;
      this.#buckets.delete(key);
    }
  }
}
