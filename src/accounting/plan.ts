/**
 * What an accounting event does (design: "What each accounting event does", "Event order"): the
 * session-table changes and the addresses to unlist, after the ordering and safety rules. Pure
 * code: the caller commits the plan.
 */
import type { RblError } from '../errors.js';
import { canonicalPrefix, parsePrefix, type CanonicalPrefix } from '../net/address.js';
import type { CanonicalSession, Session, SessionKey } from '../sessions/session.js';
import type { ReadonlySessionTable, StopTime } from '../sessions/table.js';
import type { AccountingEvent } from './event.js';
import { happenedBefore, provablyAfter, restartedAfter, sessionTime, someSessionBefore, type EventTime } from './order.js';
import { unlistRefusal, type UnlistPolicy } from './policy.js';

/** A recorded session as the planner sees it: the session table's own record. */
export type PlannedSession = Session;

/** The read side of the session table the planner needs. */
export type SessionLookup = Pick<ReadonlySessionTable, 'get' | 'ownerOf' | 'sessionsOfNas' | 'earliestOfNas' | 'stoppedAt' | 'oldest' | 'sessionsOfClient' | 'size'>;

export interface PlanContext extends UnlistPolicy {
  /** Which events unlist (config unlist_on). */
  readonly unlistOn: ReadonlySet<string>;
  /** sessions.max: a new session past it evicts the oldest. */
  readonly maxSessions: number;
  /** The event's client's max_sessions: a new session of it past that evicts the client's own oldest. */
  readonly clientMaxSessions?: number | undefined;
}

/** A session to forget; with `stoppedAt` it stopped (and is remembered so), without it is only forgotten (evicted, expired). */
export interface SessionRemoval extends SessionKey {
  readonly stoppedAt?: StopTime;
}

/**
 * Why an event (or one of its addresses) acts on nothing:
 * - session_stopped: a Start or Interim-Update of a session that already stopped (a replay, or delayed);
 * - out_of_order: a Start, Interim-Update or Stop older than its own session's last one (a Stop: by the NAS's clock);
 * - address_taken: the address belongs to another session with a newer event;
 * - sessions_newer: an Accounting-On/Off older than some of its NAS's sessions, which it leaves alone;
 * - unknown_session: a Stop that names no address and matches no recorded session.
 */
export const STALE_REASONS = ['session_stopped', 'out_of_order', 'address_taken', 'sessions_newer', 'unknown_session'] as const;
export type StaleReason = (typeof STALE_REASONS)[number];

export interface StaleFinding {
  readonly reason: StaleReason;
  readonly address?: string;
  /** The session that holds the address, or the newer record of the event's own session. */
  readonly owner?: PlannedSession;
}

export interface EventPlan {
  /** Sessions to record or refresh, with canonical addresses. */
  readonly upsert: readonly CanonicalSession[];
  /** Sessions to forget: stopped ones, and the oldest evicted for sessions.max. */
  readonly remove: readonly SessionRemoval[];
  /** The sessions evicted for sessions.max or the client's max_sessions (also in `remove`). */
  readonly evicted: readonly PlannedSession[];
  /** How many of `evicted`, the first ones, went for the client's own max_sessions. */
  readonly evictedForClient?: number;
  /** Addresses to unlist, canonical values (made once, trusted by the queue), each allowed by the safety rules. */
  readonly unlist: readonly CanonicalPrefix[];
  /** Addresses the safety rules kept listed (or kept out of the table), with the reason. */
  readonly refused: readonly { readonly address: string; readonly error: RblError }[];
  /** What the event may not do because of event order. */
  readonly stale: readonly StaleFinding[];
}

/** Whether the plan changes nothing (no session change, nothing to unlist): it needs no journal record. */
export function isEmptyPlan(plan: EventPlan): boolean {
  return plan.upsert.length === 0 && plan.remove.length === 0 && plan.unlist.length === 0;
}

/**
 * The list with the item added: a new one-element array when it was empty. Pushing onto an empty
 * array literal gives it room for 16 more, and a Stop's plan is a handful of one-element lists
 * that live until its journal record is written: at thousands of Stops a second that room was
 * most of what planning allocated.
 */
/** Sessions one event evicts at most (sessions.max): about 600 kB of journal record. */
const MAX_EVICTIONS = 10_000;

/** Up to this many unlist candidates are told apart by comparing each with those before it. */
const FEW_CANDIDATES = 16;

