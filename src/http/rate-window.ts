/**
 * Rates over the last minute for `rbl-unlist status`: packets, events and unlists per second,
 * counted in one-second buckets of a ring, so recording is O(1) and the memory fixed. Pure code.
 */

/** What the window counts. */
export type RateKind = 'packets' | 'events' | 'unlists';

const KINDS: readonly RateKind[] = ['packets', 'events', 'unlists'];

/** Per-second counts of the last `seconds` seconds, per kind. */
export class RateWindow {
  readonly seconds: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #buckets: Map<RateKind, Float64Array>;
  /** The second (since the epoch) each bucket slot holds; a stale slot is cleared before reuse. */
  readonly #slotSecond: Float64Array;

  constructor(seconds = 60, now: () => number = Date.now) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`RateWindow seconds must be a positive integer, got ${seconds}`);
    this.seconds = seconds;
    this.#now = now;
    this.#startedAt = now();
    this.#buckets = new Map(KINDS.map((kind) => [kind, new Float64Array(seconds)]));
    this.#slotSecond = new Float64Array(seconds).fill(-1);
  }

  /** Counts `count` of a kind now. */
  record(kind: RateKind, count = 1): void {
    const slot = this.#slot(Math.floor(this.#now() / 1000));
    this.#buckets.get(kind)![slot]! += count;
  }

  /**
   * The mean per second over the window; while the process is younger than the window, over its
   * age (at least one second), so a fresh start does not report a sixtieth of the real rate.
   */
  perSecond(kind: RateKind): number {
    const nowMs = this.#now();
    const second = Math.floor(nowMs / 1000);
    const buckets = this.#buckets.get(kind)!;
    let sum = 0;
    for (let i = 0; i < this.seconds; i++) {
      const age = second - this.#slotSecond[i]!;
      if (this.#slotSecond[i]! >= 0 && age >= 0 && age < this.seconds) sum += buckets[i]!;
    }
    const span = Math.min(this.seconds, Math.max(1, (nowMs - this.#startedAt) / 1000));
    return sum / span;
  }

  #slot(second: number): number {
    const slot = second % this.seconds;
    if (this.#slotSecond[slot] !== second) {
      this.#slotSecond[slot] = second;
      for (const buckets of this.#buckets.values()) buckets[slot] = 0;
    }
    return slot;
  }
}
