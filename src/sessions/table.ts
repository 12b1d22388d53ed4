/**
 * The session table: which accounting session (client, NAS, Acct-Session-Id) holds which addresses,
 * and when it last said so, so a Stop without addresses can be resolved, Accounting-On/Off can
 * unlist a NAS's sessions, and an event older than an address's holder can be told apart
 * (design: "Event order"). It also remembers the sessions that stopped ({@link StoppedSessions}).
 *
 * It must hold a million sessions in well under 150 MB, so it is columnar: a session is a slot
 * number, and its scope (client and NAS, interned), times, Acct-Session-Id (ASCII up to 20 bytes,
 * inline), first IPv4 address and first IPv6 address or prefix live in typed arrays, indexed by
 * typed-array hash tables. Only unusual values (long ids, further addresses) become strings in
 * Maps. Pure code, no I/O: the queue store journals the changes.
 */
import { formatAddressBytes, formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';
import { hashBytes, hashString, ipv4Number, ipv4Text, mix32, SlotIndex } from './slot-index.js';
import { StoppedSessions, type RememberedStop, type StopTime, type StoppedRow } from './stopped.js';

export type { RememberedStop, StopTime, StoppedRow } from './stopped.js';

/** What names a session: the RADIUS client it came through, the NAS key, and Acct-Session-Id. */
export interface SessionKey {
  /** The configured RADIUS client name: one client never reaches another's sessions. */
  readonly client: string;
  /** The NAS key (NAS-IP-Address / NAS-Identifier / source), as the accounting stage builds it. */
  readonly nas: string;
  /** Acct-Session-Id. */
  readonly sessionId: string;
}

/** One recorded accounting session. */
export interface Session extends SessionKey {
  /** Canonical formatPrefix text; read back, the first IPv4 host address comes first, then the first IPv6 address or prefix. */
  readonly addresses: readonly string[];
  /** When Start or Interim-Update last recorded it (receive time), in ms since the epoch; sessions.max_age counts from here. */
  readonly updatedAt: number;
  /** The event time of that record: its receive time minus Acct-Delay-Time (RFC 2866 §5.2), ms since the epoch. */
  readonly eventAt: number;
  /** Its Event-Timestamp (RFC 2869 §5.3), seconds by the NAS's clock, when the NAS sent one. */
  readonly nasTime?: number | undefined;
}

/** The read side of the table, as the daemon sees it. */
export interface ReadonlySessionTable {
  /** The session with this client, NAS key and Acct-Session-Id. */
  get(client: string, nas: string, sessionId: string): Session | undefined;
  /** The session that holds this address (formatPrefix text) now, if any. */
  ownerOf(address: string): Session | undefined;
  /** Every session this client recorded for this NAS key (for Accounting-On/Off). */
  sessionsOfNas(client: string, nas: string): Session[];
  /** When this session stopped, while that is remembered. */
  stoppedAt(client: string, nas: string, sessionId: string): RememberedStop | undefined;
  /** The `count` sessions updated longest ago, oldest first (for the sessions.max cap). */
  oldest(count: number): Session[];
  /** How many sessions are recorded. */
  readonly size: number;
  /** The sessions not updated within maxAgeMs before now (nothing is removed). */
  expired(now: number, maxAgeMs: number): Session[];
  /** Every session, in slot order; tolerates changes made while iterating. */
  entries(): IterableIterator<Session>;
  /** The remembered stops, oldest first, for the journal snapshot. */
  stoppedRows(): IterableIterator<StoppedRow>;
}

const FREE = 0;
const USED = 1;
const HAS_V4 = 2;
const HAS_V6 = 4;
/** Acct-Session-Ids up to this many ASCII characters (most NASes send 8 to 16) are stored inline; others in a Map. */
const INLINE_ID = 20;
const LONG_ID = 255;
/** The longest Acct-Delay-Time kept exactly (about 24 days); a longer one orders as this. */
const MAX_LAG = 0x7fffffff;

/** A mutable, compact session table. Only the queue store mutates the one the daemon reads. */
export class SessionTable implements ReadonlySessionTable {
  /** Interned scopes: one per (client, NAS key). */
  readonly #scopeIds = new Map<string, number>();
  readonly #scopeClient: string[] = [];
  readonly #scopeNas: string[] = [];
  readonly #stopped = new StoppedSessions();

  #capacity = 0;
  #flags = new Uint8Array(0);
  #scope = new Uint32Array(0);
  #updatedAt = new Float64Array(0);
  /** updatedAt − eventAt (the Acct-Delay-Time), ms: 4 bytes where a second timestamp would take 8. */
  #eventLag = new Int32Array(0);
  /** Event-Timestamp in seconds; 0 when the NAS sent none. */
  #nasTime = new Uint32Array(0);
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

  get(client: string, nas: string, sessionId: string): Session | undefined {
    const slot = this.#slotOf(client, nas, sessionId);
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

  sessionsOfNas(client: string, nas: string): Session[] {
    const id = this.#scopeIds.get(scopeKey(client, nas));
    if (id === undefined) return [];
    // A scan of one typed array: Accounting-On/Off is rare, and a per-NAS index would cost memory.
    const out: Session[] = [];
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags[slot] !== FREE && this.#scope[slot] === id) out.push(this.#session(slot));
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

  stoppedAt(client: string, nas: string, sessionId: string): RememberedStop | undefined {
    return this.#stopped.stoppedAt(stopKey(client, nas, sessionId));
  }

  oldest(count: number): Session[] {
    // One pass keeping the `count` oldest in a max-heap of slots: eviction runs once per batch.
    const heap: number[] = [];
    const older = (a: number, b: number): boolean => this.#updatedAt[a]! > this.#updatedAt[b]!;
    for (let slot = 0; slot < this.#highSlot && count > 0; slot++) {
      if (this.#flags[slot] === FREE) continue;
      if (heap.length < count) {
        heap.push(slot);
        for (let i = heap.length - 1; i > 0 && older(heap[i]!, heap[(i - 1) >> 1]!); i = (i - 1) >> 1) swap(heap, i, (i - 1) >> 1);
      } else if (this.#updatedAt[slot]! < this.#updatedAt[heap[0]!]!) {
        heap[0] = slot;
        for (let i = 0; ; ) {
          let top = i;
          for (const child of [2 * i + 1, 2 * i + 2]) if (child < heap.length && older(heap[child]!, heap[top]!)) top = child;
          if (top === i) break;
          swap(heap, i, top);
          i = top;
        }
      }
    }
    return heap.map((slot) => this.#session(slot)).sort((a, b) => a.updatedAt - b.updatedAt);
  }

  *stoppedRows(): IterableIterator<StoppedRow> {
    yield* this.#stopped.rows();
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
    const scope = this.#intern(session.client, session.nas);
    let slot = this.#slotInScope(scope, session.sessionId);
    if (slot < 0) {
      slot = this.#allocate();
      this.#scope[slot] = scope;
      this.#storeId(slot, session.sessionId);
      this.#keyHash[slot] = hashString(session.sessionId, scope);
      this.#byKey.insert(slot, this.#keyHash[slot]!);
      this.#size++;
    } else {
      this.#unindex(slot);
    }
    this.#updatedAt[slot] = session.updatedAt;
    this.#eventLag[slot] = Math.min(MAX_LAG, Math.max(0, session.updatedAt - session.eventAt));
    this.#nasTime[slot] = session.nasTime ?? 0;
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

  /** Forgets a session and remembers that it stopped then, so a later Start or Interim of it is recognisably stale. */
  stop(key: SessionKey, time: StopTime): Session | undefined {
    this.#stopped.remember(stopKey(key.client, key.nas, key.sessionId), time);
    return this.remove(key.client, key.nas, key.sessionId);
  }

  /** Remembers a stop from a journal snapshot row. */
  rememberStopped([high, low, nasTime]: StoppedRow): void {
    this.#stopped.rememberHashed(high, low, nasTime);
  }

  /**
   * Forgets the session of this NAS key and Acct-Session-Id whatever its client: journal format 1
   * named sessions without their client, and a session had one client there.
   */
  removeUnscoped(nas: string, sessionId: string): Session | undefined {
    for (const scope of this.#scopeIds.values()) {
      if (this.#scopeNas[scope] !== nas) continue;
      const removed = this.remove(this.#scopeClient[scope]!, nas, sessionId);
      if (removed) return removed;
    }
    return undefined;
  }

  /** Forgets a session (expired or evicted; nothing is remembered); its addresses lose their owner unless a newer session claimed them. */
  remove(client: string, nas: string, sessionId: string): Session | undefined {
    const slot = this.#slotOf(client, nas, sessionId);
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
    for (const session of stale) this.remove(session.client, session.nas, session.sessionId);
    return stale;
  }

  #slotOf(client: string, nas: string, sessionId: string): number {
    const scope = this.#scopeIds.get(scopeKey(client, nas));
    return scope === undefined ? -1 : this.#slotInScope(scope, sessionId);
  }

  #slotInScope(scope: number, sessionId: string): number {
    return this.#byKey.find(hashString(sessionId, scope), (slot) => this.#scope[slot] === scope && this.#idEquals(slot, sessionId));
  }

  #intern(client: string, nas: string): number {
    const key = scopeKey(client, nas);
    let id = this.#scopeIds.get(key);
    if (id === undefined) {
      id = this.#scopeClient.length;
      this.#scopeClient.push(client);
      this.#scopeNas.push(nas);
      this.#scopeIds.set(key, id);
    }
    return id;
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
    const scope = this.#scope[slot]!;
    const nasTime = this.#nasTime[slot]!;
    return {
      client: this.#scopeClient[scope]!,
      nas: this.#scopeNas[scope]!,
      sessionId: this.#sessionIdOf(slot),
      addresses,
      updatedAt: this.#updatedAt[slot]!,
      eventAt: this.#updatedAt[slot]! - this.#eventLag[slot]!,
      ...(nasTime === 0 ? {} : { nasTime }),
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
    const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(old: T, make: (n: number) => T, width = 1): T => {
      const next = make(capacity * width);
      next.set(old);
      return next;
    };
    this.#flags = grow(this.#flags, (n) => new Uint8Array(n));
    this.#scope = grow(this.#scope, (n) => new Uint32Array(n));
    this.#updatedAt = grow(this.#updatedAt, (n) => new Float64Array(n));
    this.#eventLag = grow(this.#eventLag, (n) => new Int32Array(n));
    this.#nasTime = grow(this.#nasTime, (n) => new Uint32Array(n));
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

/** Client names come from the config and hold no NUL; the NAS key's length keeps it apart from the session id that follows. */
function scopeKey(client: string, nas: string): string {
  return `${client}\u0000${nas.length}:${nas}`;
}

function stopKey(client: string, nas: string, sessionId: string): string {
  return `${scopeKey(client, nas)}${sessionId}`;
}

function swap(list: number[], a: number, b: number): void {
  const kept = list[a]!;
  list[a] = list[b]!;
  list[b] = kept;
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
