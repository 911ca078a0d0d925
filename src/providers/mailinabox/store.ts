/**
 * The record store backed by the box's custom DNS API. Zone lookups and finding a challenge's
 * delegation go through a snapshot shared by the processes of one ACME run; the CNAME safety
 * check before a write and the writes themselves always go to the box.
 */
import type { BoxClient } from './client.js';
import { LookupSnapshot, type LookupSnapshotOptions } from './lookup-snapshot.js';
import type { TxtRecordStore } from '../../records/store.js';

export class BoxRecordStore implements TxtRecordStore {
  readonly #client: BoxClient;
  readonly #lookups: LookupSnapshot;

  constructor(client: BoxClient, snapshot: LookupSnapshotOptions) {
    this.#client = client;
    this.#lookups = new LookupSnapshot(client, snapshot);
  }

  zones(): Promise<string[]> {
    return this.#lookups.zones();
  }

  refresh(): Promise<void> {
    return this.#lookups.refresh();
  }

  txtValues(name: string): Promise<string[]> {
    return this.#client.records(name, 'TXT');
  }

  async cachedCnameTarget(name: string): Promise<string | undefined> {
    return (await this.#lookups.cnames())[name];
  }
  async cnameTarget(name: string): Promise<string | undefined> {
    const cnames = await this.#client.cnames();
    // Keep the run's snapshot in step: later processes of the run then follow a new CNAME.
    if ((await this.#lookups.cnames())[name] !== cnames[name]) await this.#lookups.replaceCnames(cnames);
    return cnames[name];
  }

  appendTxt(name: string, value: string): Promise<void> {
    return this.#client.addRecord(name, 'TXT', value);
  }

  deleteTxt(name: string, value: string): Promise<void> {
    return this.#client.removeRecord(name, 'TXT', value);
  }
}
