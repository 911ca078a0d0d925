/** The record store backed by the box's custom DNS API. */
import type { BoxClient } from '../box/client.js';
import type { TxtRecordStore } from './store.js';

export class BoxRecordStore implements TxtRecordStore {
  readonly #client: BoxClient;
  #zones: Promise<string[]> | undefined;

  constructor(client: BoxClient) {
    this.#client = client;
  }

  /** Asked once per process: zones change rarely, and every read costs the box a request. */
  zones(): Promise<string[]> {
    this.#zones ??= this.#client.zones();
    return this.#zones;
  }

  txtValues(name: string): Promise<string[]> {
    return this.#client.records(name, 'TXT');
  }

  async cnameTarget(name: string): Promise<string | undefined> {
    const [target] = await this.#client.records(name, 'CNAME');
    return target?.toLowerCase().replace(/\.$/, '');
  }

  appendTxt(name: string, value: string): Promise<void> {
    return this.#client.addRecord(name, 'TXT', value);
  }

  deleteTxt(name: string, value: string): Promise<void> {
    return this.#client.removeRecord(name, 'TXT', value);
  }
}
