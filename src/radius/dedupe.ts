/**
 * The duplicate-detection cache of RFC 5080 §2.2.2: a request is the same when its source address,
 * source port, Identifier and Request Authenticator are. A duplicate of an answered request is
 * answered again, a duplicate of one still in progress is dropped. Pure code with an
 * injectable clock; expired entries are pruned as new ones arrive, so it needs no timer.
 *
 * Every entry lives in typed-array columns, found through a hash table of slot numbers: no object,
 * string or Map entry per request. The cache holds a request per Stop for 5 s; kept as an object
 * and a key text in a Map, it cost 8% more of the daemon's CPU a Stop in a burst (issue 13).
 */
import { hash } from 'node:crypto';
import { hashBytes } from '../collections/slot-index.js';
import { sourceAddressBytes } from './clients.js';

export interface DuplicateCacheOptions {
  /** How long an answer is kept for retransmissions; RFC 5080 §2.2.2 suggests a few seconds to tens of seconds. */
  readonly answeredTtlMs?: number;
  /** How long a request may stay in progress before a retransmission is processed again. */
  readonly inProgressTtlMs?: number;
  /** At most this many entries; the oldest go first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export type DuplicateLookup =
  | { readonly state: 'new' }
  | { readonly state: 'in_progress' }
  | { readonly state: 'answered' };

const NEW: DuplicateLookup = Object.freeze({ state: 'new' });
const IN_PROGRESS: DuplicateLookup = Object.freeze({ state: 'in_progress' });
const ANSWERED: DuplicateLookup = Object.freeze({ state: 'answered' });

/**
 * 5 s for answers (FreeRADIUS's cleanup_delay: a NAS retransmits within a few seconds, RFC 5080
 * §2.2.1, and a later one is processed again, which a Stop survives: its session is remembered as
 * stopped), 5 min for a request still in progress, 100,000 entries. At 8,000 Stops/s that is 40,000
 * answers held instead of a quarter of a million over 30 s.
 */
export const DUPLICATE_CACHE_DEFAULTS = { answeredTtlMs: 5_000, inProgressTtlMs: 300_000, maxEntries: 100_000 } as const;

/**
 * A key is 9 words (36 octets): the 16 of the Request Authenticator (first: they tell requests
 * apart at the first word compared), the source address's length and its 16 octets (an IPv4
 * address in the first 4, the rest zero), port and Identifier.
 */
const KEY_WORDS = 9;
const KEY_BYTES = KEY_WORDS * 4;
const NONE = -1;
const IN_PROGRESS_KIND = 1;
const ANSWERED_KIND = 2;
/** Salt of the key's hash, apart from the other users of the process seed. */
const KEY_SALT = 0x5d;
/** Slots made at first; the columns double as entries arrive, up to maxEntries. */
const FIRST_CAPACITY = 256;

/** Entries of one kind in the order they were recorded, which is their expiry order: a doubly linked list of slots. */
interface RecordList {
  first: number;
  last: number;
}

/**
 * RFC 5080 §2.2.2 duplicate detection: remembers requests in progress and the answers sent.
 *
 * Expiry walks two lists in record order (answers, requests in progress), never the table, so a
 * burst of expiries costs what it removes.
 */
export class DuplicateCache {
  private readonly answeredTtlMs: number;
  private readonly inProgressTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** The key being looked up, written in place by {@link writeKey}. */
  private readonly scratchBytes = Buffer.alloc(KEY_BYTES);
  private readonly scratch = new Uint32Array(this.scratchBytes.buffer, this.scratchBytes.byteOffset, KEY_WORDS);
  private capacity = 0;
  private keys = new Uint32Array(0);
  private kinds = new Uint8Array(0);
  private expiresAt = new Float64Array(0);
  /** The count of begin and answer calls when it was recorded: the lowest is the oldest, evicted first when the cache is full. */
  private sequences = new Float64Array(0);
  private previous = new Int32Array(0);
  private next = new Int32Array(0);
  /** The next slot in the same hash bucket. */
  private chained = new Int32Array(0);
  private hashes = new Int32Array(0);
  private buckets = new Int32Array(0);
  private freeSlots = new Int32Array(0);
  private freeCount = 0;
  private count = 0;
  private sequence = 0;
  private readonly answered: RecordList = { first: NONE, last: NONE };
  private readonly inProgress: RecordList = { first: NONE, last: NONE };

