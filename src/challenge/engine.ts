/**
 * The shared challenge engine every entry point uses: resolve where a challenge record goes,
 * journal it, write exactly one value, wait for a whole batch, and take back exactly what
 * this process wrote. Entry points (CLI, hooks, ACME driver) never talk to the box directly.
 */
import { ConfigError } from '../errors.js';
import type { Journal, JournalEntry } from '../records/journal.js';
import type { TxtRecordStore } from '../records/store.js';
import type { Logger } from '../util/log.js';
import { findZone, normalizeDomain, parseChallengeName, validateTxtValue } from './names.js';

/** Where a challenge record lives once CNAME delegation is followed. */
export interface ChallengeTarget {
  /** The name as the user gave it, normalized (`_acme-challenge.example.com`). */
  readonly requestedName: string;
  /** Where the TXT record is written: the requested name, or its CNAME target. */
  readonly fqdn: string;
  /** The box zone holding `fqdn`. */
  readonly zone: string;
}

export interface ChallengeRecord extends ChallengeTarget {
  readonly value: string;
}

/** Waits until every authoritative nameserver serves every record (see propagation/). */
export type RecordsWaiter = (records: readonly ChallengeRecord[], signal?: AbortSignal) => Promise<void>;

export interface ChallengeEngineOptions {
  readonly store: TxtRecordStore;
  readonly journal: Journal;
  /** Identifies the box in journal entries. */
  readonly apiUrl: string;
  readonly waitForRecords: RecordsWaiter;
  readonly log: Logger;
  /** The process that owns our records (for hooks, the ACME client). @default process.ppid */
  readonly ownerPid?: number;
}

const MAX_CNAME_HOPS = 4;

export class ChallengeEngine {
  readonly #options: ChallengeEngineOptions;
  /** Records this process wrote and has not removed: what a signal handler must take back. */
  readonly #written = new Map<string, ChallengeRecord>();

  constructor(options: ChallengeEngineOptions) {
    this.#options = options;
  }

  get pendingWrites(): readonly ChallengeRecord[] {
    return [...this.#written.values()];
  }

  /**
   * Finds the box zone and follows a CNAME at the challenge name into another box zone.
   * `exact`: `name` is the record name itself (Greenlock's `dnsHost`), not a domain to prefix
   * with `_acme-challenge.`.
   */
  async resolve(name: string, options: NameOptions = {}): Promise<ChallengeTarget> {
    const requestedName = recordName(name, options);
    let zones = await this.#options.store.zones();
    if (findZone(requestedName, zones) === undefined && this.#options.store.refresh !== undefined) {
      // The zone list may come from a snapshot older than a zone just added on the box.
      await this.#options.store.refresh();
      zones = await this.#options.store.zones();
    }
    const zoneOf = (fqdn: string): string => {
      const zone = findZone(fqdn, zones);
      if (zone === undefined) {
        throw new ConfigError(
          'zone-not-found',
          `${fqdn} is not in any zone of this box; the box serves: ${zones.length > 0 ? zones.join(', ') : '(no zones)'}. Use a name under one of them, or a CNAME from _acme-challenge.<name> into one`,
        );
      }
      return zone;
    };
    let fqdn = requestedName;
    let zone = zoneOf(fqdn);
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const target = await this.#options.store.cnameTarget(fqdn);
      if (target === undefined) return { requestedName, fqdn, zone };
      const targetZone = findZone(target, zones);
      if (targetZone === undefined) {
        throw new ConfigError(
          'cname-conflict',
          `${fqdn} is a CNAME to ${target}, which is not in any zone of this box, and a TXT record beside a CNAME would make the box's nameserver drop the whole zone ${zone}. Remove the CNAME on the box, or point it into one of: ${zones.join(', ')}`,
        );
      }
      this.#options.log.debug(`${fqdn} is delegated by CNAME to ${target}`);
      fqdn = target;
      zone = targetZone;
    }
    throw new ConfigError('cname-conflict', `${requestedName} leads through more than ${MAX_CNAME_HOPS} CNAMEs; point _acme-challenge CNAMEs directly at the target name`);
  }

  /** Validates everything a batch needs before the first write, so bad input changes nothing. */
  async prepare(records: readonly { readonly name: string; readonly value: string }[], options: NameOptions = {}): Promise<ChallengeRecord[]> {
    for (const record of records) {
      validateTxtValue(record.value);
      recordName(record.name, options);
    }
    const prepared: ChallengeRecord[] = [];
    for (const record of records) prepared.push({ ...(await this.resolve(record.name, options)), value: record.value });
    return prepared;
  }