/** Whether candidate i names an address one before it named. */
function namedBefore(candidates: readonly CanonicalPrefix[], i: number): boolean {
  for (let j = 0; j < i; j++) if (candidates[j]!.text === candidates[i]!.text) return true;
  return false;
}

function withItem<T>(list: T[], item: T): T[] {
  if (list.length === 0) return [item];
  list.push(item);
  return list;
}

/** The canonical text of the i-th address of a Stop: its own (prefixes) first, then its session's recorded ones (text). */
function stopAddressText(own: readonly CanonicalPrefix[], recorded: readonly string[], i: number): string {
  return i < own.length ? own[i]!.text : recorded[i - own.length]!;
}

const sameSession = (a: SessionKey, b: SessionKey | undefined): boolean =>
  b !== undefined && a.client === b.client && a.nas === b.nas && a.sessionId === b.sessionId;

/** Plans an event against the session table and the rules. */
export function planEvent(event: AccountingEvent, sessions: SessionLookup, context: PlanContext): EventPlan {
  const upsert: CanonicalSession[] = [];
  let remove: SessionRemoval[] = [];
  const evicted: PlannedSession[] = [];
  let evictedForClient = 0;
  const evict = (session: PlannedSession): void => {
    evicted.push(session);
    remove.push({ client: session.client, nas: session.nas, sessionId: session.sessionId });
  };
  let candidates: CanonicalPrefix[] = [];
  const stale: StaleFinding[] = [];
  // Few addresses per event: arrays searched in place cost less than a Map or Set per event.
  let refused: { address: string; error: RblError }[] = [];
  const refuse = (address: string, error: RblError): void => {
    const earlier = refused.find((entry) => entry.address === address);
    if (earlier) earlier.error = error;
    else refused = withItem(refused, { address, error });
  };
  const time: EventTime = event;
  const key: SessionKey | undefined = event.sessionId === undefined ? undefined : { client: event.client, nas: event.nas, sessionId: event.sessionId };
  const stopTime: StopTime = { at: event.at, nasTime: event.nasTime };

  switch (event.type) {
    case 'start':
    case 'interim': {
      // An address this client may not unlist is never recorded for it either.
      const allowed: CanonicalPrefix[] = [];
      for (const target of event.addresses) {
        const error = unlistRefusal(target, context);
        if (error) refuse(target.text, error);
        else allowed.push(target);
      }
      const recordable = allowed.map((target) => target.text);
      const findings = claimStaleness(time, key, recordable, sessions);
      if (findings.length > 0) {
        stale.push(...findings);
        break;
      }
      if (key) {
        const known = sessions.get(key.client, key.nas, key.sessionId);
        // A retransmission that came after the duplicate cache forgot it, or a replay: taken as new,
        // it would date its session now and take an address back from a newer session of another NAS.
        if (known && repeatsRecord(time, recordable, known)) break;
        // An Interim-Update without addresses keeps what the Start recorded, as far as the session
        // still holds it: an address a newer session took since is not taken back.
        // The table's text is canonical already; made a value again only on this rare path.
        const addresses =
          allowed.length > 0
            ? allowed
            : (known?.addresses ?? []).filter((address) => sameSession(key, sessions.ownerOf(address))).map((address) => canonicalPrefix(parsePrefix(address)));
        // A Start of a recorded session is a new one under a reused Acct-Session-Id, the old one's
        // Stop lost: what the old one held and the new one does not name went back to the pool, and
        // is unlisted as that Stop would have done. (An Interim-Update unlists nothing: design.)
        if (known && event.type === 'start' && context.unlistOn.has('stop')) {
          for (const address of known.addresses) {
            if (addresses.some((target) => target.text === address) || !sameSession(key, sessions.ownerOf(address))) continue;
            candidates = withItem(candidates, canonicalPrefix(parsePrefix(address)));
          }
        }
        if (addresses.length > 0) {
          upsert.push({ ...key, addresses, updatedAt: event.receivedAt, eventAt: event.at, nasTime: event.nasTime });
          if (!known) {
            // A client past its own max_sessions gives up its own oldest first: a NAS that never
            // sends Stops, or one that sends Starts under ever new ids, must not push the sessions
            // of other clients out of the table, whose Accounting-On would then unlist nothing.
            const cap = context.clientMaxSessions ?? Number.POSITIVE_INFINITY;
            const own = sessions.sessionsOfClient(key.client);
            if (own >= cap) {
              for (const session of sessions.oldest(evictionCount(own, cap), key.client)) evict(session);
              evictedForClient = evicted.length;
            }
            if (sessions.size - evicted.length >= context.maxSessions) {
              const count = evictionCount(sessions.size - evicted.length, context.maxSessions);
              // The client's own may be among the oldest of all: taken once, with one more instead.
              const taken = new Set(evicted.map(sessionKeyText));
              for (const session of sessions.oldest(count + taken.size)) {
                if (evicted.length - evictedForClient < count && !taken.has(sessionKeyText(session))) evict(session);
              }
            }
          }
        }
      }
      // The new user of an address must not inherit its listing.
      if (event.type === 'start' && context.unlistOn.has('start')) for (const target of allowed) candidates = withItem(candidates, target);
      break;
    }
    case 'stop': {
      const known = key && sessions.get(key.client, key.nas, key.sessionId);
      if (known && namesNoneOf(event.addresses, known) && provablyAfter(sessionTime(known), time)) {
        // The NAS's own clock dates this Stop before its session's last record, and it names none
        // of the addresses the session holds: the Stop of an earlier session under a reused
        // Acct-Session-Id (replayed after the duplicate cache forgot it, or late). It ends nothing
        // that runs now: the session and what it holds stay. What it names that no session holds
        // went back to the pool then, and is unlisted as it was. A Stop that names what the session
        // holds is its own, even dated earlier (a NAS clock stepped back): ended, and unlisted.
        stale.push({ reason: 'out_of_order', owner: known });
        if (context.unlistOn.has('stop')) for (const target of event.addresses) if (sessions.ownerOf(target.text) === undefined) candidates = withItem(candidates, target);
        break;
      }
      // Remembered even when unknown, so a replay of its Start is recognised.
      if (key) remove = [{ client: key.client, nas: key.nas, sessionId: key.sessionId, stoppedAt: stopTimeOf(stopTime, known) }];
      // The Stop's own addresses and what its session recorded: a Stop may repeat only some of them.
      // The Stop's own are already prefixes; only what the table recorded (text) is parsed. Walked
      // by index, each address once (the first time it is named), without a list of them.
      const own = event.addresses;
      const recorded = known?.addresses ?? [];
      let named = 0;
      for (let i = 0; i < own.length + recorded.length; i++) {
        const address = stopAddressText(own, recorded, i);
        let earlier = false;
        for (let j = 0; j < i && !earlier; j++) earlier = stopAddressText(own, recorded, j) === address;
        if (earlier) continue;
        named++;
        const owner = sessions.ownerOf(address);
        if (owner !== undefined && !sameSession(owner, key) && !provablyAfter(time, sessionTime(owner))) {
          stale.push({ reason: 'address_taken', address, owner });
          continue;
        }
        if (context.unlistOn.has('stop')) candidates = withItem(candidates, i < own.length ? own[i]! : canonicalPrefix(parsePrefix(address)));
      }
      if (named === 0) stale.push({ reason: 'unknown_session' });
      break;
    }
    case 'accounting-on':
    case 'accounting-off': {
      // The NAS restarted: every session it had before is over (RFC 2866 §5.1), but not those it
      // started since, which a replayed or delayed Accounting-On must not wipe.
      const earliest = sessions.earliestOfNas(event.client, event.nas);
      if (earliest === undefined) break;
      // Older than all of them (a replay, or late): known without a scan of the whole table,
      // which a replay repeated from new source ports would otherwise make again and again.
      if (!someSessionBefore(earliest, time)) {
        stale.push({ reason: 'sessions_newer' });
        break;
      }
      let newer = 0;
      for (const session of sessions.sessionsOfNas(event.client, event.nas)) {
        if (!happenedBefore(sessionTime(session), time)) {
          newer++;
          continue;
        }
        remove.push({ client: session.client, nas: session.nas, sessionId: session.sessionId, stoppedAt: stopTimeOf(stopTime, session) });
        for (const address of session.addresses) {
          // A session whose Stop was lost may name an address another session holds now.
          const owner = sessions.ownerOf(address);
          if (owner !== undefined && !sameSession(owner, session)) {
            stale.push({ reason: 'address_taken', address, owner });
            continue;
          }
          if (context.unlistOn.has(event.type)) candidates = withItem(candidates, canonicalPrefix(parsePrefix(address)));
        }
      }
      if (newer > 0) stale.push({ reason: 'sessions_newer' });
      break;
    }
    case 'other':
      break;
  }

  let unlist: CanonicalPrefix[] = [];
  // Judged once: an address named twice (a Start's own list, an Accounting-On's sessions) is one
  // target. A few are compared with those before them; many (an Accounting-On of a large NAS names
  // tens of thousands) through a Set, since comparing each with all before it blocked the event
  // loop for tens of seconds.
  const judged = candidates.length > FEW_CANDIDATES ? new Set<string>() : undefined;
  for (let i = 0; i < candidates.length; i++) {
    const target = candidates[i]!;
    const address = target.text;
    if (judged) {
      if (judged.has(address)) continue;
      judged.add(address);
    } else if (namedBefore(candidates, i)) continue;
    const error = unlistRefusal(target, context);
    if (error) refuse(address, error);
    else unlist = withItem(unlist, target);
  }
  return { upsert, remove, evicted, ...(evictedForClient > 0 ? { evictedForClient } : {}), unlist, refused, stale };
}

