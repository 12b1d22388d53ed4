/**
 * An open-addressing hash set of slot numbers in one Uint32Array: 4 bytes a cell where a Map costs
 * about 80 plus its key. The keys live in the caller's columns; lookups pass a hash and a predicate.
 * Linear probing with backward-shift deletion, so no tombstones pile up under churn. The table grows
 * by a quarter when 80% full (any size: the home cell is the hash scaled to it), so it is 64% to
 * 80% full where a power of two would be 40% to 80%: a million entries take 1.3 million cells, not 2.
 *
 * The hashes below are seeded per process from crypto randomness: Acct-Session-Ids come from the
 * network, and with a fixed seed a client could send ids that all land in one probe run (hash
 * flooding). They are in-memory only; nothing hashed here is written to the journal.
 */
import { randomBytes } from 'node:crypto';

const EMPTY = 0;
const MAX_LOAD = 0.8;
/** Bits of a cell that hold the hash's low bits, below slot + 1, while slots leave room for them. */
const FINGERPRINT_BITS = 8;
const TWO_32 = 2 ** 32;

/** Per-process secret mixed into every in-memory hash. */
const PROCESS_SEED = randomBytes(4).readUInt32LE(0);

/**
 * Slots indexed by a hash the owner computes from its own columns. A cell holds slot + 1 and, below
 * it, the hash's low bits: a probe asks the owner's predicate (which reads its columns, scattered in
 * memory) only when those match, so the longer probe runs of a fuller table stay cheap. The home
 * cell comes from the hash's high bits (multiply and shift, any table size).
 */
export class SlotIndex {
  readonly #hashOf: (slot: number) => number;
  /** (slot + 1) × 2^fingerprintBits + the hash's low fingerprintBits; 0 marks an empty cell. */
  #cells: Uint32Array;
  #size = 0;
  /** Fewer once a slot needs the room (past 16 million slots). */
  #fingerprintBits = FINGERPRINT_BITS;
  /** 2^fingerprintBits and that minus one, kept: cells are made on every insert and rebuild. */
  #scale = 2 ** FINGERPRINT_BITS;
  #mask = 2 ** FINGERPRINT_BITS - 1;

  /** `hashOf(slot)` must return the hash the slot was inserted with (used when cells move). */
  constructor(hashOf: (slot: number) => number, initialCells = 1024) {
    this.#hashOf = hashOf;
    this.#cells = new Uint32Array(initialCells);
  }

  get size(): number {
    return this.#size;
  }

  /** The first slot under `hash` that `matches`, or -1. */
  find(hash: number, matches: (slot: number) => boolean): number {
    const cells = this.#cells;
    const length = cells.length;
    const bits = this.#fingerprintBits;
    const mask = this.#mask;
    const fingerprint = hash & mask;
    for (let i = home(hash, length); cells[i] !== EMPTY; i = i + 1 === length ? 0 : i + 1) {
      const cell = cells[i]!;
      if ((cell & mask) !== fingerprint) continue;
      const slot = (cell >>> bits) - 1;
      if (matches(slot)) return slot;
    }
    return -1;
  }

  /** Adds a slot under its hash (the caller makes sure no equal key is present). */
  insert(slot: number, hash: number): void {
    if ((slot + 1) * this.#scale >= TWO_32) this.#rebuild(this.#cells.length, Math.max(0, 32 - Math.ceil(Math.log2(slot + 2))));
    if (this.#size + 1 > this.#cells.length * MAX_LOAD) this.#rebuild(Math.ceil(this.#cells.length * 1.25), this.#fingerprintBits);
    this.#place(slot, hash);
    this.#size++;
  }

  /** Removes a slot; returns whether it was there. */
  delete(slot: number, hash: number): boolean {
    const cells = this.#cells;
    const length = cells.length;
    const bits = this.#fingerprintBits;
    const wanted = this.#cellOf(slot, hash);
    let i = home(hash, length);
    while (cells[i] !== wanted) {
      if (cells[i] === EMPTY) return false;
      i = i + 1 === length ? 0 : i + 1;
    }
    cells[i] = EMPTY;
    this.#size--;
    // Backward shift: pull later cells of the probe run into the hole when their home allows it.
    for (let j = i + 1 === length ? 0 : i + 1; cells[j] !== EMPTY; j = j + 1 === length ? 0 : j + 1) {
      const at = home(this.#hashOf((cells[j]! >>> bits) - 1), length);
      const stays = i <= j ? i < at && at <= j : i < at || at <= j;
      if (stays) continue;
      cells[i] = cells[j]!;
      cells[j] = EMPTY;
      i = j;
    }
    return true;
  }

  #cellOf(slot: number, hash: number): number {
    return (slot + 1) * this.#scale + (hash & this.#mask);
  }

  #place(slot: number, hash: number): void {
    const cells = this.#cells;
    const length = cells.length;
    let i = home(hash, length);
    while (cells[i] !== EMPTY) i = i + 1 === length ? 0 : i + 1;
    cells[i] = this.#cellOf(slot, hash);
  }

  #rebuild(length: number, fingerprintBits: number): void {
    const old = this.#cells;
    const oldBits = this.#fingerprintBits;
    this.#cells = new Uint32Array(length);
    this.#fingerprintBits = fingerprintBits;
    this.#scale = 2 ** fingerprintBits;
    this.#mask = this.#scale - 1;
    for (const cell of old) {
      if (cell === EMPTY) continue;
      const slot = (cell >>> oldBits) - 1;
      this.#place(slot, this.#hashOf(slot));
    }
  }
}

/** The home cell of a uint32 hash in a table of `length` cells: its high bits, scaled (no division). */
function home(hash: number, length: number): number {
  return Math.floor((hash * length) / TWO_32);
}

/** Murmur3's 32-bit finalizer: spreads every input bit over the low bits a table uses. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The in-memory hash of a uint32 (an IPv4 address, a journaled key hash), keyed by the process seed. */
export function hashNumber(value: number): number {
  return mix32(mix32(value ^ PROCESS_SEED) + PROCESS_SEED);
}

/** FNV-1a's starting state for a salt (a scope number, a prefix length), keyed by the process seed. */
export function hashStart(salt: number): number {
  return (0x811c9dc5 ^ mix32(salt + PROCESS_SEED)) >>> 0;
}

/** One FNV-1a step over a byte or a UTF-16 code unit. */
export function hashStep(state: number, unit: number): number {
  return Math.imul(state ^ unit, 0x01000193);
}

/** The final hash of an FNV-1a state. */
export function hashEnd(state: number): number {
  return mix32(state ^ PROCESS_SEED);
}

/** FNV-1a over bytes, salted and keyed by the process seed, then mixed. */
export function hashBytes(bytes: Uint8Array, start: number, end: number, salt: number): number {
  let h = hashStart(salt);
  for (let i = start; i < end; i++) h = hashStep(h, bytes[i]!);
  return hashEnd(h);
}

/** The uint32 of a canonical dotted-quad IPv4 address, or -1 for anything else (IPv6, prefixes, leading zeros). */
export function ipv4Number(text: string): number {
  if (text.length < 7 || text.length > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // A leading zero would not survive formatting back, so such text is not canonical.
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Dotted-quad text of a uint32 IPv4 address. */
export function ipv4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
