/**
 * The shared challenge engine every entry point uses: resolve where a challenge record goes,
 * journal it, write exactly one value, wait for a whole batch, and take back exactly what
 * this process wrote. Entry points (CLI, hooks, ACME driver) never talk to the box directly.
 *
 * The engine is the one place that owns "undo what this process wrote": `undoOnFailure` runs
 * a step and, whatever it throws (including errors thrown outside any promise by a lower layer,
 * which would otherwise kill the process), removes every record this process wrote and still
 * owns before passing the error on.
 */
import { ConfigError, MiabDns01Error, unsafeToDeleteOf, type UnsafeToDelete } from '../errors.js';
import { processIdentity } from '../state/processes.js';
import type { Journal, JournalEntry } from '../records/journal.js';
import { canListTxt, type TxtRecordStore } from '../records/store.js';
import type { Logger } from '../util/log.js';
import { findZone, normalizeDomain, parseChallengeName, validateTxtValue } from './names.js';

/** One record to present: a domain or challenge name (or, with `exactName`, the record name itself) and its value. */
export interface ChallengeInput {
  readonly name: string;
  readonly value: string;
  /**
   * `name` is the exact name of the TXT record (lego's default exec mode, acme.sh's fulldomain):
   * used as it is, without adding `_acme-challenge.`. @default false
   */
  readonly exactName?: boolean;
}

/** What `cleanup` found: the record, and whether a value was there to remove. */
export interface CleanupResult extends ChallengeRecord {
  readonly removed: boolean;
}

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
  /** The provider identity (`DnsProvider.identity`; for Mail-in-a-Box the admin API URL): keys the journal entries. */
  readonly apiUrl: string;
  /** How messages name the DNS host (`DnsProvider.hostLabel`). @default 'DNS host' */
  readonly host?: string;
  readonly waitForRecords: RecordsWaiter;
  readonly log: Logger;
  /**
   * The ACME client's run that owns our records (for hooks, the ACME client). Absent when
   * there is none (a command typed in a shell): the records are ours alone.
   */
  readonly ownerPid?: number;
}

const MAX_CNAME_HOPS = 4;

export class ChallengeEngine {
  readonly #options: ChallengeEngineOptions;
  readonly #host: string;
  /** Records this process wrote and has not removed: what a signal handler must take back. */
  readonly #written = new Map<string, ChallengeRecord>();

  constructor(options: ChallengeEngineOptions) {
    this.#options = options;
    this.#host = options.host ?? 'DNS host';
  }

