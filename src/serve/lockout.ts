/**
 * Per-address brake on password guessing: after `maxFailures` failed authentications within
 * `windowMs`, the address gets 429 for `blockMs`, whatever it sends. Only that address: a
 * lockout keyed on the client name would let anyone lock a legitimate machine out.
 *
 * A guess is **reserved before it is verified** (`reserve`), and reservations in flight count
 * against the limit like failures: however the requests arrive (200 in parallel, 1000
 * pipelined on one connection), no more than `maxFailures` wrong guesses per address are ever
 * verified in one window. Addresses are counted by `addressKey` (IPv6 by its /64).
 *
 * Memory is bounded: at most `maxTracked` addresses with failures and `maxTracked` blocked
 * addresses; expired entries are dropped by a sweep at most once a window (and by `sweep()`).
 */
import { addressKey, DEFAULT_IPV6_PREFIX } from './address-key.js';

export interface LockoutOptions {
  /** @default 10 */
  readonly maxFailures?: number;
  /** @default 60_000 */
  readonly windowMs?: number;
  /** @default 60_000 */
  readonly blockMs?: number;
  /** Bound on tracked addresses (failures and blocks each), so a spray from many addresses cannot grow memory. @default 100_000 */
  readonly maxTracked?: number;
  /** IPv6 addresses are counted by this prefix. @default 64 */
  readonly ipv6Prefix?: number;
  readonly now?: () => number;
}

/** One guess allowed to be verified; tell the lockout how it went exactly once. */
export interface GuessReservation {
  /** The guess was wrong: it becomes a failure (and may block the address). */
  failed(): void;
  /** The guess was right (or not verified after all): the reservation is released. */
  succeeded(): void;
}

export type ReserveOutcome = { readonly allowed: true; readonly reservation: GuessReservation } | { readonly allowed: false; readonly retryAfterMs: number };

export class Lockout {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #blockMs: number;
  readonly #maxTracked: number;
  readonly #ipv6Prefix: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();
  readonly #blockedUntil = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  #lastSweep = 0;

  constructor(options: LockoutOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#blockMs = options.blockMs ?? 60_000;
    this.#maxTracked = options.maxTracked ?? 100_000;
    this.#ipv6Prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
    this.#now = options.now ?? Date.now;
  }

  /** The key an address is counted under (IPv6: its prefix). */
  keyOf(address: string): string {
    return addressKey(address, this.#ipv6Prefix);
  }

  /** Milliseconds until the address may try again, or 0. */
  blockedFor(address: string): number {
    const now = this.#now();
    this.#maybeSweep(now);
    const key = this.keyOf(address);
    const until = this.#blockedUntil.get(key);
    if (until === undefined) return 0;
    const left = until - now;
    if (left > 0) return left;
    this.#blockedUntil.delete(key);
    return 0;
  }

  /**
   * Reserves one guess for `address` before its password is verified. Refused when the address
   * is blocked or when its failures in the window plus the guesses in flight reach the limit.
   */
  reserve(address: string): ReserveOutcome {
    const blocked = this.blockedFor(address);
    if (blocked > 0) return { allowed: false, retryAfterMs: blocked };
    const key = this.keyOf(address);
    const now = this.#now();
    const recent = this.#recent(key, now);
    const pending = this.#pending.get(key) ?? 0;
    if (recent.length + pending >= this.#maxFailures) {
      const oldest = recent[0];
      return { allowed: false, retryAfterMs: oldest === undefined ? 1_000 : Math.max(1_000, oldest + this.#windowMs - now) };
    }
    this.#pending.set(key, pending + 1);
    let settled = false;
    const release = (): void => {
      if (settled) return;
      settled = true;
      const left = (this.#pending.get(key) ?? 1) - 1;
      if (left <= 0) this.#pending.delete(key);
      else this.#pending.set(key, left);
    };
    return {
      allowed: true,
      reservation: {
        failed: () => {
          if (settled) return;
          release();
          this.fail(address);
        },
        succeeded: release,
      },
    };
  }

  /** A failed authentication that needed no verification (no credentials, source not allowed). */
  fail(address: string): void {
    const now = this.#now();
    this.#maybeSweep(now);
    const key = this.keyOf(address);
    const recent = this.#recent(key, now);
    recent.push(now);
    if (recent.length >= this.#maxFailures) {
      this.#failures.delete(key);
      if (!this.#blockedUntil.has(key) && this.#blockedUntil.size >= this.#maxTracked) this.#pruneBlocks(now);
      this.#blockedUntil.delete(key);
      this.#blockedUntil.set(key, now + this.#blockMs);
      return;
    }
    if (!this.#failures.has(key) && this.#failures.size >= this.#maxTracked) this.#pruneFailures(now);
    this.#failures.set(key, recent);
  }

  /** Addresses held in memory (failures + blocks), for tests and diagnostics. */
  get tracked(): number {
    return this.#failures.size + this.#blockedUntil.size;
  }

  /** Drops every expired failure and block now. */
  sweep(now: number = this.#now()): void {
    this.#lastSweep = now;
    for (const [key, times] of this.#failures) if (times.every((time) => now - time >= this.#windowMs)) this.#failures.delete(key);
    for (const [key, until] of this.#blockedUntil) if (until <= now) this.#blockedUntil.delete(key);
  }

  #recent(key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter((time) => now - time < this.#windowMs);
  }

  #maybeSweep(now: number): void {
    if (now - this.#lastSweep >= Math.min(this.#windowMs, this.#blockMs)) this.sweep(now);
  }

  #pruneFailures(now: number): void {
    this.sweep(now);
    // Still full: forget the oldest entries rather than grow without bound.
    for (const key of this.#failures.keys()) {
      if (this.#failures.size < this.#maxTracked) break;
      this.#failures.delete(key);
    }
  }

  #pruneBlocks(now: number): void {
    this.sweep(now);
    // Still full: blocks are inserted in time order, so the first ends soonest.
    for (const key of this.#blockedUntil.keys()) {
      if (this.#blockedUntil.size < this.#maxTracked) break;
      this.#blockedUntil.delete(key);
    }
  }
}
