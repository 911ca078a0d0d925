/**
 * Runs async tasks one at a time, taking turns between keys (clients): each key has its own
 * FIFO and the next task comes from the next key in round-robin order. One client with 150
 * writes queued then delays another client's write by at most one write per waiting client,
 * not by its whole backlog. (The box applies writes one by one, so one at a time overall.)
 */
export class FairQueue {
  readonly #queues = new Map<string, Array<() => Promise<void>>>();
  /** Keys with work, in turn order. */
  readonly #turns: string[] = [];
  #running = false;

  /** Tasks waiting (not running). */
  get waiting(): number {
    let count = 0;
    for (const queue of this.#queues.values()) count += queue.length;
    return count;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queue = this.#queues.get(key);
      const job = (): Promise<void> => task().then(resolve, reject);
      if (queue === undefined) {
        this.#queues.set(key, [job]);
        this.#turns.push(key);
      } else {
        queue.push(job);
      }
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#running) return;
    const key = this.#turns.shift();
    if (key === undefined) return;
    const queue = this.#queues.get(key) ?? [];
    const job = queue.shift();
    if (queue.length === 0) this.#queues.delete(key);
    else this.#turns.push(key);
    if (job === undefined) return this.#pump();
    this.#running = true;
    void job().finally(() => {
      this.#running = false;
      this.#pump();
    });
  }
}

/** How many writes each client has in flight (written or waiting for the nameservers); refuses past `max`. */
export class InFlightLimit {
  readonly #max: number;
  readonly #counts = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Takes a slot for `key`; false when it holds `max` already. Give it back with `end`. */
  begin(key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(key, count + 1);
    return true;
  }

  end(key: string): void {
    const left = (this.#counts.get(key) ?? 1) - 1;
    if (left <= 0) this.#counts.delete(key);
    else this.#counts.set(key, left);
  }
}
