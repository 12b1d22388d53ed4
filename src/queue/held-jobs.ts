/**
 * The jobs of a lane that failed for themselves: a name an HTTP API keeps failing (a 500 for that
 * record alone) while it takes the others (backends/target-failures.ts). Retried with the lane's
 * other jobs they would fail every call, and put back at the lane's front they would go first
 * again, so they wait here, apart, and go at the end of a call, after what is new. They go all
 * together, on a backoff of their own that grows with each try none of them went through: an API
 * that fails every name gets one try per wait, however many are held, and the lane goes on with
 * new unlists meanwhile. Pure code: the worker keeps the timer.
 */
export class HeldJobs {
  /** Held job ids, the least recently tried first. */
  #order: number[] = [];
  readonly #ids = new Set<number>();
  /** Tries in a row that none of the held jobs went through. */
  #failures = 0;
  /** They may go with the next call; false while they wait. */
  #due = false;

  get size(): number {
    return this.#ids.size;
  }

  get failures(): number {
    return this.#failures;
  }

  get due(): boolean {
    return this.#due && this.#ids.size > 0;
  }

  has(id: number): boolean {
    return this.#ids.has(id);
  }

  /** Holds jobs that failed for themselves, behind the others held, so those are tried first next time. */
  hold(ids: readonly number[]): void {
    for (const id of ids) this.#remove(id);
    for (const id of ids) {
      this.#ids.add(id);
      this.#order.push(id);
    }
  }

  /** The job left the lane (delivered, dead-lettered, dropped). */
  forget(id: number): void {
    this.#remove(id);
  }

  /** The held jobs in the order they go, the least recently tried first. */
  ids(): readonly number[] {
    return this.#order;
  }

  /**
   * A call with held jobs ended, or new ones were held: `wentThrough` says whether any held job
   * of the call went through. Returns the failure count to wait for, or undefined when they stay due.
   */
  tried(wentThrough: boolean, newlyHeld: boolean): number | undefined {
    if (wentThrough) this.#failures = 0;
    if (wentThrough && !newlyHeld) return undefined;
    this.#failures++;
    this.#due = false;
    return this.#failures;
  }

  /** Their wait is over. */
  becameDue(): void {
    this.#due = true;
  }

  /** Empties the list (a new backend: nothing they failed says anything of it); returns the ids. */
  release(): number[] {
    const ids = this.#order;
    this.#order = [];
    this.#ids.clear();
    this.#failures = 0;
    this.#due = false;
    return ids;
  }

  #remove(id: number): void {
    if (!this.#ids.delete(id)) return;
    const at = this.#order.indexOf(id);
    if (at !== -1) this.#order.splice(at, 1);
  }
}