  /** Journals, then appends one TXT value. Never touches other values at the name. */
  async write(record: ChallengeRecord): Promise<void> {
    const { journal, apiUrl, store, log } = this.#options;
    const entry: JournalEntry = {
      apiUrl,
      requestedName: record.requestedName,
      fqdn: record.fqdn,
      zone: record.zone,
      value: record.value,
      pid: process.pid,
      ownerPid: this.#options.ownerPid ?? process.ppid,
      createdAt: new Date().toISOString(),
    };
    await journal.add(entry);
    this.#written.set(keyOf(record), record);
    await store.appendTxt(record.fqdn, record.value);
    log.info(`added TXT ${record.fqdn} ${describeValue(record.value)} (zone ${record.zone})`);
  }

  /**
   * Writes every record, then waits once for the whole batch. When anything fails after the
   * first write, removes what was written before rethrowing: a failed present leaves nothing.
   */
  async present(records: readonly { readonly name: string; readonly value: string }[], options: NameOptions & { readonly wait: boolean; readonly signal?: AbortSignal }): Promise<ChallengeRecord[]> {
    const prepared = await this.prepare(records, options);
    try {
      for (const record of prepared) {
        options.signal?.throwIfAborted();
        await this.write(record);
      }
      if (options.wait) await this.#options.waitForRecords(prepared, options.signal);
    } catch (error) {
      await this.removeWritten();
      throw error;
    }
    // Present succeeded: from here the records belong to the ACME flow, not to this process.
    for (const record of prepared) this.#written.delete(keyOf(record));
    return prepared;
  }

  /** Waits for records written earlier (by this or another process). */
  async wait(records: readonly ChallengeRecord[], signal?: AbortSignal): Promise<void> {
    await this.#options.waitForRecords(records, signal);
  }

  /** Removes one value. Uses the journal to find where it went, asking the box only if needed. */
  async cleanup(name: string, value: string, options: NameOptions = {}): Promise<ChallengeRecord> {
    validateTxtValue(value);
    const requestedName = recordName(name, options);
    const { journal, apiUrl } = this.#options;
    const journaled = (await journal.list(apiUrl)).find((entry) => entry.value === value && (entry.requestedName === requestedName || entry.fqdn === requestedName));
    const record: ChallengeRecord = journaled ?? { ...(await this.resolve(name, options)), value };
    await this.remove(record);
    return record;
  }

  /** Deletes exactly this value and its journal entry. */
  async remove(record: ChallengeRecord): Promise<void> {
    await this.#options.store.deleteTxt(record.fqdn, record.value);
    await this.#options.journal.remove({ apiUrl: this.#options.apiUrl, fqdn: record.fqdn, value: record.value });
    this.#written.delete(keyOf(record));
    this.#options.log.info(`removed TXT ${record.fqdn} ${describeValue(record.value)}`);
  }

  /** Takes back everything this process wrote and still owns (on failure or on a signal). */
  async removeWritten(): Promise<void> {
    for (const record of this.pendingWrites) {
      try {
        await this.remove(record);
      } catch (error) {
        this.#options.log.warn(`could not remove TXT ${record.fqdn}: ${error instanceof Error ? error.message : String(error)}; it stays in the journal for "miab-dns01 cleanup --stale"`);
      }
    }
  }

  /** Every journaled record of this run: written by any process with our owner (e.g. one certbot run). */
  async recordsOfThisRun(): Promise<ChallengeRecord[]> {
    const ownerPid = this.#options.ownerPid ?? process.ppid;
    return (await this.#options.journal.list(this.#options.apiUrl)).filter((entry) => entry.ownerPid === ownerPid);
  }
}

export interface NameOptions {
  /** The name is the exact record name, not a domain. @default false */
  readonly exact?: boolean;
}

function recordName(name: string, options: NameOptions): string {
  return options.exact === true ? normalizeDomain(name) : parseChallengeName(name).fqdn;
}

/** Enough of a value to tell the two records of a wildcard + apex pair apart in a log. */
function describeValue(value: string): string {
  return `"${value.length > 12 ? `${value.slice(0, 10)}...` : value}"`;
}

function keyOf(record: ChallengeRecord): string {
  return `${record.fqdn}\n${record.value}`;
}
