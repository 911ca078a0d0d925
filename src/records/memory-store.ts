/** A reference record store in memory: for unit tests, and as the conformance baseline. */
import type { ListingTxtRecordStore, StoreCallOptions } from './store.js';

export class MemoryRecordStore implements ListingTxtRecordStore {
  readonly #zones: string[];
  readonly #txt = new Map<string, string[]>();
  readonly #cnames = new Map<string, string>();

  constructor(zones: readonly string[], cnames: Readonly<Record<string, string>> = {}) {
    this.#zones = [...zones];
    for (const [name, target] of Object.entries(cnames)) this.#cnames.set(name, target);
  }

  async zones(options?: StoreCallOptions): Promise<string[]> {
    options?.signal?.throwIfAborted();
    return [...this.#zones];
  }

  async txtValues(name: string, options?: StoreCallOptions): Promise<string[]> {
    options?.signal?.throwIfAborted();
    return [...(this.#txt.get(name) ?? [])];
  }

  async cnameTarget(name: string, options?: StoreCallOptions): Promise<string | undefined> {
    options?.signal?.throwIfAborted();
    return this.#cnames.get(name);
  }

  async appendTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    const values = this.#txt.get(name) ?? [];
    if (!values.includes(value)) this.#txt.set(name, [...values, value]);
  }

  /** Adds (or with `undefined` removes) a CNAME, as a user editing the box mid-run would. */
  setCname(name: string, target: string | undefined): void {
    if (target === undefined) this.#cnames.delete(name);
    else this.#cnames.set(name, target);
  }

  async deleteTxt(name: string, value: string, options?: StoreCallOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    const values = (this.#txt.get(name) ?? []).filter((existing) => existing !== value);
    if (values.length > 0) this.#txt.set(name, values);
    else this.#txt.delete(name);
  }
}
