/**
 * Every password check of `serve` goes through here, so that the cost of guessing falls on the
 * guesser and not on the clients:
 * - the guess is reserved in the lockout before it is verified (at most the documented number
 *   of wrong guesses per address and window, however the requests arrive);
 * - the slow hash (scrypt, on libuv's thread pool, shared by every request) runs for at most
 *   `maxPendingVerifications` requests at a time from addresses that never authenticated
 *   (default twice the thread pool); beyond that a request is refused at once (503, Retry-After)
 *   without hashing. Of those, at most `maxRunningVerifications` hash at once (default: the
 *   cores but one), so a flood of guesses leaves a core to the event loop, the box writes and the
 *   nameservers. Addresses that authenticated before have a lane of their own of the same size;
 * - a credential verified once is remembered for `credentialCacheMs` under an HMAC with a key
 *   that lives only in this process, so a client's later requests need no slow hash at all (a
 *   flood of guesses cannot make them wait). A removed client or a changed hash ends the entry.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { ClientRegistry, ServeClient } from './registry.js';
import type { Lockout } from './lockout.js';

export interface AuthGateOptions {
  /** Slow hashes in flight for unknown addresses (and, separately, for known ones). @default 2 x UV_THREADPOOL_SIZE (8) */
  readonly maxPendingVerifications?: number;
  /** Slow hashes running at once per lane (the others of the lane wait). @default max(1, cores - 1) */
  readonly maxRunningVerifications?: number;
  /** How long a verified credential is remembered. @default 600_000 */
  readonly credentialCacheMs?: number;
  /** Bound on remembered credentials and known addresses. @default 10_000 */
  readonly maxRemembered?: number;
  readonly now?: () => number;
}

export type AuthOutcome =
  | { readonly kind: 'ok'; readonly client: ServeClient }
  | { readonly kind: 'bad' }
  /** Locked out, or its guesses in flight reached the limit: 429. */
  | { readonly kind: 'locked'; readonly retryAfterS: number }
  /** Too many verifications in flight overall: 503, refused without hashing. */
  | { readonly kind: 'busy'; readonly retryAfterS: number };

class VerificationsFull extends Error {}

/** At most `size` tasks at once; the others wait in order. */
class Semaphore {
  readonly #size: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#size = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

export function defaultPendingVerifications(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE);
  return 2 * (Number.isInteger(pool) && pool > 0 ? pool : 4);
}

export class AuthGate {
  readonly #registry: ClientRegistry;
  readonly #lockout: Lockout;
  readonly #maxPending: number;
  readonly #cacheMs: number;
  readonly #maxRemembered: number;
  readonly #now: () => number;
  readonly #cacheKey = randomBytes(32).toString('base64');
  /** HMAC(user, password) -> the verified client's user name and hash, and until when. */
  readonly #verified = new Map<string, { username: string; passwordHash: string; until: number }>();
  /** Verifications running, by credential: the same credential sent 20 times at once costs one hash. */
  readonly #running = new Map<string, Promise<ServeClient | undefined>>();
  /** Address keys that authenticated successfully (insertion order = age). */
  readonly #knownAddresses = new Map<string, number>();
  #pendingUnknown = 0;
  #pendingKnown = 0;
  readonly #lanes: { unknown: Semaphore; known: Semaphore };

  constructor(registry: ClientRegistry, lockout: Lockout, options: AuthGateOptions = {}) {
    this.#registry = registry;
    this.#lockout = lockout;
    this.#maxPending = options.maxPendingVerifications ?? defaultPendingVerifications();
    const running = options.maxRunningVerifications ?? Math.max(1, availableParallelism() - 1);
    this.#lanes = { unknown: new Semaphore(running), known: new Semaphore(running) };
    this.#cacheMs = options.credentialCacheMs ?? 600_000;
    this.#maxRemembered = options.maxRemembered ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Slow hashes running now (both lanes). */
  get pending(): number {
    return this.#pendingUnknown + this.#pendingKnown;
  }

  async authenticate(address: string, username: string, password: string): Promise<AuthOutcome> {
    const cacheKey = createHmac('sha256', this.#cacheKey).update(username).update('\u0000').update(password).digest('base64url');
    const cached = this.#verified.get(cacheKey);
    if (cached !== undefined) {
      const client = cached.until > this.#now() ? (await this.#registry.list()).find((candidate) => candidate.username === cached.username) : undefined;
      if (client !== undefined && client.passwordHash === cached.passwordHash) return { kind: 'ok', client };
      this.#verified.delete(cacheKey);
    }
    const reserved = this.#lockout.reserve(address);
    if (!reserved.allowed) return { kind: 'locked', retryAfterS: Math.ceil(reserved.retryAfterMs / 1000) };
    let client: ServeClient | undefined;
    try {
      client = await (this.#running.get(cacheKey) ?? this.#verify(address, cacheKey, username, password));
    } catch (error) {
      reserved.reservation.succeeded();
      if (error instanceof VerificationsFull) return { kind: 'busy', retryAfterS: 1 };
      throw error;
    }
    if (client === undefined) {
      reserved.reservation.failed();
      return { kind: 'bad' };
    }
    reserved.reservation.succeeded();
    this.#remember(this.#verified, cacheKey, { username: client.username, passwordHash: client.passwordHash, until: this.#now() + this.#cacheMs });
    this.#remember(this.#knownAddresses, this.#lockout.keyOf(address), this.#now());
    return { kind: 'ok', client };
  }

  /** One slow hash, within its lane's bound; rejects with `VerificationsFull` past it, at once. */
  #verify(address: string, cacheKey: string, username: string, password: string): Promise<ServeClient | undefined> {
    const known = this.#knownAddresses.has(this.#lockout.keyOf(address));
    if ((known ? this.#pendingKnown : this.#pendingUnknown) >= this.#maxPending) return Promise.reject(new VerificationsFull());
    if (known) this.#pendingKnown++;
    else this.#pendingUnknown++;
    const lane = known ? this.#lanes.known : this.#lanes.unknown;
    const running = lane.run(() => this.#registry.authenticate(username, password)).finally(() => {
      if (known) this.#pendingKnown--;
      else this.#pendingUnknown--;
      this.#running.delete(cacheKey);
    });
    this.#running.set(cacheKey, running);
    return running;
  }

  #remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    map.set(key, value);
    for (const oldest of map.keys()) {
      if (map.size <= this.#maxRemembered) break;
      map.delete(oldest);
    }
  }
}
