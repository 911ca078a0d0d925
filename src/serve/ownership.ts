/**
 * Which TXT values each client wrote through `serve`, per client and record name, so that a
 * client removes only what it wrote: never a value another system put at the name, never
 * another client's value where two clients share a domain. Every front-end (acme-dns, httpreq,
 * RFC 2136, dyndns) records its writes here and asks before it deletes.
 *
 * Persisted in `<MIAB_STATE_DIR>/serve/owned-values.json` (0600): a value written before a
 * restart of `serve` can still be cleaned up by its client afterwards. Saves are serialized;
 * every change is saved before the caller's promise resolves.
 *
 * `fqdn` is the name `serve` was asked to write for the client's domain
 * (`writeNameOf(client, domain)`): lower-case, no trailing dot (normalized here anyway).
 */
import { join } from 'node:path';
import { isRecord, readJsonFile, writePrivateFile } from '../state/files.js';
import { SerialQueue } from '../util/serial-queue.js';
import { registryDir } from './registry.js';

export interface OwnedValue {
  readonly client: string;
  readonly fqdn: string;
  readonly value: string;
  /** Epoch ms of the (latest) write. */
  readonly writtenAt: number;
}

interface OwnershipFile {
  readonly version: 1;
  readonly values: readonly OwnedValue[];
}

function isOwnedValue(value: unknown): value is OwnedValue {
  return isRecord(value) && typeof value.client === 'string' && typeof value.fqdn === 'string' && typeof value.value === 'string' && typeof value.writtenAt === 'number';
}

function isOwnershipFile(value: unknown): value is OwnershipFile {
  return isRecord(value) && value.version === 1 && Array.isArray(value.values);
}

function normalize(fqdn: string): string {
  return fqdn.toLowerCase().replace(/\.$/, '');
}

function keyOf(client: string, fqdn: string): string {
  return `${client}\u0000${normalize(fqdn)}`;
}

export class WriteOwnership {
  readonly #file: string | undefined;
  readonly #now: () => number;
  /** client + fqdn -> value -> writtenAt */
  readonly #byClientName = new Map<string, Map<string, number>>();
  readonly #saves = new SerialQueue();

  /** @param stateDir undefined: in memory only (tests, or a front-end that must not persist). */
  constructor(stateDir: string | undefined, options: { now?: () => number } = {}) {
    this.#file = stateDir === undefined ? undefined : join(registryDir(stateDir), 'owned-values.json');
    this.#now = options.now ?? Date.now;
  }

  async load(): Promise<void> {
    if (this.#file === undefined) return;
    const stored = await readJsonFile(this.#file, isOwnershipFile);
    this.#byClientName.clear();
    for (const entry of (stored?.values ?? []).filter(isOwnedValue)) this.#set(entry.client, entry.fqdn, entry.value, entry.writtenAt);
  }

  /** Notes that `client` wrote `value` at `fqdn` (again: renews the time). Saved before it resolves. */
  async recordWrite(client: string, fqdn: string, value: string): Promise<void> {
    this.#set(client, fqdn, value, this.#now());
    await this.#save();
  }

  /** Whether `client` wrote `value` at `fqdn` through serve and has not removed it since. */
  ownsValue(client: string, fqdn: string, value: string): boolean {
    return this.#byClientName.get(keyOf(client, fqdn))?.has(value) ?? false;
  }

  /** Drops the claim of `client` on `value` at `fqdn`; true when there was one. Saved before it resolves. */
  async forgetWrite(client: string, fqdn: string, value: string): Promise<boolean> {
    const key = keyOf(client, fqdn);
    const values = this.#byClientName.get(key);
    if (values?.delete(value) !== true) return false;
    if (values.size === 0) this.#byClientName.delete(key);
    await this.#save();
    return true;
  }

  /** The values `client` wrote at `fqdn` and still owns, oldest first. */
  valuesOwnedBy(client: string, fqdn: string): string[] {
    const values = this.#byClientName.get(keyOf(client, fqdn));
    return values === undefined ? [] : [...values.entries()].sort((a, b) => a[1] - b[1]).map(([value]) => value);
  }

  /** The oldest value `client` still owns at `fqdn`, with its write time. */
  oldestOwnedBy(client: string, fqdn: string): { value: string; writtenAt: number } | undefined {
    const values = this.#byClientName.get(keyOf(client, fqdn));
    if (values === undefined) return undefined;
    let oldest: { value: string; writtenAt: number } | undefined;
    for (const [value, writtenAt] of values) if (oldest === undefined || writtenAt < oldest.writtenAt) oldest = { value, writtenAt };
    return oldest;
  }

  /** The clients other than `client` that also own `value` at `fqdn` (a shared domain): then the value must stay on the box. */
  otherOwners(client: string, fqdn: string, value: string): string[] {
    const name = normalize(fqdn);
    const owners: string[] = [];
    for (const [key, values] of this.#byClientName) {
      const [owner, ownedName] = key.split('\u0000') as [string, string];
      if (owner !== client && ownedName === name && values.has(value)) owners.push(owner);
    }
    return owners;
  }

  /** Everything recorded (for `clients remove` clean-up, diagnostics and tests). */
  entries(): OwnedValue[] {
    const out: OwnedValue[] = [];
    for (const [key, values] of this.#byClientName) {
      const [client, fqdn] = key.split('\u0000') as [string, string];
      for (const [value, writtenAt] of values) out.push({ client, fqdn, value, writtenAt });
    }
    return out;
  }

  #set(client: string, fqdn: string, value: string, writtenAt: number): void {
    const key = keyOf(client, fqdn);
    let values = this.#byClientName.get(key);
    if (values === undefined) this.#byClientName.set(key, (values = new Map()));
    values.delete(value);
    values.set(value, writtenAt);
  }

  #save(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return Promise.resolve();
    // The snapshot is taken when the save runs: a burst of changes costs one write each, in order.
    return this.#saves.run(() => writePrivateFile(file, `${JSON.stringify({ version: 1, values: this.entries() } satisfies OwnershipFile)}\n`));
  }
}
