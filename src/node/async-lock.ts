/**
 * Runs asynchronous sections one at a time, in call order: the chain's ledger (log, state tree,
 * pending node batches) is one mutable structure, and proposal building, validation, commits
 * and reads must not interleave inside it.
 * @module
 */
export class AsyncLock {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  /** Sections queued or running (a gauge for metrics). */
  get waiting(): number {
    return this.#waiting;
  }

  run<Result>(section: () => Promise<Result> | Result): Promise<Result> {
    this.#waiting++;
    const result = this.#tail.then(section);
    // The chain continues after a failed section; the caller sees the failure.
    this.#tail = result.then(
      () => {
        this.#waiting--;
      },
      () => {
        this.#waiting--;
      },
    );
    return result;
  }
}
