/**
 * How `serve` uses the shared challenge engine: box writes one at a time (the box applies
 * writes one by one, and concurrent clients must not interleave a write with an eviction),
 * taking turns between clients (round-robin, `FairQueue`: one client's backlog does not delay
 * the others by more than one write each),
 * then the authoritative wait outside the queue, bounded so the answer reaches the ACME client
 * before its own HTTP timeout (lego: 30 s). Past the bound the write stands and the request is
 * answered anyway; the caller logs that the wait was cut short.
 */
import type { ChallengeEngine, ChallengeRecord, ChallengeTarget } from '../challenge/engine.js';
import { FairQueue } from './fair-queue.js';
import type { Logger } from '../util/log.js';

export interface WriteOutcome {
  readonly record: ChallengeRecord;
  /** False when the bounded wait ended before every nameserver served the value. */
  readonly propagated: boolean;
}

export class ChallengeWriter {
  readonly #engine: ChallengeEngine;
  readonly #queue = new FairQueue();
  readonly #waitLimitMs: number;
  readonly #log: Logger;
  /** Aborted when `serve` shuts down: waits end early so in-flight requests can be answered. */
  readonly #stopWaits = new AbortController();

  constructor(options: { engine: ChallengeEngine; waitLimitMs: number; log: Logger }) {
    this.#engine = options.engine;
    this.#waitLimitMs = options.waitLimitMs;
    this.#log = options.log;
  }

  /** Resolves where `name` (an `_acme-challenge` name) is written, following CNAMEs. */
  async target(name: string): Promise<string> {
    return (await this.#engine.resolve(name)).fqdn;
  }

  /** Where `name` is written and the box zone holding that place. */
  locate(name: string): Promise<ChallengeTarget> {
    return this.#engine.resolve(name);
  }

  /** Writes one value (serialized, in `client`'s turn). The wait is separate: see `waitFor`. */
  async write(client: string, name: string, value: string): Promise<ChallengeRecord> {
    const [record] = await this.#queue.run(client, () => this.#engine.present([{ name, value }], { wait: false }));
    if (record === undefined) throw new Error('the engine wrote no record');
    return record;
  }

  /** Runs `task` in the write queue (for read-modify-write of serve's own state). */
  serialized<T>(client: string, task: () => Promise<T>): Promise<T> {
    return this.#queue.run(client, task);
  }

  /** @param limitMs a shorter bound than serve's wait limit (RFC 2136 over UDP). */
  async waitFor(records: readonly ChallengeRecord[], limitMs = this.#waitLimitMs): Promise<boolean> {
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(), limitMs);
    const stop = (): void => bound.abort();
    this.#stopWaits.signal.addEventListener('abort', stop, { once: true });
    if (this.#stopWaits.signal.aborted) bound.abort();
    const { signal } = bound;
    try {
      await this.#engine.wait(records, signal);
      return true;
    } catch (error) {
      const names = records.map((record) => record.fqdn).join(', ');
      this.#log.warn(`answered for ${names} before every authoritative nameserver served it (${signal.aborted ? `wait limit of ${Math.round(limitMs / 1000)} s reached or shutting down` : error instanceof Error ? error.message : String(error)})`);
      return false;
    } finally {
      clearTimeout(timer);
      this.#stopWaits.signal.removeEventListener('abort', stop);
    }
  }

  async add(client: string, name: string, value: string): Promise<WriteOutcome> {
    const record = await this.write(client, name, value);
    return { record, propagated: await this.waitFor([record]) };
  }

  /** Removes exactly one value at the name the client asked for (journal first, then the box). */
  async cleanup(client: string, name: string, value: string): Promise<ChallengeRecord> {
    return this.#queue.run(client, () => this.#engine.cleanup(name, value));
  }

  /** Removes a record written earlier (serialized). */
  remove(client: string, record: ChallengeRecord): Promise<boolean> {
    return this.#queue.run(client, () => this.#engine.remove(record));
  }

  /** Ends every running wait now (shutdown); their requests are answered at once. */
  stopWaiting(): void {
    this.#stopWaits.abort();
  }
}
