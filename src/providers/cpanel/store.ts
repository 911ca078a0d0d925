/**
 * The record store (src/records/store.ts semantics) on a cPanel account's zones through UAPI.
 * Every write re-reads the zone and sends the SOA serial as an optimistic lock: line indexes
 * shift after every edit, and another editor may change the zone between our read and write.
 * A stale serial is re-read and retried, a bounded number of times. One TXT record per value;
 * removal by the line that holds exactly our name and value.
 */
import { MiabDns01Error } from '../../errors.js';
import { withLock } from '../../state/lock.js';
import { underSignals, type ListingTxtRecordStore, type StoreCallOptions } from '../../records/store.js';
import type { AddressRecords, AddressRecordType } from '../provider.js';
import type { Logger } from '../../util/log.js';
import { withRetries } from '../http/retry.js';
import { UapiCallError, type UapiClient } from './client.js';
import { addressJson, addTxtJson, cnameAt, parseZoneData, txtAt, txtValue, zoneFor, type ParsedZone } from './zone.js';

/** TTL of a dynamic DNS address (A/AAAA through `serve`): a changed address reaches resolvers within a minute. */
export const ADDRESS_TTL_SECONDS = 60;

/** cPanel's stale-serial text; the apostrophe in "zone's" varies between versions. */
const STALE_SERIAL = /serial number.*does not match/i;

export interface CpanelStoreOptions {
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Writes tried per record when the zone keeps changing under us. @default 5 */
  readonly maxAttempts?: number;
  /** TTL of the challenge records, seconds. @default 300 */
  readonly ttl?: number;
}

export class CpanelRecordStore implements ListingTxtRecordStore {
  readonly #client: UapiClient;
  readonly #options: CpanelStoreOptions;
  #zones: Promise<string[]> | undefined;