  constructor(options: DuplicateCacheOptions = {}) {
    this.answeredTtlMs = options.answeredTtlMs ?? DUPLICATE_CACHE_DEFAULTS.answeredTtlMs;
    this.inProgressTtlMs = options.inProgressTtlMs ?? DUPLICATE_CACHE_DEFAULTS.inProgressTtlMs;
    this.maxEntries = options.maxEntries ?? DUPLICATE_CACHE_DEFAULTS.maxEntries;
    this.now = options.now ?? Date.now;
    this.grow(Math.min(FIRST_CAPACITY, Math.max(1, this.maxEntries)));
  }

  /** How many requests are remembered, in progress or answered. */
  get size(): number {
    return this.count;
  }

  /** Looks the request up; a new one is recorded as in progress before this returns. */
  begin(address: string, port: number, identifier: number, authenticator: Uint8Array): DuplicateLookup {
    const now = this.now();
    const hashed = this.writeKey(address, port, identifier, authenticator);
    const slot = this.find(hashed);
    if (slot !== NONE && this.expiresAt[slot]! > now) return this.kinds[slot] === ANSWERED_KIND ? ANSWERED : IN_PROGRESS;
    if (slot !== NONE) this.delete(slot);
    this.prune(now, 1);
    this.insert(hashed, IN_PROGRESS_KIND, now + this.inProgressTtlMs);
    return NEW;
  }

  /**
   * Records that the request was answered, so a retransmission is answered again without being
   * processed. The answer itself is not kept: the handler builds it again from the retransmission.
   */
  answer(address: string, port: number, identifier: number, authenticator: Uint8Array): void {
    const now = this.now();
    const hashed = this.writeKey(address, port, identifier, authenticator);
    const slot = this.find(hashed);
    // Recorded anew: the answer counts as the newest entry and expires in its turn.
    if (slot !== NONE) this.delete(slot);
    this.insert(hashed, ANSWERED_KIND, now + this.answeredTtlMs);
    this.prune(now, 0);
  }

  /** Forgets a request that was not answered, so the NAS's retransmission is processed again. */
  forget(address: string, port: number, identifier: number, authenticator: Uint8Array): void {
    const slot = this.find(this.writeKey(address, port, identifier, authenticator));
    if (slot !== NONE) this.delete(slot);
  }

  /** Forgets everything (the listener closing); the columns go back to their first size. */
  clear(): void {
    this.capacity = 0;
    this.count = 0;
    this.answered.first = this.answered.last = NONE;
    this.inProgress.first = this.inProgress.last = NONE;
    this.grow(Math.min(FIRST_CAPACITY, Math.max(1, this.maxEntries)));
  }

  /** Writes the request's key into the scratch words and returns its hash. */
  private writeKey(address: string, port: number, identifier: number, authenticator: Uint8Array): number {
    const bytes = this.scratchBytes;
    for (let i = 0; i < 16; i++) bytes[i] = authenticator[i] ?? 0;
    bytes.fill(0, 16, 33);
    const source = sourceAddressBytes(address);
    if (source) {
      bytes[16] = source.length;
      bytes.set(source, 17);
    } else {
      // A socket always gives an address; any other text (never seen) is keyed by a digest of it.
      bytes[16] = 255;
      bytes.set(hash('md5', address, 'buffer'), 17);
    }
    bytes.writeUInt16BE(port, 33);
    bytes[35] = identifier;
    // Keyed by the process seed, as the session table's hashes: a client that knows its secret
    // could otherwise make authenticators that all land in one bucket (hash flooding).
    return hashBytes(bytes, 0, KEY_BYTES, KEY_SALT) | 0;
  }

  /** The slot holding the scratch key, or NONE. */
  private find(hashed: number): number {
    for (let slot = this.buckets[hashed & (this.buckets.length - 1)]!; slot !== NONE; slot = this.chained[slot]!) {
      if (this.holdsScratchKey(slot)) return slot;
    }
    return NONE;
  }

  /** Compares the slot's whole key with the scratch key: a bucket holds keys of other hashes too. */
  private holdsScratchKey(slot: number): boolean {
    const base = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (this.keys[base + i] !== this.scratch[i]) return false;
    return true;
  }

