/**
 * The times of the session table's slots on this host's clock, in 6 bytes a session where two
 * timestamps would take 16: when the session was last recorded (updatedAt), as a uint32 offset
 * from a base that moves as time goes on, and its Acct-Delay-Time, as 16-bit whole seconds. Only
 * unusual values (a delay not in whole seconds or of 18 hours and more, a time 49 days away from
 * the others) go to Maps. The NAS's own Event-Timestamp is a plain column of the table. Pure code.
 */
import { PagedColumn } from './columns.js';

/** The longest Acct-Delay-Time kept exactly (about 24 days); a longer one orders as this. */
const MAX_LAG = 0x7fffffff;
/**
 * updatedAt is kept as uint32 ms after a base the table moves as time goes on (a span of 49 days,
 * far wider than the sessions of one table spread); this offset marks a time kept in a Map instead.
 */
const TIME_SPAN = 0xffffffff;
const ODD_LAG = 0xffff;

/** The times of table slots; the table says which slots are live. */
export class SessionTimes {
  /** updatedAt − #timeBase, ms. */
  readonly #updated = new PagedColumn((n) => new Uint32Array(n));
  /**
   * updatedAt − eventAt, the Acct-Delay-Time, in whole seconds as RADIUS sends it (RFC 2866 §5.2):
   * 2 bytes where a second timestamp would take 8; ODD_LAG when it is not that and is in #oddLags (ms).
   */
  readonly #eventLag = new PagedColumn((n) => new Uint16Array(n));
  readonly #oddLags = new Map<number, number>();
  #timeBase = Number.NaN;
  readonly #oddTimes = new Map<number, number>();
  readonly #liveSlots: () => Iterable<number>;

  /** `liveSlots` gives the table's live slots, whose times a move of the base rewrites. */
  constructor(liveSlots: () => Iterable<number>) {
    this.#liveSlots = liveSlots;
  }

  /** Makes room for slots below `count`. */
  reserve(count: number): void {
    this.#updated.reserve(count);
    this.#eventLag.reserve(count);
  }

  /** Records a slot's times: the lag of eventAt behind updatedAt is kept, at least 0 and at most MAX_LAG. */
  set(slot: number, updatedAt: number, eventAt: number): void {
    this.#setUpdatedAt(slot, updatedAt);
    this.#setEventLag(slot, Math.min(MAX_LAG, Math.max(0, updatedAt - eventAt)));
  }

  /** Forgets the times of a slot being freed. */
  release(slot: number): void {
    this.#oddTimes.delete(slot);
    this.#oddLags.delete(slot);
  }

  updatedAt(slot: number): number {
    const offset = this.#updated.get(slot);
    return offset === TIME_SPAN ? this.#oddTimes.get(slot)! : this.#timeBase + offset;
  }

  /** updatedAt − eventAt, ms. */
  eventLag(slot: number): number {
    const seconds = this.#eventLag.get(slot);
    return seconds === ODD_LAG ? this.#oddLags.get(slot)! : seconds * 1000;
  }

  #setEventLag(slot: number, lag: number): void {
    const seconds = lag / 1000;
    if (Number.isInteger(seconds) && seconds < ODD_LAG) {
      this.#eventLag.set(slot, seconds);
      this.#oddLags.delete(slot);
    } else {
      this.#eventLag.set(slot, ODD_LAG);
      this.#oddLags.set(slot, lag);
    }
  }

  #setUpdatedAt(slot: number, at: number): void {
    if (Number.isNaN(this.#timeBase) && Number.isInteger(at)) this.#timeBase = at - 2 ** 31;
    if (Number.isInteger(at) && !fitsSpan(at - this.#timeBase)) this.#rebase(at);
    this.#store(slot, at, this.#timeBase);
  }

  /** Keeps the slot's time as its offset from `base`, or in the Map where it does not fit. */
  #store(slot: number, time: number, base: number): void {
    const offset = time - base;
    if (Number.isInteger(offset) && fitsSpan(offset)) {
      this.#updated.set(slot, offset);
      this.#oddTimes.delete(slot);
    } else {
      this.#updated.set(slot, TIME_SPAN);
      this.#oddTimes.set(slot, time);
    }
  }

  /**
   * Moves the time base so `at` fits, centred on the times held (every few weeks in a running
   * daemon). Times that still do not fit (sessions 49 days apart) go to the Map.
   */
  #rebase(at: number): void {
    let low = at;
    let high = at;
    for (const slot of this.#liveSlots()) {
      const time = this.updatedAt(slot);
      if (!Number.isInteger(time)) continue;
      low = Math.min(low, time);
      high = Math.max(high, time);
    }
    const base = high - low < TIME_SPAN ? low - Math.floor((TIME_SPAN - 1 - (high - low)) / 2) : at - 2 ** 31;
    for (const slot of this.#liveSlots()) this.#store(slot, this.updatedAt(slot), base);
    this.#timeBase = base;
  }
}

function fitsSpan(offset: number): boolean {
  return offset >= 0 && offset < TIME_SPAN;
}
