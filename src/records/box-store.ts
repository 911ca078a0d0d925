/**
 * The record store backed by the box's custom DNS API. Zone and CNAME lookups go through a
 * snapshot shared by the processes of one ACME run; writes always go to the box.
 */
import type { BoxClient } from '../box/client.js';
import { LookupSnapshot, type LookupSnapshotOptions } from './lookup-snapshot.js';
import type { TxtRecordStore } from './store.js';

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

  async cnameTarget(name: string): Promise<string | undefined> {
    return (await this.#lookups.cnames())[name];
  }

  appendTxt(name: string, value: string): Promise<void> {
    return this.#client.addRecord(name, 'TXT', value);
  }

  deleteTxt(name: string, value: string): Promise<void> {
    return this.#client.removeRecord(name, 'TXT', value);
  }
}
