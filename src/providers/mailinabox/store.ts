/**
 * The record store backed by the box's custom DNS API. Zone lookups and finding a challenge's
 * delegation go through a snapshot shared by the processes of one ACME run; the CNAME safety
 * check before a write and the writes themselves always go to the box.
 */
import type { BoxClient } from './client.js';
import { LookupSnapshot, type LookupSnapshotOptions } from './lookup-snapshot.js';
import { underSignals, type ListingTxtRecordStore, type StoreCallOptions } from '../../records/store.js';

export class BoxRecordStore implements ListingTxtRecordStore {
  readonly #client: BoxClient;
  readonly #lookups: LookupSnapshot;

  constructor(client: BoxClient, snapshot: LookupSnapshotOptions) {
    this.#client = client;
    this.#lookups = new LookupSnapshot(client, snapshot);
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
        const cnames = await this.#client.cnames();
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
