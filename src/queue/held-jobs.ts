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
  /** They wait out a backoff (the worker's timer runs). */
  #waiting = false;
  /** Jobs were held while none was: their first wait starts after the call. */
  #firstHeld = false;

  get size(): number {
    return this.#ids.size;
  }

  get failures(): number {
    return this.#failures;
  }

  /** They may go with the next call. */
  get due(): boolean {
    return !this.#waiting && this.#ids.size > 0;
  }

  has(id: number): boolean {
    return this.#ids.has(id);
  }

  /** Holds jobs that failed, behind the others held, so those are tried first next time. */
  hold(ids: readonly number[]): void {
    if (ids.length === 0) return;
    if (this.#ids.size === 0 && !this.#waiting) this.#firstHeld = true;
    const moving = new Set(ids);
    this.#order = this.#order.filter((id) => !moving.has(id) && this.#ids.has(id));
    for (const id of moving) {
      this.#ids.add(id);
      this.#order.push(id);
    }
  }

  /** The job left the lane (delivered, dead-lettered, dropped). */
  forget(id: number): void {
    if (!this.#ids.delete(id)) return;
    if (this.#ids.size === 0) {
      this.#order = [];
      this.#failures = 0;
    }
  }

  /**
   * The job went on as another one, with the targets a call left of it: that one is held in its
   * place, and the wait and its count go on as they were (forgetting the last held job would start
   * them afresh).
   */
  replace(id: number, by: number): void {
    if (!this.#ids.delete(id)) return;
    this.#ids.add(by);
    const at = this.#order.indexOf(id);
    if (at === -1) this.#order.push(by);
    else this.#order[at] = by;
  }

  /** The held jobs in the order they go, the least recently tried first. */
  ids(): readonly number[] {
    // Forgotten ones leave the order lazily: a delivered batch forgets each of its jobs.
    if (this.#order.length > this.#ids.size) this.#order = this.#order.filter((id) => this.#ids.has(id));
    return this.#order;
  }

  /**
   * A call ended: `tried`, held jobs went with it, and `wentThrough`, one of them went through.
   * Returns the failure count of a wait to start, or undefined when none starts: one of them went
   * through, or jobs held meanwhile join the held ones as they are, waiting or due, rather than put
   * off the others' next try.
   */
  afterCall(tried: boolean, wentThrough: boolean): number | undefined {
    const first = this.#firstHeld;
    this.#firstHeld = false;
    if (tried && wentThrough) this.#failures = 0;
    if (!(tried && !wentThrough) && !first) return undefined;
    if (this.#ids.size === 0) return undefined;
    this.#failures++;
    this.#waiting = true;
    return this.#failures;
  }

  /** Their wait is over. */
  becameDue(): void {
    this.#waiting = false;
  }

  /** They go with the next call, counting afresh (a new backend: nothing they failed says anything of it). */
  retryNow(): void {
    this.#failures = 0;
    this.#waiting = false;
  }
}
