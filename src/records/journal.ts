/**
 * Every record is journaled before it is written and its entry removed after cleanup, so a
 * crash or kill -9 never leaves an untracked record on the box. One file per record: writers
 * in different processes never touch the same file, so no lock is needed.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord, readJsonFile, removeFile, writePrivateFile } from '../state/files.js';
import { isProcessAlive } from '../state/processes.js';

export interface JournalEntry {
  /**
   * The provider identity (`DnsProvider.identity`) of the account the record was written to:
   * for Mail-in-a-Box its admin API URL (hence the field's name, kept for existing journals),
   * for cPanel `cpanel:<user>@<server>`. Entries of one account are never handled by another.
   */
  readonly apiUrl: string;
  /** Name the user asked for (before CNAME delegation). */
  readonly requestedName: string;
  /** Name the TXT record was written at. */
  readonly fqdn: string;
  readonly zone: string;
  readonly value: string;
  /** The writing process. */
  readonly pid: number;
  /** Its start time (/proc/PID/stat field 22): with the PID, what identifies it. Absent in old entries. */
  readonly startTime?: number;
  /**
   * The ACME client's run the record belongs to (for hooks the ACME client, for a command run
   * by a script that script). Absent when there is none (a command typed in a shell): then
   * the record is in use only while its writer lives.
   */
  readonly ownerPid?: number;
  /** The owner's start time. */
  readonly ownerStartTime?: number;
  /** ISO time the entry was made. */
  readonly createdAt: string;
}

function isJournalEntry(value: unknown): value is JournalEntry {
  return (
    isRecord(value) &&
    typeof value.apiUrl === 'string' &&
    typeof value.fqdn === 'string' &&
    typeof value.zone === 'string' &&
    typeof value.value === 'string' &&
    typeof value.pid === 'number' &&
    (value.ownerPid === undefined || typeof value.ownerPid === 'number') &&
    (value.startTime === undefined || typeof value.startTime === 'number') &&
    (value.ownerStartTime === undefined || typeof value.ownerStartTime === 'number') &&
    typeof value.createdAt === 'string'
  );
}

export class Journal {
  readonly #dir: string;

  constructor(stateDir: string) {
    this.#dir = join(stateDir, 'journal');
  }

  #path(apiUrl: string, fqdn: string, value: string): string {
    return join(this.#dir, `${createHash('sha256').update(`${apiUrl}\n${fqdn}\n${value}`).digest('hex').slice(0, 32)}.json`);
  }

  async add(entry: JournalEntry): Promise<void> {
    await writePrivateFile(this.#path(entry.apiUrl, entry.fqdn, entry.value), `${JSON.stringify(entry)}\n`);
  }

  async remove(entry: Pick<JournalEntry, 'apiUrl' | 'fqdn' | 'value'>): Promise<void> {
    await removeFile(this.#path(entry.apiUrl, entry.fqdn, entry.value));
  }

  async list(apiUrl?: string): Promise<JournalEntry[]> {
    let files: string[];
    try {
      files = await readdir(this.#dir);
    } catch {
      return [];
    }
    const entries = await Promise.all(files.filter((file) => file.endsWith('.json')).map((file) => readJsonFile(join(this.#dir, file), isJournalEntry)));
    return entries.filter((entry): entry is JournalEntry => entry !== undefined && (apiUrl === undefined || entry.apiUrl === apiUrl));
  }
}

/**
 * Stale: its writer is gone and no live ACME run owns it (exited, zombies, or their PIDs now
 * belong to other processes), or (with `olderThanMs`) the entry is that old.
 */
export function isStale(entry: JournalEntry, now: number, olderThanMs?: number): boolean {
  if (olderThanMs !== undefined && now - Date.parse(entry.createdAt) >= olderThanMs) return true;
  if (isProcessAlive(entry.pid, entry.startTime)) return false;
  return entry.ownerPid === undefined || !isProcessAlive(entry.ownerPid, entry.ownerStartTime);
}
