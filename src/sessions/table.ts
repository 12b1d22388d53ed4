/**
 * The session table: which accounting session (NAS, Acct-Session-Id) holds which addresses, so a
 * Stop without addresses can be resolved, Accounting-On/Off can unlist a NAS's sessions, and a stale
 * Stop can be told apart by {@link SessionTable.ownerOf}.
 *
 * It must hold a million sessions in well under 256 MB, so it is columnar: a session is a slot
 * number, and its NAS and client (interned), update time, Acct-Session-Id (ASCII up to 24 bytes,
 * inline), first IPv4 address and first IPv6 address or prefix live in typed arrays, indexed by
 * typed-array hash tables. Only unusual values (long ids, further addresses) become strings in
 * Maps. Pure code, no I/O: the queue store journals the changes.
 */
import { formatAddressBytes, formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';
import { hashBytes, hashString, ipv4Number, ipv4Text, mix32, SlotIndex } from './slot-index.js';

/** One recorded accounting session. */
export interface Session {
  /** The NAS key (NAS-IP-Address / NAS-Identifier / source), as the accounting stage builds it. */
  readonly nas: string;
  /** Acct-Session-Id. */
  readonly sessionId: string;
  /** The configured RADIUS client name the session's packets came from. */
  readonly client: string;
  /** Canonical formatPrefix text; read back, the first IPv4 host address comes first, then the first IPv6 address or prefix. */
  readonly addresses: readonly string[];
  /** When Start or Interim-Update last recorded it, in ms since the epoch. */
  readonly updatedAt: number;
}

/** The read side of the table, as the daemon sees it. */
export interface ReadonlySessionTable {
  /** The session with this NAS key and Acct-Session-Id. */
  get(nas: string, sessionId: string): Session | undefined;
  /** The session that most recently recorded this address (formatPrefix text), if any. */
  ownerOf(address: string): Session | undefined;
  /** Every session recorded for this NAS key (for Accounting-On/Off). */
  sessionsOfNas(nas: string): Session[];
  /** How many sessions are recorded. */
  readonly size: number;
  /** The sessions not updated within maxAgeMs before now (nothing is removed). */
  expired(now: number, maxAgeMs: number): Session[];
  /** Every session, in slot order; tolerates changes made while iterating. */
  entries(): IterableIterator<Session>;
}

const FREE = 0;
const USED = 1;
const HAS_V4 = 2;
const HAS_V6 = 4;
/** Acct-Session-Ids up to this many ASCII characters are stored inline; others in a Map. */
const INLINE_ID = 24;
const LONG_ID = 255;

/** A mutable, compact session table. Only the queue store mutates the one the daemon reads. */
export class SessionTable implements ReadonlySessionTable {
  readonly #nasNames: string[] = [];
  readonly #nasIds = new Map<string, number>();
  readonly #clientNames: string[] = [];
  readonly #clientIds = new Map<string, number>();

  #capacity = 0;
  #flags = new Uint8Array(0);
  #nas = new Uint32Array(0);
  #client = new Uint32Array(0);
  #updatedAt = new Float64Array(0);
  #keyHash = new Uint32Array(0);
  #idLength = new Uint8Array(0);
  #idBytes = new Uint8Array(0);
  #v4 = new Uint32Array(0);
  #v6 = new Uint8Array(0);
  #v6Length = new Uint8Array(0);
  readonly #longIds = new Map<number, string>();
  /** Addresses beyond a session's first IPv4 and first IPv6, as canonical text. */
  readonly #extra = new Map<number, string[]>();
  readonly #extraOwners = new Map<string, number>();

  readonly #byKey = new SlotIndex((slot) => this.#keyHash[slot]!);
  readonly #byV4 = new SlotIndex((slot) => mix32(this.#v4[slot]!));
  readonly #byV6 = new SlotIndex((slot) => this.#v6Hash(slot));
  readonly #freeSlots: number[] = [];
  #highSlot = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(nas: string, sessionId: string): Session | undefined {
    const slot = this.#slotOf(nas, sessionId);
    return slot < 0 ? undefined : this.#session(slot);
  }

  ownerOf(address: string): Session | undefined {
    const v4 = ipv4Number(address);
    let slot = -1;
    if (v4 >= 0) {
      slot = this.#byV4.find(mix32(v4), (candidate) => this.#v4[candidate] === v4);
    } else {
      let prefix: IpPrefix;
      try {
        prefix = parsePrefix(address);
      } catch {
        return undefined;
      }
      if (prefix.family === 6) slot = this.#findV6(prefix);
      if (slot < 0) slot = this.#extraOwners.get(formatPrefix(prefix)) ?? -1;
    }
    if (slot < 0) slot = this.#extraOwners.get(address) ?? -1;
    return slot < 0 ? undefined : this.#session(slot);
  }

  sessionsOfNas(nas: string): Session[] {
    const id = this.#nasIds.get(nas);
    if (id === undefined) return [];
    // A scan of one typed array: Accounting-On/Off is rare, and a per-NAS index would cost memory.
    const out: Session[] = [];
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags[slot] !== FREE && this.#nas[slot] === id) out.push(this.#session(slot));
    }
    return out;
  }

  expired(now: number, maxAgeMs: number): Session[] {
    const cutoff = now - maxAgeMs;
    const out: Session[] = [];
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags[slot] !== FREE && this.#updatedAt[slot]! < cutoff) out.push(this.#session(slot));
    }
    return out;
  }

  *entries(): IterableIterator<Session> {
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags[slot] !== FREE) yield this.#session(slot);
    }
  }

  /**
   * Records or replaces a session; its addresses now belong to it (the newest claim wins).
   * Throws RBL_ADDRESS_INVALID for an address that does not parse.
   */
  upsert(session: Session): void {
    const addresses = parseAddresses(session.addresses);
    const nasId = intern(session.nas, this.#nasIds, this.#nasNames);
    let slot = this.#slotOf(session.nas, session.sessionId);
    if (slot < 0) {
      slot = this.#allocate();
      this.#nas[slot] = nasId;
      this.#storeId(slot, session.sessionId);
      this.#keyHash[slot] = hashString(session.sessionId, nasId);
      this.#byKey.insert(slot, this.#keyHash[slot]!);
      this.#size++;
    } else {
      this.#unindex(slot);
    }
    this.#client[slot] = intern(session.client, this.#clientIds, this.#clientNames);
    this.#updatedAt[slot] = session.updatedAt;
    let flags = USED;
    const extra: string[] = [];
    for (const { text, prefix, v4 } of addresses) {
      if (v4 >= 0 && (flags & HAS_V4) === 0) {
        flags |= HAS_V4;
        this.#v4[slot] = v4;
      } else if (prefix.family === 6 && (flags & HAS_V6) === 0) {
        flags |= HAS_V6;
        this.#v6.set(prefix.bytes, slot * 16);
        this.#v6Length[slot] = prefix.prefixLength;
      } else {
        extra.push(text);
      }
    }
    this.#flags[slot] = flags;
    // An address has one owner: a newer claim takes it from the session that held it.
    if (flags & HAS_V4) {
      const v4 = this.#v4[slot]!;
      const hash = mix32(v4);
      const previous = this.#byV4.find(hash, (candidate) => this.#v4[candidate] === v4);
      if (previous >= 0) this.#byV4.delete(previous, hash);
      this.#byV4.insert(slot, hash);
    }
    if (flags & HAS_V6) {
      const hash = this.#v6Hash(slot);
      const previous = this.#byV6.find(hash, (candidate) => this.#sameV6(candidate, slot));
      if (previous >= 0) this.#byV6.delete(previous, hash);
      this.#byV6.insert(slot, hash);
    }
    if (extra.length > 0) {
      this.#extra.set(slot, extra);
      for (const address of extra) this.#extraOwners.set(address, slot);
    }
  }

  /** Forgets a session; its addresses lose their owner unless a newer session claimed them. */
  remove(nas: string, sessionId: string): Session | undefined {
    const slot = this.#slotOf(nas, sessionId);
    if (slot < 0) return undefined;
    const session = this.#session(slot);
    this.#unindex(slot);
    this.#byKey.delete(slot, this.#keyHash[slot]!);
    this.#longIds.delete(slot);
    this.#flags[slot] = FREE;
    this.#freeSlots.push(slot);
    this.#size--;
    return session;
  }

  /** Removes and returns the sessions not updated within maxAgeMs before now. */
  expire(now: number, maxAgeMs: number): Session[] {
    const stale = this.expired(now, maxAgeMs);
    for (const session of stale) this.remove(session.nas, session.sessionId);
    return stale;
  }

  #slotOf(nas: string, sessionId: string): number {
    const nasId = this.#nasIds.get(nas);
    if (nasId === undefined) return -1;
    return this.#byKey.find(hashString(sessionId, nasId), (slot) => this.#nas[slot] === nasId && this.#idEquals(slot, sessionId));
  }

  #storeId(slot: number, sessionId: string): void {
    if (sessionId.length <= INLINE_ID && isAscii(sessionId)) {
      for (let i = 0; i < sessionId.length; i++) this.#idBytes[slot * INLINE_ID + i] = sessionId.charCodeAt(i);
      this.#idLength[slot] = sessionId.length;
    } else {
      this.#idLength[slot] = LONG_ID;
      this.#longIds.set(slot, sessionId);
    }
  }

  #idEquals(slot: number, sessionId: string): boolean {
    const length = this.#idLength[slot]!;
    if (length === LONG_ID) return this.#longIds.get(slot) === sessionId;
    if (length !== sessionId.length) return false;
    const base = slot * INLINE_ID;
    for (let i = 0; i < length; i++) if (this.#idBytes[base + i] !== sessionId.charCodeAt(i)) return false;
    return true;
  }

  #sessionIdOf(slot: number): string {
    const length = this.#idLength[slot]!;
    if (length === LONG_ID) return this.#longIds.get(slot)!;
    return String.fromCharCode(...this.#idBytes.subarray(slot * INLINE_ID, slot * INLINE_ID + length));
  }

  #v6Hash(slot: number): number {
    return hashBytes(this.#v6, slot * 16, slot * 16 + 16, this.#v6Length[slot]!);
  }

  #sameV6(a: number, b: number): boolean {
    if (this.#v6Length[a] !== this.#v6Length[b]) return false;
    for (let i = 0; i < 16; i++) if (this.#v6[a * 16 + i] !== this.#v6[b * 16 + i]) return false;
    return true;
  }

  #findV6(prefix: IpPrefix): number {
    const hash = hashBytes(prefix.bytes, 0, 16, prefix.prefixLength);
    return this.#byV6.find(hash, (slot) => {
      if ((this.#flags[slot]! & HAS_V6) === 0 || this.#v6Length[slot] !== prefix.prefixLength) return false;
      for (let i = 0; i < 16; i++) if (this.#v6[slot * 16 + i] !== prefix.bytes[i]) return false;
      return true;
    });
  }

  #session(slot: number): Session {
    const flags = this.#flags[slot]!;
    const addresses: string[] = [];
    if (flags & HAS_V4) addresses.push(ipv4Text(this.#v4[slot]!));
    if (flags & HAS_V6) {
      const address = formatAddressBytes(this.#v6.subarray(slot * 16, slot * 16 + 16));
      const length = this.#v6Length[slot]!;
      addresses.push(length === 128 ? address : `${address}/${length}`);
    }
    addresses.push(...(this.#extra.get(slot) ?? []));
    return {
      nas: this.#nasNames[this.#nas[slot]!]!,
      sessionId: this.#sessionIdOf(slot),
      client: this.#clientNames[this.#client[slot]!]!,
      addresses,
      updatedAt: this.#updatedAt[slot]!,
    };
  }

  /** Takes the slot's addresses out of the owner indexes, where the slot still owns them. */
  #unindex(slot: number): void {
    const flags = this.#flags[slot]!;
    if (flags & HAS_V4) {
      const v4 = this.#v4[slot]!;
      const hash = mix32(v4);
      if (this.#byV4.find(hash, (candidate) => this.#v4[candidate] === v4) === slot) this.#byV4.delete(slot, hash);
    }
    if (flags & HAS_V6) {
      const hash = this.#v6Hash(slot);
      if (this.#byV6.find(hash, (candidate) => this.#sameV6(candidate, slot)) === slot) this.#byV6.delete(slot, hash);
    }
    for (const address of this.#extra.get(slot) ?? []) {
      if (this.#extraOwners.get(address) === slot) this.#extraOwners.delete(address);
    }
    this.#extra.delete(slot);
    this.#flags[slot] = USED;
  }

  #allocate(): number {
    const reused = this.#freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.#highSlot === this.#capacity) this.#grow();
    return this.#highSlot++;
  }

  #grow(): void {
    const capacity = Math.max(1024, this.#capacity * 2);
    const grow = <T extends Uint8Array | Uint32Array | Float64Array>(old: T, make: (n: number) => T, width = 1): T => {
      const next = make(capacity * width);
      next.set(old);
      return next;
    };
    this.#flags = grow(this.#flags, (n) => new Uint8Array(n));
    this.#nas = grow(this.#nas, (n) => new Uint32Array(n));
    this.#client = grow(this.#client, (n) => new Uint32Array(n));
    this.#updatedAt = grow(this.#updatedAt, (n) => new Float64Array(n));
    this.#keyHash = grow(this.#keyHash, (n) => new Uint32Array(n));
    this.#idLength = grow(this.#idLength, (n) => new Uint8Array(n));
    this.#idBytes = grow(this.#idBytes, (n) => new Uint8Array(n), INLINE_ID);
    this.#v4 = grow(this.#v4, (n) => new Uint32Array(n));
    this.#v6 = grow(this.#v6, (n) => new Uint8Array(n), 16);
    this.#v6Length = grow(this.#v6Length, (n) => new Uint8Array(n));
    this.#capacity = capacity;
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function intern(name: string, ids: Map<string, number>, names: string[]): number {
  let id = ids.get(name);
  if (id === undefined) {
    id = names.length;
    names.push(name);
    ids.set(name, id);
  }
  return id;
}

interface ParsedAddress {
  readonly text: string;
  readonly prefix: IpPrefix;
  /** The uint32 of an IPv4 host address, else -1. */
  readonly v4: number;
}

/** Canonical, de-duplicated addresses; throws RBL_ADDRESS_INVALID for text that does not parse. */
function parseAddresses(addresses: readonly string[]): ParsedAddress[] {
  const out: ParsedAddress[] = [];
  for (const address of addresses) {
    const prefix = parsePrefix(address);
    const text = formatPrefix(prefix);
    if (out.some((seen) => seen.text === text)) continue;
    out.push({ text, prefix, v4: prefix.family === 4 && prefix.prefixLength === 32 ? prefix.bytes.readUInt32BE(0) : -1 });
  }
  return out;
}