  /** Records the scratch key as the newest entry of its kind. */
  private insert(hashed: number, kind: number, expiresAt: number): void {
    // Past maxEntries only for the moment between recording an answer and pruning for it.
    if (this.freeCount === 0) this.grow(Math.max(this.capacity + 1, Math.min(this.capacity * 2, this.maxEntries + 1)));
    const slot = this.freeSlots[--this.freeCount]!;
    this.keys.set(this.scratch, slot * KEY_WORDS);
    this.kinds[slot] = kind;
    this.expiresAt[slot] = expiresAt;
    this.sequences[slot] = this.sequence++;
    this.hashes[slot] = hashed;
    const bucket = hashed & (this.buckets.length - 1);
    this.chained[slot] = this.buckets[bucket]!;
    this.buckets[bucket] = slot;
    const list = kind === ANSWERED_KIND ? this.answered : this.inProgress;
    this.previous[slot] = list.last;
    this.next[slot] = NONE;
    if (list.last !== NONE) this.next[list.last] = slot;
    else list.first = slot;
    list.last = slot;
    this.count++;
  }

  private delete(slot: number): void {
    const bucket = this.hashes[slot]! & (this.buckets.length - 1);
    if (this.buckets[bucket] === slot) {
      this.buckets[bucket] = this.chained[slot]!;
    } else {
      let before = this.buckets[bucket]!;
      while (this.chained[before] !== slot) before = this.chained[before]!;
      this.chained[before] = this.chained[slot]!;
    }
    const list = this.kinds[slot] === ANSWERED_KIND ? this.answered : this.inProgress;
    const previous = this.previous[slot]!;
    const next = this.next[slot]!;
    if (previous !== NONE) this.next[previous] = next;
    else list.first = next;
    if (next !== NONE) this.previous[next] = previous;
    else list.last = previous;
    this.kinds[slot] = 0;
    this.freeSlots[this.freeCount++] = slot;
    this.count--;
  }

  /** Drops expired entries of both kinds, then the oldest ones until `room` more fit. */
  private prune(now: number, room: number): void {
    while (this.answered.first !== NONE && this.expiresAt[this.answered.first]! <= now) this.delete(this.answered.first);
    while (this.inProgress.first !== NONE && this.expiresAt[this.inProgress.first]! <= now) this.delete(this.inProgress.first);
    while (this.count > 0 && this.count + room > this.maxEntries) {
      const answered = this.answered.first;
      const inProgress = this.inProgress.first;
      this.delete(inProgress === NONE || (answered !== NONE && this.sequences[answered]! < this.sequences[inProgress]!) ? answered : inProgress);
    }
  }

  /**
   * Makes room for `capacity` entries (kept from the old columns, at the same slots, so the lists
   * stay as they are), with twice as many hash buckets. From nothing when the cache is empty.
   */
  private grow(capacity: number): void {
    const old = this.capacity;
    const widen = <T extends Uint32Array | Uint8Array | Float64Array | Int32Array>(column: T, make: (length: number) => T, width = 1): T => {
      const wider = make(capacity * width);
      if (old > 0) wider.set(column);
      return wider;
    };
    this.keys = widen(this.keys, (n) => new Uint32Array(n), KEY_WORDS);
    this.kinds = widen(this.kinds, (n) => new Uint8Array(n));
    this.expiresAt = widen(this.expiresAt, (n) => new Float64Array(n));
    this.sequences = widen(this.sequences, (n) => new Float64Array(n));
    this.previous = widen(this.previous, (n) => new Int32Array(n));
    this.next = widen(this.next, (n) => new Int32Array(n));
    this.chained = widen(this.chained, (n) => new Int32Array(n));
    this.hashes = widen(this.hashes, (n) => new Int32Array(n));
    // Slots above the old capacity are free, the lowest handed out first.
    this.freeSlots = new Int32Array(capacity);
    this.freeCount = 0;
    for (let slot = capacity - 1; slot >= old; slot--) this.freeSlots[this.freeCount++] = slot;
    this.capacity = capacity;
    let bucketCount = 1;
    while (bucketCount < capacity * 2) bucketCount *= 2;
    this.buckets = new Int32Array(bucketCount).fill(NONE);
    for (let slot = 0; slot < old; slot++) {
      if (this.kinds[slot] === 0) continue;
      const bucket = this.hashes[slot]! & (bucketCount - 1);
      this.chained[slot] = this.buckets[bucket]!;
      this.buckets[bucket] = slot;
    }
  }
}