  constructor(client: UapiClient, options: CpanelStoreOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The account's zones from DomainInfo::list_domains (not public DNS: split horizon, undelegated zones). */
  zones(options?: StoreCallOptions): Promise<string[]> {
    return underSignals([options?.signal], () => this.#cachedZones(), true);
  }

  #cachedZones(): Promise<string[]> {
    this.#zones ??= this.#listZones().catch((error: unknown) => {
      this.#zones = undefined;
      throw error;
    });
    return this.#zones.then((zones) => [...zones]);
  }

  async refresh(options?: StoreCallOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    this.#zones = undefined;
  }

  async #listZones(): Promise<string[]> {
    const data = await this.#client.call('list zones', 'DomainInfo', 'list_domains');
    const found = new Set<string>();
    if (typeof data === 'object' && data !== null) {
      const fields = data as Record<string, unknown>;
      // Subdomains live inside their parent's zone; addon and parked domains have their own.
      for (const value of [fields.main_domain, fields.addon_domains, fields.parked_domains].flat()) {
        if (typeof value === 'string' && value !== '') found.add(value.toLowerCase().replace(/\.$/, ''));
      }
    }
    return [...found];
  }

  async #read(zone: string, action: string): Promise<ParsedZone> {
    return parseZoneData(zone, await this.#client.call(action, 'DNS', 'parse_zone', [['zone', zone]]), action);
  }

  txtValues(name: string, options?: StoreCallOptions): Promise<string[]> {
    return underSignals(
      [options?.signal],
      async () => {
        const zone = zoneFor(name, await this.zones());
        if (zone === undefined) return [];
        return txtAt(await this.#read(zone, 'read records'), name).map(txtValue);
      },
      true,
    );
  }

  cnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined> {
    return underSignals(
      [options?.signal],
      async () => {
        const zone = zoneFor(name, await this.zones());
        if (zone === undefined) return undefined;
        return cnameAt(await this.#read(zone, 'read records'), name);
      },
      true,
    );
  }

  appendTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    return underSignals(
      [options?.signal],
      () =>
        this.#edit('add record', name, (parsed) =>
          txtAt(parsed, name).some((record) => txtValue(record) === value) ? undefined : [['add', addTxtJson(name, value, this.#options.ttl ?? 300)]],
        ),
      false,
    );
  }

  deleteTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    return underSignals(
      [options?.signal],
      () =>
        this.#edit('remove record', name, (parsed) => {
          const lines = txtAt(parsed, name).filter((record) => txtValue(record) === value);
          if (lines.length === 0) return undefined;
          return lines.map((record, index) => [lines.length === 1 ? 'remove' : `remove-${index}`, String(record.lineIndex)] as const);
        }),
      false,
    );
  }

  /** A, AAAA and CNAME at exactly `name`, read fresh (dynamic DNS through `serve`). */
  async addresses(name: string): Promise<AddressRecords> {
    const zone = zoneFor(name, await this.zones());
    if (zone === undefined) return { a: [], aaaa: [], cname: undefined };
    const parsed = await this.#read(zone, 'read records');
    const at = (type: string): string[] => parsed.records.filter((record) => record.type === type && record.name === name).map((record) => record.data[0] ?? '');
    return { a: at('A'), aaaa: at('AAAA'), cname: cnameAt(parsed, name) };
  }

  /**
   * Leaves exactly `address` as `name`'s `type` records (the name belongs to one serve client):
   * the first such record is edited in place, any others removed, or one is added. One
   * `mass_edit_zone` with the serial lock, as every write here.
   */
  replaceAddress(name: string, type: AddressRecordType, address: string): Promise<void> {
    return this.#edit('set address', name, (parsed) => {
      const existing = parsed.records.filter((record) => record.type === type && record.name === name);
      const [first, ...extra] = existing;
      if (first === undefined) return [['add', addressJson(name, type, address, ADDRESS_TTL_SECONDS)]];
      if (extra.length === 0 && first.data.length === 1 && first.data[0] === address) return undefined;
      return [
        ['edit', addressJson(name, type, address, ADDRESS_TTL_SECONDS, first.lineIndex)] as const,
        ...extra.map((record, index) => [extra.length === 1 ? 'remove' : `remove-${index}`, String(record.lineIndex)] as const),
      ];
    });
  }

  /**
   * Read, decide, write with the serial; again on a stale serial. `change` answers the edit
   * parameters for the zone as read, or undefined when nothing is to be done. Our own hook
   * processes take turns per zone (a file lock), so only foreign editors cause retries.
   */
  async #edit(action: string, name: string, change: (parsed: ParsedZone) => (readonly [string, string])[] | undefined): Promise<void> {
    const zone = zoneFor(name, await this.zones());
    if (zone === undefined) {
      throw new MiabDns01Error('zone-not-found', `cpanel: ${action}: ${name} is in none of the account's zones (${(await this.zones()).join(', ') || 'none'}); check CPANEL_USERNAME and the domain`);
    }
    const maxAttempts = this.#options.maxAttempts ?? 5;
    await withLock(
      this.#client.paths.zoneLock(zone),
      async () => {
        const isStaleSerial = (error: unknown): boolean => error instanceof UapiCallError && error.uapiErrors.some((text) => STALE_SERIAL.test(text));
        try {
          await withRetries(
            async () => {
              const parsed = await this.#read(zone, action);
              const params = change(parsed);
              if (params === undefined) return;
              await this.#client.call(action, 'DNS', 'mass_edit_zone', [['zone', zone], ['serial', parsed.serial], ...params]);
            },
            {
              // A foreign editor's change takes milliseconds: short back-offs, a bounded count.
              policy: { retries: maxAttempts - 1, minTimeoutMs: 50, maxTimeoutMs: 400, maxRetryTimeMs: Number.POSITIVE_INFINITY },
              isTransient: isStaleSerial,
              what: `cpanel: ${action}: the zone ${zone} changed between our read and write; reading it again`,
              log: this.#options.log,
              signal: this.#options.signal,
            },
          );
        } catch (error) {
          if (!isStaleSerial(error)) throw error;
          throw new MiabDns01Error(
            'box-rejected',
            `cpanel: ${action}: the zone ${zone} changed under us ${maxAttempts} times in a row (its serial moved between each read and write: another editor is busy); nothing was changed for ${name}, try again later`,
          );
        }
      },
      { ...(this.#options.signal ? { signal: this.#options.signal } : {}) },
    );
  }
}