/**
 * How many sessions a new one evicts from `held` past `cap`: a thousandth of the cap, so the scan
 * for the oldest runs rarely; at most MAX_EVICTIONS: a reload that lowered the cap far below what
 * is held is worked off over the next new sessions, not by one event whose journal record (some
 * 60 bytes a session) would outgrow what replay reads, while the service answers nothing.
 */
function evictionCount(held: number, cap: number): number {
  return Math.min(MAX_EVICTIONS, Math.max(held - cap + 1, Math.ceil(cap / 1000)));
}

/** A session key as one string, to tell the sessions of one eviction apart. */
function sessionKeyText(session: SessionKey): string {
  return `${session.client}\u0000${session.nas}\u0000${session.sessionId}`;
}

/**
 * When a session ended, as it is remembered: the NAS's clock of the event that ended it, or else
 * that of the session's own newest Start or Interim-Update, which the end came after. A Start
 * that reuses the Acct-Session-Id is told from a replay by that NAS time (restartedAfter): without
 * one, a NAS whose Accounting-On carries no Event-Timestamp while its Starts do would have each
 * session that reuses an id after its reboot taken for a replay, not recorded, and its address not
 * unlisted at its Start. Every Start or Interim of the old session that was recorded is no newer
 * than that time, so a replay of one stays stale.
 */
