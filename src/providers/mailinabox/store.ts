/**
 * The record store backed by the box's custom DNS API. Zone lookups and finding a challenge's
 * delegation go through a snapshot shared by the processes of one ACME run; the CNAME safety
 * check before a write and the writes themselves always go to the box.
 *
 * The CNAMEs come only with the whole custom-record table (`GET /dns/custom`; the per-name read
 * costs the box the same parse), which grows with the box: 0.74 s at 2000 records on a real box.
 * So the safety check reuses a table read THIS process sent less than FRESH_TABLE_READ_MS ago
 * (a standalone `present` reads the table once, for the delegation lookup and the check, where it
 * read it twice), and reads the table again otherwise. Another process's snapshot never serves it.
 */
import type { BoxClient } from './client.js';
import { LookupSnapshot, type LookupSnapshotOptions } from './lookup-snapshot.js';
import { underSignals, type ListingTxtRecordStore, type StoreCallOptions } from '../../records/store.js';

/**
 * How old (from the moment its request was sent) a table read may be to serve as the fresh CNAME
 * check before a write. Short: the check guards against a CNAME someone adds meanwhile.
 */
export const FRESH_TABLE_READ_MS = 2_000;

export interface BoxRecordStoreOptions extends LookupSnapshotOptions {
  /** Clock (tests). */
  readonly now?: () => number;
}

export class BoxRecordStore implements ListingTxtRecordStore {
  readonly #client: BoxClient;
  readonly #lookups: LookupSnapshot;
  readonly #now: () => number;
  /** This process's last read of the whole table: when it was sent and its CNAMEs. */
  #lastRead: { readonly sentAt: number; readonly cnames: Record<string, string> } | undefined;

  constructor(client: BoxClient, options: BoxRecordStoreOptions) {
    this.#client = client;
    this.#now = options.now ?? Date.now;
    this.#lookups = new LookupSnapshot({ zones: () => client.zones(), cnames: () => this.#readTable() }, options);
  }

  async #readTable(): Promise<Record<string, string>> {
    const sentAt = this.#now();
    const cnames = await this.#client.cnames();
    this.#lastRead = { sentAt, cnames };
    return cnames;
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
    return underSignals([options?.signal], async () => (await this.#lookups.cnames())[name], true);
  }

  cnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined> {
    return underSignals(
      [options?.signal],
      async () => {
        const recent = this.#lastRead !== undefined && this.#now() - this.#lastRead.sentAt < FRESH_TABLE_READ_MS ? this.#lastRead.cnames : undefined;
        const cnames = recent ?? (await this.#readTable());
        // Keep the run's snapshot in step: later processes of the run then follow a new CNAME.
        if ((await this.#lookups.cnames())[name] !== cnames[name]) await this.#lookups.replaceCnames(cnames);
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
