/**
 * Acct-Session-Ids of the session table, 9 bytes a session for the common shapes. NASes send short
 * ASCII ids, most of them hexadecimal counters (accel-ppp's 16 hex digits, Cisco's and MikroTik's 8):
 * up to 8 ASCII characters are kept as they are, up to 16 hex digits of one case two to a byte, in
 * 8 bytes a slot. Other ASCII ids up to 254 characters go to a shared byte arena (the slot keeps
 * where), anything else (non-ASCII, longer) to a Map. Pure code.
 */
import { PagedColumn } from './columns.js';
import { hashEnd, hashStart, hashStep } from '../collections/slot-index.js';

/** What a slot's shape byte says: 0..8 ASCII of that length; 16+n / 40+n: n (9..16) hex digits in lower / upper case; arena; Map. */
const HEX_LOWER = 16;
const HEX_UPPER = 40;
const ARENA = 64;
const IN_MAP = 65;
const INLINE_BYTES = 8;
const ARENA_MAX = 254;
/** The arena is compacted once this many bytes, and more than it holds live, belong to removed ids. */
const ARENA_SLACK = 64 * 1024;
/** The arena grows by chunks (no copy, no doubling); an id never spans two. */
const CHUNK_BITS = 16;
const CHUNK_BYTES = 1 << CHUNK_BITS;

/** The ids of table slots; the table says which slots are live. */
export class SessionIds {
  readonly #shape = new PagedColumn((n) => new Uint8Array(n));
  readonly #inline = new PagedColumn((n) => new Uint8Array(n), INLINE_BYTES);
  readonly #inMap = new Map<number, string>();
  #arena: Uint8Array[] = [];
  /** Where the next id goes: chunk number × CHUNK_BYTES + offset in it. */
  #arenaNext = 0;
  #arenaUsed = 0;
  #arenaGarbage = 0;
  /** The id {@link key} was last asked for, packed as a slot would hold it, for {@link matchesKey}. */
  readonly #keyBytes = new Uint8Array(INLINE_BYTES);
  #keyShape = 0;
  #keyId = '';

  /** Makes room for slots below `count`. */
  reserve(count: number): void {
    this.#shape.reserve(count);
    this.#inline.reserve(count);
  }

  /** Stores the id of a new slot. */
  store(slot: number, id: string): void {
    const bytes = this.#inline.page(slot);
    const at = this.#inline.offset(slot);
    const shape = shapeOf(id);
    this.#shape.set(slot, shape);
    if (shape < ARENA) {
      packInline(id, shape, bytes, at);
    } else if (shape === ARENA) {
      const offset = this.#arenaAppend(id);
      writeUint32(bytes, at, offset);
      bytes[at + 4] = id.length;
    } else {
      this.#inMap.set(slot, id);
    }
  }

  /** Forgets the id of a slot being freed. */
  release(slot: number): void {
    const shape = this.#shape.get(slot);
    if (shape === IN_MAP) this.#inMap.delete(slot);
    if (shape !== ARENA) return;
    this.#arenaGarbage += this.#inline.page(slot)[this.#inline.offset(slot) + 4]!;
    this.#shape.set(slot, 0);
  }

