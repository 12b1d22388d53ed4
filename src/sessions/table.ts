/**
 * The session table: which accounting session (client, NAS, Acct-Session-Id) holds which addresses,
 * and when it last said so, so a Stop without addresses can be resolved, Accounting-On/Off can
 * unlist a NAS's sessions, and an event older than an address's holder can be told apart
 * (design: "Event order"). It also remembers the sessions that stopped ({@link StoppedSessions}).
 *
 * It must hold a million sessions in a process of at most 100 MB resident, so it is columnar: a
 * session is a slot number, and its scope (client and NAS, interned: {@link SessionScopes}), times
 * ({@link SessionTimes}), Acct-Session-Id ({@link SessionIds}), first IPv4 address and a reference
 * to its first IPv6 address or prefix ({@link Ipv6Pool}) live in paged typed arrays (about 30
 * bytes a session), indexed by typed-array hash tables (who holds an address: {@link AddressOwners}).
 * Only unusual values (non-ASCII ids, further addresses, times far from the others) go to Maps.
 * Which sessions are oldest, for eviction and expiry, is {@link OldestSessions}'s to find. Pure
 * code, no I/O: the queue store journals the changes.
 */
import { formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';
import { PagedColumn } from './columns.js';
import { Ipv6Pool } from './ipv6-pool.js';
import type { Session, SessionKey, SessionRecord } from './session.js';
import { SessionIds } from './session-ids.js';
import { scopeKey, SessionScopes } from './session-scopes.js';
import { SessionTimes } from './session-times.js';
import { ipv4Number, ipv4Text, SlotIndex } from '../collections/slot-index.js';
import { tableAddresses } from './table-addresses.js';
import { AddressOwners } from './address-owners.js';
import { StoppedSessions, type RememberedStop, type StopTime, type StoppedColumns, type StoppedRow } from './stopped.js';
import { EarliestTimes, type EarliestSessionTimes } from './earliest-times.js';
import { OldestSessions } from './oldest-sessions.js';

export type { RememberedStop, StopTime, StoppedColumns, StoppedRow } from './stopped.js';
export type { EarliestSessionTimes } from './earliest-times.js';

/** The read side of the table, as the daemon sees it. */
export interface ReadonlySessionTable {
  /** Client and NAS key pairs that have a recorded session now. */
  readonly nasKeys: number;
  /** How many sessions each client (by config name) has recorded now. */
  sessionsByClient(): Map<string, number>;
  /** The session with this client, NAS key and Acct-Session-Id. */
  get(client: string, nas: string, sessionId: string): Session | undefined;
  /** The session that holds this address (formatPrefix text) now, if any. */
  ownerOf(address: string): Session | undefined;
  /** Every session this client recorded for this NAS key (for Accounting-On/Off): a scan of the whole table. */
  sessionsOfNas(client: string, nas: string): Session[];
  /**
   * Lower bounds on the times of the sessions this client recorded for this NAS key, without a
   * scan; undefined when it has none. Exact after sessionsOfNas, lower once sessions go.
   */
  earliestOfNas(client: string, nas: string): EarliestSessionTimes | undefined;
  /** When this session stopped, while that is remembered. */
  stoppedAt(client: string, nas: string, sessionId: string): RememberedStop | undefined;
  /** How many sessions this client (by config name) has recorded now. */
  sessionsOfClient(client: string): number;
  /** The `count` sessions updated longest ago, oldest first, of all clients or of one (for sessions.max and a client's max_sessions). */
  oldest(count: number, client?: string): Session[];
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

/** A mutable, compact session table. Only the queue store mutates the one the daemon reads. */
export class SessionTable implements ReadonlySessionTable {
  readonly #scopes = new SessionScopes();
  readonly #stopped = new StoppedSessions();
  readonly #earliest = new EarliestTimes();
  readonly #ages = new OldestSessions({
    highSlot: () => this.#highSlot,
    live: (slot) => this.#flags.get(slot) !== FREE,
    updatedAt: (slot) => this.#times.updatedAt(slot),
    clientOf: (slot) => this.#scopes.client(this.#scopes.of(slot)),
  });

  readonly #flags = new PagedColumn((n) => new Uint8Array(n));
  readonly #times = new SessionTimes(() => this.#liveSlots());
  /** Event-Timestamp in seconds; 0 when the NAS sent none. */
  readonly #nasTime = new PagedColumn((n) => new Uint32Array(n));
  readonly #v4 = new PagedColumn((n) => new Uint32Array(n));
  /** The slot's entry in the IPv6 pool: most sessions have none, so 16 address bytes a slot would be wasted. */
  readonly #v6Ref = new PagedColumn((n) => new Uint32Array(n));
  readonly #ids = new SessionIds();

  readonly #v6Pool = new Ipv6Pool();

  /** Addresses beyond a session's first IPv4 and first IPv6, as canonical text. */
  readonly #extra = new Map<number, string[]>();
  readonly #owners = new AddressOwners({
    v4: (slot) => this.#v4.get(slot),
    v6Hash: (slot) => this.#v6Pool.hash(this.#v6Ref.get(slot)),
    v6Is: (slot, bytes, prefixLength) => (this.#flags.get(slot) & HAS_V6) !== 0 && this.#v6Pool.matches(this.#v6Ref.get(slot), bytes, prefixLength),
    updatedAt: (slot) => this.#times.updatedAt(slot),
  });

  readonly #byKey = new SlotIndex((slot) => (this.#keyHashes ? this.#keyHashes.get(slot) : this.#keyHash(slot)));
  /**
   * Each indexed slot's key hash, kept only while a journal is replayed (bulkLoad). On the way to a
   * million sessions the key index grows about thirty times and places every key again each time,
   * five hashes of each key in all: a quarter of a start-up's CPU. Kept, they cost 4 bytes a
   * session, which the table's memory budget has no room for once the service runs.
   */
  #keyHashes: PagedColumn<Uint32Array> | undefined;
  readonly #freeSlots: number[] = [];
  #highSlot = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /**
   * Runs `load` (a journal's replay: many sessions recorded in a row) with each key's hash kept
   * until it settles, so the key index's growth does not hash every key again.
   */
  async bulkLoad<T>(load: () => Promise<T>): Promise<T> {
    this.#keyHashes = new PagedColumn((n) => new Uint32Array(n));
    this.#keyHashes.reserve(this.#highSlot);
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags.get(slot) !== FREE) this.#keyHashes.set(slot, this.#keyHash(slot));
    }
    try {
      return await load();
    } finally {
      this.#keyHashes = undefined;
    }
  }

  #keyHash(slot: number): number {
    return this.#ids.hash(slot, this.#scopes.of(slot));
  }

  get(client: string, nas: string, sessionId: string): Session | undefined {
    const slot = this.#slotOf(client, nas, sessionId);
    return slot < 0 ? undefined : this.#session(slot);
  }

  ownerOf(address: string): Session | undefined {
    const v4 = ipv4Number(address);
    let slot = -1;
    if (v4 >= 0) {
      slot = this.#owners.ownerOfV4(v4);
    } else {
      let prefix: IpPrefix;
      try {
        prefix = parsePrefix(address);
      } catch {
        return undefined;
      }
      if (prefix.family === 6) slot = this.#owners.ownerOfV6(prefix.bytes, prefix.prefixLength);
      if (slot < 0) slot = this.#owners.ownerOfFurther(formatPrefix(prefix));
    }
    if (slot < 0) slot = this.#owners.ownerOfFurther(address);
    return slot < 0 ? undefined : this.#session(slot);
  }

  sessionsOfNas(client: string, nas: string): Session[] {
    const id = this.#scopes.find(client, nas);
    if (id === undefined) return [];
    // A scan of one column: Accounting-On/Off is rare, and a per-NAS index would cost memory.
    // It makes the scope's time bounds exact again on the way (earliest-times.ts).
    const out: Session[] = [];
    let at = Number.POSITIVE_INFINITY;
    let atWithoutNasTime = Number.POSITIVE_INFINITY;
    let nasTime = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags.get(slot) === FREE || this.#scopes.of(slot) !== id) continue;
      const session = this.#session(slot);
      out.push(session);
      at = Math.min(at, session.eventAt);
      if (session.nasTime === undefined) atWithoutNasTime = Math.min(atWithoutNasTime, session.eventAt);
      else nasTime = Math.min(nasTime, session.nasTime);
    }
    this.#earliest.set(id, { at, atWithoutNasTime, nasTime });
    return out;
  }

  earliestOfNas(client: string, nas: string): EarliestSessionTimes | undefined {
    const id = this.#scopes.find(client, nas);
    return id === undefined ? undefined : this.#earliest.of(id);
  }

  expired(now: number, maxAgeMs: number): Session[] {
    return this.#ages.expired(now - maxAgeMs).map((slot) => this.#session(slot));
  }

  stoppedAt(client: string, nas: string, sessionId: string): RememberedStop | undefined {
    return this.#stopped.stoppedAt(stopKey(client, nas, sessionId));
  }

  oldest(count: number, client?: string): Session[] {
    return this.#ages.oldest(count, client).map((slot) => this.#session(slot));
  }

  /** The stopped-session memory, oldest first, in column chunks of at most `size` (read each before anything else runs). */
  stoppedColumns(size: number): IterableIterator<StoppedColumns> {
    return this.#stopped.columns(size);
  }

  *entries(): IterableIterator<Session> {
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags.get(slot) !== FREE) yield this.#session(slot);
    }
  }

  /**
   * Every session with only the addresses it still holds, in slot order: what a snapshot records.
   * An address a newer session took stays out of its former holder's row, so the rows restore the
   * same holders in any order.
   */
  *heldEntries(): IterableIterator<Session> {
    for (let slot = 0; slot < this.#highSlot; slot++) {
      if (this.#flags.get(slot) !== FREE) yield this.#session(slot, true);
    }
  }

  /**
   * Records or replaces a session; its addresses now belong to it (the newest claim wins).
   * Canonical values are taken as they are; text is parsed first, and throws RBL_ADDRESS_INVALID
   * (before anything changes) when it does not parse.
   */
  upsert(session: SessionRecord): void {
    this.#record(session, Number.POSITIVE_INFINITY);
  }

  /**
   * Records a session from a snapshot row. Unlike an event, a row does not take an address from a
   * session updated after it: rows come in slot order, not event order, and a snapshot written
   * before 0.4 could name an address under its former holder too.
   */
  restore(session: SessionRecord): void {
    this.#record(session, session.updatedAt);
  }

  #record(session: SessionRecord, takesFromUpTo: number): void {
    const addresses = tableAddresses(session.addresses);
    const scope = this.#scopes.intern(session.client, session.nas);
    let slot = this.#slotInScope(scope, session.sessionId);
    if (slot < 0) {
      slot = this.#allocate();
      this.#scopes.assign(slot, scope);
      this.#ids.store(slot, session.sessionId);
      const hash = this.#ids.hash(slot, scope);
      if (this.#keyHashes) {
        this.#keyHashes.reserve(slot + 1);
        this.#keyHashes.set(slot, hash);
      }
      this.#byKey.insert(slot, hash);
      this.#size++;
    } else {
      this.#unindex(slot);
    }
    this.#times.set(slot, session.updatedAt, session.eventAt);
    this.#nasTime.set(slot, session.nasTime ?? 0);
    // The times as they are read back (the lag is kept within bounds, the Event-Timestamp as 32 bits).
    const updatedAt = this.#times.updatedAt(slot);
    this.#earliest.note(scope, updatedAt - this.#times.eventLag(slot), this.#nasTime.get(slot));
    this.#ages.recorded(session.client, slot, updatedAt);
    let flags = USED;
    this.#flags.set(slot, flags);
    const extra: string[] = [];
    for (const address of addresses) {
      const held = this.#owners.claim(address, takesFromUpTo);
      if (address.v4 >= 0 && (flags & HAS_V4) === 0) {
        flags |= HAS_V4;
        this.#flags.set(slot, flags);
        this.#v4.set(slot, address.v4);
        if (held) this.#owners.holdV4(slot, address.v4);
      } else if (address.v6 && (flags & HAS_V6) === 0) {
        flags |= HAS_V6;
        const ref = this.#v6Pool.add(address.v6, address.prefixLength);
        this.#v6Ref.set(slot, ref);
        this.#flags.set(slot, flags);
        if (held) this.#owners.holdV6(slot, this.#v6Pool.hash(ref));
      } else {
        extra.push(address.text);
        if (held) this.#owners.holdFurther(slot, address.text);
      }
    }
    if (extra.length > 0) this.#extra.set(slot, extra);
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
    for (const client of this.#scopes.clientsOf(nas)) {
      const removed = this.remove(client, nas, sessionId);
      if (removed) return removed;
    }
    return undefined;
  }

  /** Forgets a session (expired or evicted; nothing is remembered); its addresses lose their owner unless a newer session claimed them. */
  remove(client: string, nas: string, sessionId: string): Session | undefined {
    const slot = this.#slotOf(client, nas, sessionId);
    if (slot < 0) return undefined;
    const session = this.#session(slot);
    const scope = this.#scopes.of(slot);
    this.#unindex(slot);
    this.#byKey.delete(slot, this.#ids.hash(slot, scope));
    this.#ids.release(slot);
    this.#times.release(slot);
    this.#flags.set(slot, FREE);
    this.#freeSlots.push(slot);
    this.#size--;
    if (this.#scopes.release(slot)) this.#earliest.forget(scope);
    this.#ids.compact(() => this.#liveSlots());
    return session;
  }

  /** Removes and returns the sessions not updated within maxAgeMs before now. */
  expire(now: number, maxAgeMs: number): Session[] {
    const stale = this.expired(now, maxAgeMs);
    for (const session of stale) this.remove(session.client, session.nas, session.sessionId);
    return stale;
  }

  *#liveSlots(): IterableIterator<number> {
    for (let slot = 0; slot < this.#highSlot; slot++) if (this.#flags.get(slot) !== FREE) yield slot;
  }

  #slotOf(client: string, nas: string, sessionId: string): number {
    const scope = this.#scopes.find(client, nas);
    return scope === undefined ? -1 : this.#slotInScope(scope, sessionId);
  }

  #slotInScope(scope: number, sessionId: string): number {
    return this.#byKey.find(this.#ids.key(sessionId, scope), (slot) => this.#scopes.of(slot) === scope && this.#ids.matchesKey(slot));
  }

  get nasKeys(): number {
    return this.#scopes.size;
  }

  sessionsByClient(): Map<string, number> {
    return this.#scopes.sessionsByClient();
  }

  sessionsOfClient(client: string): number {
    return this.#scopes.sessionsOfClient(client);
  }

  /** The session in this slot, with every address it recorded or (`heldOnly`) those it still holds. */
  #session(slot: number, heldOnly = false): Session {
    const flags = this.#flags.get(slot);
    const addresses: string[] = [];
    if (flags & HAS_V4 && (!heldOnly || this.#owners.holdsV4(slot, this.#v4.get(slot)))) addresses.push(ipv4Text(this.#v4.get(slot)));
    if (flags & HAS_V6 && (!heldOnly || this.#owners.holdsV6(slot, this.#v6Pool.hash(this.#v6Ref.get(slot))))) {
      addresses.push(this.#v6Pool.text(this.#v6Ref.get(slot)));
    }
    for (const address of this.#extra.get(slot) ?? []) if (!heldOnly || this.#owners.holdsFurther(slot, address)) addresses.push(address);
    const scope = this.#scopes.of(slot);
    const nasTime = this.#nasTime.get(slot);
    const updatedAt = this.#times.updatedAt(slot);
    return {
      client: this.#scopes.client(scope),
      nas: this.#scopes.nas(scope),
      sessionId: this.#ids.text(slot),
      addresses,
      updatedAt,
      eventAt: updatedAt - this.#times.eventLag(slot),
      ...(nasTime === 0 ? {} : { nasTime }),
    };
  }

  /** Takes the slot's addresses out of the owner indexes, where the slot still owns them. */
  #unindex(slot: number): void {
    const flags = this.#flags.get(slot);
    if (flags & HAS_V4) this.#owners.releaseV4(slot, this.#v4.get(slot));
    if (flags & HAS_V6) {
      const ref = this.#v6Ref.get(slot);
      this.#owners.releaseV6(slot, this.#v6Pool.hash(ref));
      this.#v6Pool.release(ref);
    }
    for (const address of this.#extra.get(slot) ?? []) this.#owners.releaseFurther(slot, address);
    this.#extra.delete(slot);
    this.#flags.set(slot, USED);
  }

  #allocate(): number {
    const reused = this.#freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.#highSlot++;
    if (slot >= this.#flags.capacity) {
      for (const column of [this.#flags, this.#nasTime, this.#v4, this.#v6Ref]) column.reserve(slot + 1);
      this.#scopes.reserve(slot + 1);
      this.#times.reserve(slot + 1);
      this.#ids.reserve(slot + 1);
    }
    return slot;
  }
}

function stopKey(client: string, nas: string, sessionId: string): string {
  return `${scopeKey(client, nas)}${sessionId}`;
}
