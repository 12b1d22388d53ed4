/**
 * An open-addressing hash set of slot numbers in one Int32Array: about 8 bytes per entry where a
 * Map costs about 80 plus its key. The keys live in the caller's columns; lookups pass a hash and a
 * predicate. Linear probing with backward-shift deletion, so no tombstones pile up under churn.
 */

const EMPTY = 0;

/** Slots indexed by a hash the owner computes from its own columns. */
export class SlotIndex {
  readonly #hashOf: (slot: number) => number;
  /** slot + 1; 0 marks an empty cell. */
  #cells: Int32Array;
  #mask: number;
  #size = 0;

  /** `hashOf(slot)` must return the hash the slot was inserted with (used when cells move). */
  constructor(hashOf: (slot: number) => number, initialBits = 10) {
    this.#hashOf = hashOf;
    this.#cells = new Int32Array(1 << initialBits);
    this.#mask = (1 << initialBits) - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** The first slot under `hash` that `matches`, or -1. */
  find(hash: number, matches: (slot: number) => boolean): number {
    for (let i = hash & this.#mask; this.#cells[i] !== EMPTY; i = (i + 1) & this.#mask) {
      const slot = this.#cells[i]! - 1;
      if (matches(slot)) return slot;
    }
    return -1;
  }

  /** Adds a slot under its hash (the caller makes sure no equal key is present). */
  insert(slot: number, hash: number): void {
    if ((this.#size + 1) * 10 > this.#cells.length * 7) this.#grow();
    let i = hash & this.#mask;
    while (this.#cells[i] !== EMPTY) i = (i + 1) & this.#mask;
    this.#cells[i] = slot + 1;
    this.#size++;
  }

  /** Removes a slot; returns whether it was there. */
  delete(slot: number, hash: number): boolean {
    let i = hash & this.#mask;
    while (this.#cells[i] !== slot + 1) {
      if (this.#cells[i] === EMPTY) return false;
      i = (i + 1) & this.#mask;
    }
    this.#cells[i] = EMPTY;
    this.#size--;
    // Backward shift: pull later cells of the probe run into the hole when their home allows it.
    for (let j = (i + 1) & this.#mask; this.#cells[j] !== EMPTY; j = (j + 1) & this.#mask) {
      const home = this.#hashOf(this.#cells[j]! - 1) & this.#mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.#cells[i] = this.#cells[j]!;
      this.#cells[j] = EMPTY;
      i = j;
    }
    return true;
  }

  #grow(): void {
    const old = this.#cells;
    this.#cells = new Int32Array(old.length * 2);
    this.#mask = this.#cells.length - 1;
    this.#size = 0;
    for (const cell of old) if (cell !== EMPTY) this.insert(cell - 1, this.#hashOf(cell - 1));
  }
}

/** Murmur3's 32-bit finalizer: spreads every input bit over the low bits a table uses. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over a string's UTF-16 code units, seeded, then mixed. */
export function hashString(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** FNV-1a over bytes, seeded, then mixed. */
export function hashBytes(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return mix32(h);
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