  /** After releases: compacts the arena when most of it is garbage, given the live slots. */
  compact(liveSlots: () => Iterable<number>): void {
    if (this.#arenaGarbage < ARENA_SLACK || this.#arenaGarbage * 2 < this.#arenaUsed) return;
    const old = this.#arena;
    this.#arena = [];
    this.#arenaNext = 0;
    this.#arenaUsed = 0;
    this.#arenaGarbage = 0;
    for (const slot of liveSlots()) {
      if (this.#shape.get(slot) !== ARENA) continue;
      const bytes = this.#inline.page(slot);
      const at = this.#inline.offset(slot);
      const from = readUint32(bytes, at);
      const length = bytes[at + 4]!;
      const start = from & (CHUNK_BYTES - 1);
      const to = this.#arenaReserve(length);
      this.#arena[to >>> CHUNK_BITS]!.set(old[from >>> CHUNK_BITS]!.subarray(start, start + length), to & (CHUNK_BYTES - 1));
      writeUint32(bytes, at, to);
    }
  }

  /**
   * The hash of `id` as {@link hash} gives it for a slot holding it; remembers the id, packed, so
   * {@link matchesKey} compares stored bytes with it, not characters one by one.
   */
  key(id: string, salt: number): number {
    const shape = shapeOf(id);
    this.#keyShape = shape;
    this.#keyId = id;
    let h = hashStep(hashStart(salt), shape);
    if (shape < ARENA) {
      packInline(id, shape, this.#keyBytes, 0);
      for (let i = 0; i < packedLength(shape); i++) h = hashStep(h, this.#keyBytes[i]!);
    } else {
      for (let i = 0; i < id.length; i++) h = hashStep(h, id.charCodeAt(i));
    }
    return hashEnd(h);
  }

  /** Whether the slot holds the id {@link key} was last asked for. */
  matchesKey(slot: number): boolean {
    const shape = this.#shape.get(slot);
    if (shape !== this.#keyShape) return false;
    if (shape === IN_MAP) return this.#inMap.get(slot) === this.#keyId;
    const bytes = this.#inline.page(slot);
    const at = this.#inline.offset(slot);
    if (shape < ARENA) {
      for (let i = 0; i < packedLength(shape); i++) if (bytes[at + i] !== this.#keyBytes[i]) return false;
      return true;
    }
    const id = this.#keyId;
    if (bytes[at + 4] !== id.length) return false;
    const offset = readUint32(bytes, at);
    const chunk = this.#arena[offset >>> CHUNK_BITS]!;
    const start = offset & (CHUNK_BYTES - 1);
    for (let i = 0; i < id.length; i++) if (chunk[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  /** The slot's id. */
  text(slot: number): string {
    const shape = this.#shape.get(slot);
    if (shape === IN_MAP) return this.#inMap.get(slot)!;
    const length = lengthOf(shape, this.#inline.page(slot)[this.#inline.offset(slot) + 4]!);
    const codes = new Array<number>(length);
    for (let i = 0; i < length; i++) codes[i] = this.#charCode(slot, shape, i);
    return String.fromCharCode(...codes);
  }

  /** The hash of the slot's id (see {@link key}), from its stored bytes: index growth rehashes every id. */
  hash(slot: number, salt: number): number {
    const shape = this.#shape.get(slot);
    let h = hashStep(hashStart(salt), shape);
    if (shape === IN_MAP) {
      const id = this.#inMap.get(slot)!;
      for (let i = 0; i < id.length; i++) h = hashStep(h, id.charCodeAt(i));
      return hashEnd(h);
    }
    let bytes: Uint8Array = this.#inline.page(slot);
    let at = this.#inline.offset(slot);
    let length = packedLength(shape);
    if (shape === ARENA) {
      length = bytes[at + 4]!;
      const offset = readUint32(bytes, at);
      bytes = this.#arena[offset >>> CHUNK_BITS]!;
      at = offset & (CHUNK_BYTES - 1);
    }
    for (let i = 0; i < length; i++) h = hashStep(h, bytes[at + i]!);
    return hashEnd(h);
  }

  #charCode(slot: number, shape: number, i: number): number {
    const bytes = this.#inline.page(slot);
    const at = this.#inline.offset(slot);
    if (shape <= INLINE_BYTES) return bytes[at + i]!;
    if (shape === ARENA) {
      const offset = readUint32(bytes, at);
      return this.#arena[offset >>> CHUNK_BITS]![(offset & (CHUNK_BYTES - 1)) + i]!;
    }
    const nibble = (bytes[at + (i >> 1)]! >> (i & 1 ? 0 : 4)) & 15;
    if (nibble < 10) return 48 + nibble;
    return (shape < HEX_UPPER ? 87 : 55) + nibble;
  }

  #arenaAppend(id: string): number {
    const offset = this.#arenaReserve(id.length);
    const chunk = this.#arena[offset >>> CHUNK_BITS]!;
    const start = offset & (CHUNK_BYTES - 1);
    for (let i = 0; i < id.length; i++) chunk[start + i] = id.charCodeAt(i);
    return offset;
  }

  /** Room for `length` bytes in one chunk; returns where. */
  #arenaReserve(length: number): number {
    if ((this.#arenaNext & (CHUNK_BYTES - 1)) + length > CHUNK_BYTES) this.#arenaNext = (this.#arena.length) << CHUNK_BITS;
    if (this.#arenaNext >>> CHUNK_BITS >= this.#arena.length) this.#arena.push(new Uint8Array(CHUNK_BYTES));
    const offset = this.#arenaNext;
    this.#arenaNext += length;
    this.#arenaUsed += length;
    return offset;
  }
}

/** Writes an inline id (short ASCII as it is, hex two digits to a byte) into 8 bytes. */
function packInline(id: string, shape: number, bytes: Uint8Array, at: number): void {
  if (shape <= INLINE_BYTES) {
    for (let i = 0; i < id.length; i++) bytes[at + i] = id.charCodeAt(i);
    return;
  }
  bytes.fill(0, at, at + INLINE_BYTES);
  for (let i = 0; i < id.length; i++) bytes[at + (i >> 1)]! |= hexValue(id.charCodeAt(i)) << (i & 1 ? 0 : 4);
}

/** How many of an inline id's 8 bytes hold it. */
function packedLength(shape: number): number {
  return shape <= INLINE_BYTES ? shape : INLINE_BYTES;
}

/** The shape byte an id is stored in. */
function shapeOf(id: string): number {
  let ascii = true;
  let lower = true;
  let upper = true;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c > 0x7f) ascii = false;
    const digit = c >= 48 && c <= 57;
    if (!digit && !(c >= 97 && c <= 102)) lower = false;
    if (!digit && !(c >= 65 && c <= 70)) upper = false;
  }
  if (!ascii || id.length > ARENA_MAX) return IN_MAP;
  if (id.length <= INLINE_BYTES) return id.length;
  if (id.length <= 2 * INLINE_BYTES && lower) return HEX_LOWER + id.length;
  if (id.length <= 2 * INLINE_BYTES && upper) return HEX_UPPER + id.length;
  return ARENA;
}

function lengthOf(shape: number, arenaLength: number): number {
  if (shape <= INLINE_BYTES) return shape;
  if (shape === ARENA) return arenaLength;
  return shape < HEX_UPPER ? shape - HEX_LOWER : shape - HEX_UPPER;
}

function hexValue(code: number): number {
  if (code <= 57) return code - 48;
  return code >= 97 ? code - 87 : code - 55;
}

function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 255;
  bytes[at + 1] = (value >>> 8) & 255;
  bytes[at + 2] = (value >>> 16) & 255;
  bytes[at + 3] = value >>> 24;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}