  get pendingWrites(): readonly ChallengeRecord[] {
    return [...this.#written.values()];
  }

  /**
   * Finds the box zone and follows a CNAME at the challenge name into another box zone. The
   * CNAMEs may come from the run's snapshot; `write` checks the final name afresh.
   */
  async resolve(name: string, options: { readonly exactName?: boolean } = {}): Promise<ChallengeTarget> {
    const requestedName = recordName(name, options.exactName);
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
          `${fqdn} is not in any zone of this ${this.#host}; the ${this.#host} serves: ${zones.length > 0 ? zones.join(', ') : '(no zones)'}. Use a name under one of them, or a CNAME from _acme-challenge.<name> into one`,
        );
      }
      return zone;
    };
    let fqdn = requestedName;
    let zone = zoneOf(fqdn);
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const { store } = this.#options;
      const target = await (store.cachedCnameTarget ?? store.cnameTarget).call(store, fqdn);
      if (target === undefined) return { requestedName, fqdn, zone };
      const targetZone = findZone(target, zones);
      if (targetZone === undefined) {
        throw new ConfigError(
          'cname-conflict',
          `${fqdn} is a CNAME to ${target}, which is not in any zone of this ${this.#host}, and a TXT record beside a CNAME would make the ${this.#host}'s nameserver drop the whole zone ${zone}. Remove the CNAME on the ${this.#host}, or point it into one of: ${zones.join(', ')}`,
        );
      }
      this.#options.log.debug(`${fqdn} is delegated by CNAME to ${target}`);
      fqdn = target;
      zone = targetZone;
    }
    throw new ConfigError('cname-conflict', `${requestedName} leads through more than ${MAX_CNAME_HOPS} CNAMEs; point _acme-challenge CNAMEs directly at the target name`);
  }

  /** Validates everything a batch needs before the first write, so bad input changes nothing. */
  async prepare(records: readonly ChallengeInput[]): Promise<ChallengeRecord[]> {
    for (const record of records) {
      validateTxtValue(record.value);
      recordName(record.name, record.exactName);
    }
    const prepared: ChallengeRecord[] = [];
    for (const record of records) prepared.push({ ...(await this.resolve(record.name, { exactName: record.exactName })), value: record.value });
    return prepared;
  }

  /**
   * Checks afresh that no CNAME sits at the name, journals, then appends one TXT value. Never
   * touches other values at the name.
   */
  async write(record: ChallengeRecord): Promise<void> {
    const { journal, apiUrl, store, log } = this.#options;
    // Fresh at the moment of the write: a CNAME added since the run's snapshot (or since
    // resolve) must never get a TXT beside it, or the nameserver drops the whole zone.
    const cname = await store.cnameTarget(record.fqdn);
    if (cname !== undefined) {
      throw new ConfigError(
        'cname-conflict',
        `${record.fqdn} is now a CNAME to ${cname} (added after this run looked), and a TXT record beside a CNAME would make the ${this.#host}'s nameserver drop the whole zone ${record.zone}; nothing was written there. Run the ACME client again to follow the CNAME, or remove it on the ${this.#host}`,
      );
    }
    const { ownerPid } = this.#options;
    const self = processIdentity(process.pid);
    const owner = ownerPid === undefined ? undefined : processIdentity(ownerPid);
    const entry: JournalEntry = {
      apiUrl,
      requestedName: record.requestedName,
      fqdn: record.fqdn,
      zone: record.zone,
      value: record.value,
      pid: process.pid,
      ...(self.startTime === undefined ? {} : { startTime: self.startTime }),
      ...(ownerPid === undefined ? {} : { ownerPid }),
      ...(owner?.startTime === undefined ? {} : { ownerStartTime: owner.startTime }),
      createdAt: new Date().toISOString(),
    };
    await journal.add(entry);
    this.#written.set(keyOf(record), record);
    try {
      await store.appendTxt(record.fqdn, record.value);
    } catch (error) {
      if (unsafeToDeleteOf(error) !== undefined) {
        // The host refused the value (or the client did not send it): nothing to take back.
        this.#written.delete(keyOf(record));
        await journal.remove({ apiUrl, fqdn: record.fqdn, value: record.value });
      }
      throw error;
    }
    log.info(`added TXT ${record.fqdn} ${describeValue(record.value)} (zone ${record.zone})`);
  }

  /**
   * Runs `work`; if it fails in any way after a write (an error of ours or not, a rejection, or
   * an exception thrown outside any promise while it runs), removes every record this process
   * wrote and still owns, then rethrows. `work` gets a signal that is aborted when that happens,
   * so it stops too. `undo` replaces the removal when the caller keeps its own account of what
   * it published (the ACME driver, whose writes may still be landing): then it is the one undo.
   */
  async undoOnFailure<T>(work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal, undo: () => Promise<UndoOutcome> = () => this.removeWritten()): Promise<T> {
    const controller = new AbortController();
    const stop = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    let crash: (error: unknown) => void = () => undefined;
    const crashed = new Promise<never>((_resolve, reject) => {
      crash = (error) => {
        controller.abort(error);
        reject(error);
      };
    });
    crashed.catch(() => undefined);
    // An exception thrown in a callback of a lower layer (a socket, a timer) never reaches our
    // catch and would end the process with the record still on the box: take it here instead.
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
    try {
      return await Promise.race([work(controller.signal), crashed]);
    } catch (error) {
      controller.abort(error);
      const outcome = await undo();
      // A signal's message is made when it arrives; only now is it known what the undo did.
      const interruption = signal?.aborted ? signal.reason : error;
      if (interruption instanceof MiabDns01Error && interruption.code === 'interrupted') {
        throw new MiabDns01Error('interrupted', `${interruption.message}; ${describeUndo(outcome)}`, { exitCode: interruption.exitCode, cause: error });
      }
      throw error;
    } finally {
      process.off('uncaughtException', crash);
      process.off('unhandledRejection', crash);
      signal?.removeEventListener('abort', stop);
    }
  }

  /**
   * Writes every record, then waits once for the whole batch. When anything fails after the
   * first write, removes what was written before rethrowing: a failed present leaves nothing.
   */
  async present(records: readonly ChallengeInput[], options: { readonly wait: boolean; readonly signal?: AbortSignal }): Promise<ChallengeRecord[]> {
    const prepared = await this.prepare(records);
    await this.undoOnFailure(async (signal) => {
      for (const record of prepared) {
        signal.throwIfAborted();
        await this.write(record);
      }
      if (options.wait) await this.#options.waitForRecords(prepared, signal);
    }, options.signal);
    // Present succeeded: from here the records belong to the ACME flow, not to this process.
    for (const record of prepared) this.#written.delete(keyOf(record));
    return prepared;
  }

  /** Waits for records written earlier (by this or another process). */
  async wait(records: readonly ChallengeRecord[], signal?: AbortSignal): Promise<void> {
    await this.#options.waitForRecords(records, signal);
  }

  /**
   * Waits for records of this run written by earlier processes (certbot's last auth call), and
   * takes them back if the wait fails: the ACME client would answer the challenges anyway.
   */
  async waitOrRemove(records: readonly ChallengeRecord[], signal?: AbortSignal): Promise<void> {
    for (const record of records) this.#written.set(keyOf(record), record);
    await this.undoOnFailure((stop) => this.#options.waitForRecords(records, stop), signal);
    for (const record of records) this.#written.delete(keyOf(record));
  }

  /** Removes one value. Uses the journal to find where it went, asking the box only if needed. */
  async cleanup(name: string, value: string, options: { readonly exactName?: boolean } = {}): Promise<CleanupResult> {
    validateTxtValue(value);
    const requestedName = recordName(name, options.exactName);
    const { journal, apiUrl, store, log } = this.#options;
    const journaled = (await journal.list(apiUrl)).find((entry) => entry.value === value && (entry.requestedName === requestedName || entry.fqdn === requestedName));
    if (journaled !== undefined) return { ...journaled, removed: await this.remove(journaled) };
    // Not ours (or cleaned up already): say so rather than "removed" when it is not there.
    const record: ChallengeRecord = { ...(await this.resolve(name, options)), value };
    if (!canListTxt(store)) {
      // Deleting a missing value changes nothing (store.ts), so removing it unseen is safe.
      log.info(`cannot verify that TXT ${record.fqdn} ${describeValue(value)} is there (the ${this.#host} offers no way to read TXT values); removing it anyway`);
      return { ...record, removed: await this.remove(record) };
    }
    if (!(await store.txtValues(record.fqdn)).includes(value)) {
      log.info(`TXT ${record.fqdn} ${describeValue(value)} was not there; nothing to remove`);
      return { ...record, removed: false };
    }
    return { ...record, removed: await this.remove(record) };
  }

  /**
   * Deletes exactly this value and its journal entry. When the box answers the DELETE with an
   * error, reads the name back: the box may have removed it anyway (a 500 after saving, a 504).
   * Returns whether the value was there (false when the box said it was already gone).
   */
  async remove(record: ChallengeRecord): Promise<boolean> {
    const { store, journal, apiUrl, log } = this.#options;
    try {
      await store.deleteTxt(record.fqdn, record.value);
    } catch (error) {
      // Cannot verify (a store that cannot list values, or a failed read): assume it is still there.
      const stillThere = !canListTxt(store)
        ? true
        : await store.txtValues(record.fqdn).then(
            (values) => values.includes(record.value),
            () => true,
          );
      if (stillThere) throw error;
      if (unsafeToDeleteOf(error) !== undefined) log.info(`TXT ${record.fqdn} ${describeValue(record.value)} is not on the ${this.#host}; nothing to remove`);
      else log.info(`the ${this.#host} answered the removal of TXT ${record.fqdn} with an error (${error instanceof Error ? error.message : String(error)}), but the record is gone`);
    }
    await journal.remove({ apiUrl, fqdn: record.fqdn, value: record.value });
    this.#written.delete(keyOf(record));
    log.info(`removed TXT ${record.fqdn} ${describeValue(record.value)}`);
    return true;
  }

  /** Takes back everything this process wrote and still owns (on failure or on a signal). */
  async removeWritten(): Promise<UndoOutcome> {
    // Left because the provider says a DELETE would wipe their names (e.g. the fork's dialect).
    const unsafe: ChallengeRecord[] = [];
    let why: UnsafeToDelete | undefined;
    const pending = this.pendingWrites;
    const left: ChallengeRecord[] = [];
    for (const record of pending) {
      try {
        await this.remove(record);
      } catch (error) {
        left.push(record);
        const statement = unsafeToDeleteOf(error);
        if (statement !== undefined) {
          unsafe.push(record);
          why ??= statement;
        }
        else this.#options.log.warn(`could not remove TXT ${record.fqdn}: ${error instanceof Error ? error.message : String(error)}; it stays in the journal for "miab-dns01 cleanup --stale"`);
      }
    }
    if (why !== undefined) {
      this.#options.log.warn(
        `could not undo safely: ${why.reason}, so no DELETE was sent. Left on the ${this.#host} and in the journal: ${unsafe.map((record) => `TXT ${record.fqdn} ${describeValue(record.value)}`).join(', ')}. ${why.fix.replace(/\.$/, '')}, then run "miab-dns01 cleanup --stale"`,
      );
    }
    return { written: pending.length, left };
  }

  /** Every journaled record of this run: written by any process with our owner (e.g. one certbot run). */
  async recordsOfThisRun(): Promise<ChallengeRecord[]> {
    if (this.#options.ownerPid === undefined) return [];
    const owner = processIdentity(this.#options.ownerPid);
    return (await this.#options.journal.list(this.#options.apiUrl)).filter(
      // The same PID with another start time is an earlier process that had our owner's PID.
      (entry) => entry.ownerPid === owner.pid && (entry.ownerStartTime === undefined || owner.startTime === undefined || entry.ownerStartTime === owner.startTime),
    );
  }
}

/** What taking back this process's records did: how many there were, and those still on the host. */
export interface UndoOutcome {
  readonly written: number;
  readonly left: readonly ChallengeRecord[];
}

/** The end of an interruption's message: what happened to the records this run had written. */
function describeUndo({ written, left }: UndoOutcome): string {
  if (written === 0) return 'this run had no record of its own on the host';
  if (left.length === 0) return written === 1 ? 'removed the record this run had written' : `removed the ${written} records this run had written`;
  const names = left.map((record) => `TXT ${record.fqdn} ${describeValue(record.value)}`).join(', ');
  const removed = written - left.length;
  return `${removed === 0 ? 'removed none' : `removed ${removed}`} of the ${written} record(s) this run had written; left on the host and in the journal: ${names} (run "miab-dns01 cleanup --stale")`;
}


/** Enough of a value to tell the two records of a wildcard + apex pair apart in a log. */
function describeValue(value: string): string {
  return `"${value.length > 12 ? `${value.slice(0, 10)}...` : value}"`;
}

/** The TXT record's name: the challenge name of a domain, or `name` itself when it is exact. */
function recordName(name: string, exactName = false): string {
  return exactName ? normalizeDomain(name) : parseChallengeName(name).fqdn;
}

function keyOf(record: ChallengeRecord): string {
  return `${record.fqdn}\n${record.value}`;
}
