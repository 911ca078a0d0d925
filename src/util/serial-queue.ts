/**
 * Runs async tasks one at a time, in order. The box serves one request at a time (a single
 * gunicorn worker), so concurrent ACME authorizations queue their writes here.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
