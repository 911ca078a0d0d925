/**
 * Per-address brake on password guessing: after `maxFailures` failed authentications within
 * `windowMs`, the address gets 429 for `blockMs`, whatever it sends. Only that address: a
 * lockout keyed on the client name would let anyone lock a legitimate machine out.
 */
export interface LockoutOptions {
  /** @default 10 */
  readonly maxFailures?: number;
  /** @default 60_000 */
  readonly windowMs?: number;
  /** @default 60_000 */
  readonly blockMs?: number;
  /** Bound on tracked addresses, so a spray from many addresses cannot grow memory. @default 100_000 */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

export class Lockout {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #blockMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();
  readonly #blockedUntil = new Map<string, number>();

  constructor(options: LockoutOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#blockMs = options.blockMs ?? 60_000;
    this.#maxTracked = options.maxTracked ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds until the address may try again, or 0. */
  blockedFor(address: string): number {
    const until = this.#blockedUntil.get(address);
    if (until === undefined) return 0;
    const left = until - this.#now();
    if (left > 0) return left;
    this.#blockedUntil.delete(address);
    return 0;
  }

  fail(address: string): void {
    const now = this.#now();
    const recent = (this.#failures.get(address) ?? []).filter((time) => now - time < this.#windowMs);
    recent.push(now);
    if (recent.length >= this.#maxFailures) {
      this.#failures.delete(address);
      this.#blockedUntil.set(address, now + this.#blockMs);
      return;
    }
    if (!this.#failures.has(address) && this.#failures.size >= this.#maxTracked) this.#prune(now);
    this.#failures.set(address, recent);
  }

  #prune(now: number): void {
    for (const [address, times] of this.#failures) {
      if (times.every((time) => now - time >= this.#windowMs)) this.#failures.delete(address);
    }
    // Still full: forget the oldest entries rather than grow without bound.
    for (const address of this.#failures.keys()) {
      if (this.#failures.size < this.#maxTracked) break;
      this.#failures.delete(address);
    }
    for (const [address, until] of this.#blockedUntil) if (until <= now) this.#blockedUntil.delete(address);
  }
}
