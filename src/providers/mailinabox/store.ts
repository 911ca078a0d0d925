/**
 * The record store backed by the box's custom DNS API. Zone lookups go through a snapshot shared
 * by the processes of one ACME run; the writes always go to the box.
 *
 * The CNAMEs come from the box only with the whole custom-record table (`GET /dns/custom`; the
 * per-name read costs the box the same parse), which grows with the box: 0.74 s at 2000 records
 * on a real box. So both the delegation lookup (when the run's snapshot holds no table yet) and
 * the CNAME safety check before a write first ask the zone's authoritative nameservers
 * (authoritative-cname.ts): one round trip at any table size. Only when they do not all answer
 * authoritatively, or one of them answers with a CNAME (confirmed against the table, which is
 * what the box renders its zones from), is the table read; a table read or nameserver answer
 * THIS process got less than FRESH_TABLE_READ_MS ago serves as the check, another process's
 * snapshot never does (docs/performance.md).
 */
import { findZone } from '../../challenge/names.js';
import type { Logger } from '../../util/log.js';
import type { BoxClient } from './client.js';
import type { CnameNameservers } from './authoritative-cname.js';
import { LookupSnapshot, type LookupSnapshotOptions } from './lookup-snapshot.js';
import { underSignals, type ListingTxtRecordStore, type StoreCallOptions } from '../../records/store.js';

/**
 * How old (from the moment its request was sent) a table read or a nameserver answer may be to
 * serve as the fresh CNAME check before a write. Short: the check guards against a CNAME someone
 * adds meanwhile.
 */
export const FRESH_TABLE_READ_MS = 2_000;

export interface BoxRecordStoreOptions extends LookupSnapshotOptions {
  /** Clock (tests). */
  readonly now?: () => number;
  /** The zone's authoritative nameservers, asked before the table is read. @default none: always the table */
  readonly nameservers?: CnameNameservers;
  /** Says why the nameservers could not settle a check (debug). */
  readonly log?: Logger;
}

interface TimedAnswer<T> {
  readonly sentAt: number;
  readonly value: T;
}

export class BoxRecordStore implements ListingTxtRecordStore {
  readonly #client: BoxClient;
  readonly #lookups: LookupSnapshot;
  readonly #now: () => number;
  readonly #nameservers: CnameNameservers | undefined;
  readonly #log: Logger | undefined;
  /** This process's last read of the whole table: when it was sent and its CNAMEs. */
  #lastRead: TimedAnswer<Record<string, string>> | undefined;
  /** This process's authoritative answers per name: the CNAME target, or undefined for none. */
  readonly #answers = new Map<string, TimedAnswer<string | undefined>>();

  constructor(client: BoxClient, options: BoxRecordStoreOptions) {
    this.#client = client;
    this.#now = options.now ?? Date.now;
    this.#nameservers = options.nameservers;
    this.#log = options.log;
    this.#lookups = new LookupSnapshot({ zones: () => client.zones(), cnames: () => this.#readTable() }, options);
  }

  async #readTable(): Promise<Record<string, string>> {
    const sentAt = this.#now();
    const cnames = await this.#client.cnames();
    this.#lastRead = { sentAt, value: cnames };
    return cnames;
  }

  #fresh<T>(answer: TimedAnswer<T> | undefined): answer is TimedAnswer<T> {
    return answer !== undefined && this.#now() - answer.sentAt < FRESH_TABLE_READ_MS;
  }

  /**
   * The nameservers' answer for `name`: `{ target }` (undefined target: no CNAME), or undefined
   * when they could not tell and the table must be read.
   */
  async #ask(name: string, signal: AbortSignal | undefined): Promise<{ readonly target: string | undefined } | undefined> {
    if (this.#nameservers === undefined) return undefined;
    const zone = findZone(name, await this.#lookups.zones());
    if (zone === undefined) return undefined;
    const sentAt = this.#now();
    const answer = await this.#nameservers.lookup(name, zone, signal);
    if (answer.kind === 'unknown') {
      this.#log?.debug(`reading the box's custom-record table for the CNAME check of ${name}: ${answer.reason}`);
      return undefined;
    }
    const target = answer.kind === 'cname' ? answer.target : undefined;
    this.#answers.set(name, { sentAt, value: target });
    return { target };
  }

  zones(options?: StoreCallOptions): Promise<string[]> {
    return underSignals([options?.signal], () => this.#lookups.zones(), true);
  }

  refresh(options?: StoreCallOptions): Promise<void> {
    return underSignals([options?.signal], () => this.#lookups.refresh(), false);
  }

  txtValues(name: string, options?: StoreCallOptions): Promise<string[]> {
    return underSignals([options?.signal], () => this.#client.records(name, 'TXT'), true);
  }

  cachedCnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined> {
    return underSignals(
      [options?.signal],
      async () => {
        const known = await this.#lookups.knownCnames();
        if (known !== undefined) return known[name];
        const answered = await this.#ask(name, options?.signal);
        if (answered !== undefined) return answered.target;
        return (await this.#lookups.cnames())[name];
      },
      true,
    );
  }

  cnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined> {
    return underSignals(
      [options?.signal],
      async () => {
        const recent = this.#answers.get(name);
        const answered = this.#fresh(recent) ? { target: recent.value } : this.#fresh(this.#lastRead) ? undefined : await this.#ask(name, options?.signal);
        if (answered !== undefined && answered.target === undefined) {
          // Keep the run's snapshot in step: later processes of the run then stop following a removed CNAME.
          await this.#lookups.correctCname(name, undefined);
          return undefined;
        }
        // A CNAME (or no authoritative answer): the table decides, as the box renders its zones
        // from it (a CNAME the nameservers synthesize from a wildcard is not one at the name).
        const cnames = this.#fresh(this.#lastRead) ? this.#lastRead.value : await this.#readTable();
        // Keep the run's snapshot in step: later processes of the run then follow a new CNAME.
        const known = await this.#lookups.knownCnames();
        if (known === undefined || known[name] !== cnames[name]) await this.#lookups.replaceCnames(cnames);
        return cnames[name];
      },
      true,
    );
  }

  appendTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    return underSignals([options?.signal], () => this.#client.addRecord(name, 'TXT', value), false);
  }

  deleteTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    return underSignals([options?.signal], () => this.#client.removeRecord(name, 'TXT', value), false);
  }
}