function stopTimeOf(stop: StopTime, session: PlannedSession | undefined): StopTime {
  if (stop.nasTime !== undefined || session?.nasTime === undefined) return stop;
  return { at: stop.at, nasTime: session.nasTime };
}

/**
 * Whether a Start or Interim-Update says again what its session's record says: the same
 * Event-Timestamp (the NAS's clock, so it is the same event) and the same addresses, or none.
 * An Interim-Update in the same second that brings an address is news, and is recorded.
 */
/** Whether a Stop names addresses, none of which the session holds. */
function namesNoneOf(addresses: readonly CanonicalPrefix[], session: PlannedSession): boolean {
  return addresses.length > 0 && addresses.every((address) => !session.addresses.includes(address.text));
}

function repeatsRecord(time: EventTime, addresses: readonly string[], known: PlannedSession): boolean {
  if (time.nasTime === undefined || time.nasTime !== known.nasTime) return false;
  return addresses.every((address) => known.addresses.includes(address)) && known.addresses.every((address) => addresses.length === 0 || addresses.includes(address));
}

/**
 * Why a Start or Interim-Update may not claim its addresses: its session stopped, a newer record
 * of its own session exists, or a session with a newer event holds one of them. Empty when it may.
 */
function claimStaleness(time: EventTime, key: SessionKey | undefined, addresses: readonly string[], sessions: SessionLookup): StaleFinding[] {
  if (key) {
    const stop = sessions.stoppedAt(key.client, key.nas, key.sessionId);
    if (stop && !restartedAfter(time, stop)) return [{ reason: 'session_stopped' }];
    const known = sessions.get(key.client, key.nas, key.sessionId);
    if (known && happenedBefore(time, sessionTime(known))) return [{ reason: 'out_of_order', owner: known }];
  }
  const findings: StaleFinding[] = [];
  for (const address of addresses) {
    const owner = sessions.ownerOf(address);
    if (owner && !sameSession(owner, key) && happenedBefore(time, sessionTime(owner))) findings.push({ reason: 'address_taken', address, owner });
  }
  return findings;
}
