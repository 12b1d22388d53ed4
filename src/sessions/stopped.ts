/**
 * The memory of stopped sessions, so a Start or Interim-Update of a session that already ended (a
 * replay, or a record delayed in the network) can be told apart from a live one (design: "Event
 * order"). It keeps the newest STOPPED_CAPACITY stops: a ring of 64-bit key hashes and the stops'
 * Event-Timestamps in typed arrays, about 20 bytes each with the index, oldest overwritten first.
 * At the churn of a large BRAS (tens of sessions ending a second) that is hours of stops, far
 * beyond any retransmission (RFC 5080 §2.2.1); replays older than that are still caught by
 * Event-Timestamp order when another session of the same NAS holds the address. Pure code.
 */
import { hash } from 'node:crypto';
import { hashNumber, SlotIndex } from '../collections/slot-index.js';

/** When a session stopped: the receive time minus Acct-Delay-Time, and the NAS's Event-Timestamp if it sent one. */
export interface StopTime {
  /** ms since the epoch, on this host's clock. */
  readonly at: number;
  /** Event-Timestamp, seconds since the epoch, on the NAS's clock. */
  readonly nasTime: number | undefined;
}

/** What the memory keeps of a stop: only the NAS's clock can show that a later Start is a new session. */
export interface RememberedStop {
  readonly nasTime: number | undefined;
}

/** How many stops are remembered (about 10 MB when full): four hours of a BRAS with a million sessions of eight hours on average. */
export const STOPPED_CAPACITY = 1 << 19;

/** One remembered stop as the journal snapshot writes it. */
export type StoppedRow = [hashHigh: number, hashLow: number, nasTime: number];

/** Remembered stops, oldest first, as parallel columns. */
export interface StoppedColumns {
  readonly high: Uint32Array;
  readonly low: Uint32Array;
  readonly nasTime: Uint32Array;
}

/** A bounded memory of stopped (client, NAS, Acct-Session-Id) keys. */
export class StoppedSessions {
  readonly #capacity: number;
  #high = new Uint32Array(0);
  #low = new Uint32Array(0);
  #nasTime = new Uint32Array(0);
  /** Keyed by the process seed: the journaled hashes are public to whoever chose the keys. */
  readonly #index = new SlotIndex((slot) => hashNumber(this.#high[slot]!));
  /** Next slot to write; once the ring is full, the oldest entry. */
  #next = 0;
  #count = 0;

  constructor(capacity = STOPPED_CAPACITY) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#count;
  }

  /** Remembers that the key stopped at this time; a later stop of the same key moves its time forward. */
  remember(key: string, time: StopTime): void {
    hashKey(key);
    this.rememberHashed(keyHigh, keyLow, time.nasTime ?? 0);
  }

  /** When the key stopped, if it is remembered. */
  stoppedAt(key: string): RememberedStop | undefined {
    hashKey(key);
    const slot = this.#find(keyHigh, keyLow);
    if (slot < 0) return undefined;
    const nasTime = this.#nasTime[slot]!;
    return { nasTime: nasTime === 0 ? undefined : nasTime };
  }

  /**
   * The entries oldest first as columns of at most `size` rows, for the journal snapshot: views of
   * the ring where a chunk does not wrap, so they are to be read before anything else runs.
   */
  *columns(size: number): IterableIterator<StoppedColumns> {
    const start = this.#count < this.#high.length ? 0 : this.#next;
    for (let first = 0; first < this.#count; ) {
      const from = (start + first) % this.#high.length;
      const length = Math.min(size, this.#count - first, this.#high.length - from);
      yield { high: this.#high.subarray(from, from + length), low: this.#low.subarray(from, from + length), nasTime: this.#nasTime.subarray(from, from + length) };
      first += length;
    }
  }

  /** Remembers a stop by its key hashes (from a snapshot row). */
  rememberHashed(high: number, low: number, nasTime: number): void {
    const known = this.#find(high, low);
    if (known >= 0) {
      this.#nasTime[known] = Math.max(this.#nasTime[known]!, nasTime);
      return;
    }
    if (this.#count === this.#high.length && this.#high.length < this.#capacity) this.#grow();
    const slot = this.#next;
    if (this.#count === this.#high.length) this.#index.delete(slot, hashNumber(this.#high[slot]!));
    else this.#count++;
    this.#high[slot] = high;
    this.#low[slot] = low;
    this.#nasTime[slot] = nasTime;
    this.#index.insert(slot, hashNumber(high));
    this.#next = (slot + 1) % this.#high.length;
  }

  #find(high: number, low: number): number {
    return this.#index.find(hashNumber(high), (slot) => this.#high[slot] === high && this.#low[slot] === low);
  }

  /**
   * Doubles the ring. It is only full below capacity before it ever wrapped, so the entries sit in
   * slots 0..count-1 in order and keep their slots (and their index cells).
   */
  #grow(): void {
    const size = Math.min(this.#capacity, Math.max(1024, this.#high.length * 2));
    const grown = <T extends Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.#high = grown(this.#high, (n) => new Uint32Array(n));
    this.#low = grown(this.#low, (n) => new Uint32Array(n));
    this.#nasTime = grown(this.#nasTime, (n) => new Uint32Array(n));
    this.#next = this.#count;
  }

}

/** The last key's hashes, set by hashKey: two numbers, without an array or object per call. */
let keyHigh = 0;
let keyLow = 0;

/**
 * 64 bits of SHA-256 of the key, into keyHigh and keyLow. A fast non-cryptographic hash would let
 * one client craft an Acct-Session-Id whose stop collides with another client's future session and
 * make its Start look stopped. A one-shot digest as a latin1 string costs a third of a Hash object
 * and a Buffer per Start or Stop.
 */
function hashKey(key: string): void {
  const digest = hash('sha256', key, 'binary');
  keyHigh = ((digest.charCodeAt(0) << 24) | (digest.charCodeAt(1) << 16) | (digest.charCodeAt(2) << 8) | digest.charCodeAt(3)) >>> 0;
  keyLow = ((digest.charCodeAt(4) << 24) | (digest.charCodeAt(5) << 16) | (digest.charCodeAt(6) << 8) | digest.charCodeAt(7)) >>> 0;
}
