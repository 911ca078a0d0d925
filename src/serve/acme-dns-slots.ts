/**
 * The acme-dns promises `serve` keeps, persisted so a restart keeps them:
 * - two slots per client and domain (acme-dns keeps them per account): of the values one
 *   client wrote through `/update` for one domain only the newest two stay (a wildcard + apex
 *   pair); its third write evicts its own oldest, never another client's value;
 * - expiry: acme-dns has no delete call, so each value is removed `expireAfterMs` after it
 *   was written, by a sweep that also runs right after start-up.
 * The file is `<MIAB_STATE_DIR>/serve/acme-dns-values.json` (0600).
 */
import { join } from 'node:path';
import type { ChallengeRecord } from '../challenge/engine.js';
import { isRecord, readJsonFile, writePrivateFile } from '../state/files.js';
import { registryDir } from './registry.js';

export const SLOTS_PER_DOMAIN = 2;

export interface SlotEntry {
  readonly client: string;
  readonly domain: string;
  readonly record: ChallengeRecord;
  /** Epoch ms of the write: expiry counts from here. */
  readonly writtenAt: number;
}

function isSlotEntry(value: unknown): value is SlotEntry {
  return (
    isRecord(value) &&
    typeof value.client === 'string' &&
    typeof value.domain === 'string' &&
    typeof value.writtenAt === 'number' &&
    isRecord(value.record) &&
    typeof value.record.fqdn === 'string' &&
    typeof value.record.zone === 'string' &&
    typeof value.record.requestedName === 'string' &&
    typeof value.record.value === 'string'
  );
}

export class AcmeDnsSlots {
  readonly #file: string;
  #entries: SlotEntry[] = [];

  constructor(stateDir: string) {
    this.#file = join(registryDir(stateDir), 'acme-dns-values.json');
  }

  async load(): Promise<void> {
    const stored = await readJsonFile(this.#file, (value): value is unknown[] => Array.isArray(value));
    this.#entries = (stored ?? []).filter(isSlotEntry);
  }

  get entries(): readonly SlotEntry[] {
    return this.#entries;
  }

  /**
   * Notes a write and returns the entries it pushes out of this client's two slots for the
   * domain (oldest first). Writing a value that is already in a slot renews it and evicts nothing.
   */
  add(entry: SlotEntry): SlotEntry[] {
    const slotOf = (other: SlotEntry): boolean => other.client === entry.client && other.domain === entry.domain;
    const same = (other: SlotEntry): boolean => slotOf(other) && other.record.fqdn === entry.record.fqdn && other.record.value === entry.record.value;
    this.#entries = [...this.#entries.filter((other) => !same(other)), entry];
    const ofDomain = this.#entries.filter(slotOf).sort((a, b) => a.writtenAt - b.writtenAt);
    return ofDomain.slice(0, Math.max(0, ofDomain.length - SLOTS_PER_DOMAIN));
  }

  forget(entry: SlotEntry): void {
    this.#entries = this.#entries.filter((other) => other !== entry);
  }

  /** Entries whose time is up at `now`. */
  expired(now: number, expireAfterMs: number): SlotEntry[] {
    return this.#entries.filter((entry) => entry.writtenAt + expireAfterMs <= now);
  }

  /** When the next entry expires (epoch ms), or undefined when there is none. */
  nextExpiry(expireAfterMs: number): number | undefined {
    if (this.#entries.length === 0) return undefined;
    return Math.min(...this.#entries.map((entry) => entry.writtenAt)) + expireAfterMs;
  }

  async save(): Promise<void> {
    await writePrivateFile(this.#file, `${JSON.stringify(this.#entries, null, 2)}\n`);
  }
}
