/**
 * A and AAAA records on the box, for dynamic DNS through `serve`. One listing answers both
 * what the name holds now (the `nochg` decision) and whether a CNAME is there (a record beside
 * a CNAME makes nsd refuse the whole zone); a change is one `PUT` per address family.
 */
import type { AddressRecords, AddressRecordStore, AddressRecordType } from '../provider.js';
import type { BoxClient } from './client.js';
import { ADDRESS_TTL_SECONDS, UPSTREAM_RECORD_TTL_SECONDS, type BoxDialect } from './dialect.js';

export class BoxAddressStore implements AddressRecordStore {
  readonly ttlSeconds: number;
  readonly #client: BoxClient;
  readonly #zones: () => Promise<string[]>;

  constructor(client: BoxClient, dialect: BoxDialect, zones: () => Promise<string[]>) {
    this.#client = client;
    this.#zones = zones;
    this.ttlSeconds = dialect.flavor === 'power' ? ADDRESS_TTL_SECONDS : UPSTREAM_RECORD_TTL_SECONDS;
  }

  zones(): Promise<string[]> {
    return this.#zones();
  }

  async read(name: string): Promise<AddressRecords> {
    const records = (await this.#client.allRecords()).filter((record) => record.qname === name);
    const values = (type: string): string[] => records.filter((record) => record.rtype === type).map((record) => record.value);
    const cname = values('CNAME')[0];
    return { a: values('A'), aaaa: values('AAAA'), cname: cname === undefined ? undefined : cname.toLowerCase().replace(/\.$/, '') };
  }

  replace(name: string, type: AddressRecordType, address: string): Promise<void> {
    return this.#client.replaceRecord(name, type, address);
  }
}
