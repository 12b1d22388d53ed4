/**
 * What the service saw of each address recently, for `rbl-unlist why` and GET /addresses/ADDRESS:
 * the last accounting event that named it (with the User-Name and since when the session held it,
 * which the durable session table does not keep) and its last unlist, each backend's and zone's
 * outcome with the latency. Bounded in memory, at most {@link DEFAULT_HISTORY_LIMIT} addresses, and
 * empty after a restart. Pure code.
 *
 * Recency is kept by generations, as quick-lru does: new addresses go into the current Map; when
 * it holds half the limit it becomes the old one and the previous old one is dropped whole. So the
 * history always holds at least the last limit/2 addresses touched, and eviction costs nothing per
 * event (deleting the oldest key of one Map, one at a time, makes V8 skip ever more holes to find
 * the next: tens of microseconds per event at this size).
 */
import type { UnlistJob, UnlistReason } from '../queue/state.js';

/** How many addresses the history keeps (about 1 KB each with a session and an unlist, so some 20 MB when full). */
export const DEFAULT_HISTORY_LIMIT = 20_000;

/** The last accounting event that named an address, and the session it belongs to. */
export interface SessionNote {
  readonly client: string;
  readonly nas: string;
  readonly sessionId: string | undefined;
  readonly userName: string | undefined;
  /** When this session was first seen naming the address (its Start when the service saw it). */
  readonly since: number;
  readonly lastEvent: string;
  readonly lastEventAt: number;
}

/** What became of an unlist in one backend and zone. */
export interface DeliveryNote {
  readonly backend: string;
  readonly zone: string;
  readonly outcome: 'unlisted' | 'retrying' | 'dead_letter';
  readonly at: number;
  /** From the accounting event to this outcome. */
  readonly latencyMs: number;
  readonly code?: string;
  readonly message?: string;
  /** The lane's consecutive failures, for `retrying`. */
  readonly attempt?: number;
}

/** The last unlist of an address: the job, the event that asked for it, and each delivery's outcome. */
export interface UnlistNote {
  readonly job: string;
  readonly target: string;
  readonly reason: UnlistReason;
  readonly requestedAt: number;
  readonly deliveries: readonly DeliveryNote[];
}

interface Entry {
  session: SessionNote | undefined;
  /** Deliveries as a short array (one per backend and zone): a Map per address would double the memory. */
  unlist: { job: string; target: string; reason: UnlistReason; requestedAt: number; deliveries: DeliveryNote[] } | undefined;
}

/** An accounting event as the history records it. */
export interface EventNote {
  readonly type: string;
  readonly client: string;
  readonly nas: string;
  readonly sessionId: string | undefined;
  readonly userName: string | undefined;
  readonly at: number;
}

/** The LRU of recently touched addresses (canonical formatPrefix text). */
export class AddressHistory {
  readonly limit: number;
  #current = new Map<string, Entry>();
  #old = new Map<string, Entry>();

  constructor(limit = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`AddressHistory limit must be an integer of at least 2, got ${limit}`);
    this.limit = limit;
  }

  get size(): number {
    return this.#current.size + this.#old.size;
  }

  /**
   * Records that an accounting event named these addresses. A further event of the same session
   * (an Interim-Update, its Stop) updates the entry in place and keeps `since`, without making it
   * the most recent: recency is when the address changed hands or was unlisted, so the steady
   * stream of Interim-Updates does not push those out.
   */
  noteEvent(addresses: readonly string[], event: EventNote): void {
    for (const address of addresses) {
      const known = this.#find(address);
      const previous = known?.session;
      const sameSession = previous !== undefined && previous.nas === event.nas && previous.sessionId === event.sessionId && previous.client === event.client;
      const entry = sameSession && known ? known : this.#touch(address);
      entry.session = {
        client: event.client,
        nas: event.nas,
        sessionId: event.sessionId,
        userName: event.userName ?? (sameSession ? previous.userName : undefined),
        since: sameSession ? previous.since : event.at,
        lastEvent: event.type,
        lastEventAt: event.at,
      };
    }
  }

  /** Records one delivery outcome of a job for each of its targets. */
  noteDelivery(job: UnlistJob, delivery: DeliveryNote): void {
    for (const target of job.targets) {
      const entry = this.#touch(target);
      if (entry.unlist?.job !== job.id) {
        entry.unlist = { job: job.id, target, reason: job.reason, requestedAt: job.createdAt, deliveries: [] };
      }
      const deliveries = entry.unlist.deliveries;
      const index = deliveries.findIndex((known) => known.backend === delivery.backend && known.zone === delivery.zone);
      if (index === -1) deliveries.push(delivery);
      else deliveries[index] = delivery;
    }
  }

  /** The last event seen naming the address, if the history still holds it. */
  session(address: string): SessionNote | undefined {
    return this.#find(address)?.session;
  }

  /**
   * The latest event seen naming the address, or any prefix `covers` accepts (an IPv6 prefix holding
   * it: the Stop of a session that held 2001:db8:1::/48 released 2001:db8:1:2::5 too), with the
   * address or prefix it named.
   */
  lastEvent(address: string, covers?: (named: string) => boolean): { readonly named: string; readonly session: SessionNote } | undefined {
    const exact = this.#find(address)?.session;
    let found = exact === undefined ? undefined : { named: address, session: exact };
    if (covers) {
      // Rare (a helpdesk question), so a scan of the bounded maps is fine.
      for (const generation of [this.#current, this.#old]) {
        for (const [named, entry] of generation) {
          const session = entry.session;
          if (session && named !== address && (!found || session.lastEventAt > found.session.lastEventAt) && covers(named)) found = { named, session };
        }
      }
    }
    return found;
  }

  /** The last unlist of the address, or of any prefix `covers` accepts (an IPv6 prefix holding it). */
  lastUnlist(address: string, covers?: (target: string) => boolean): UnlistNote | undefined {
    let found = this.#find(address)?.unlist;
    if (covers) {
      // Rare (a helpdesk question), so a scan of the bounded maps is fine.
      for (const entry of [...this.#current.values(), ...this.#old.values()]) {
        if (entry.unlist && entry.unlist.target !== address && covers(entry.unlist.target) && (!found || entry.unlist.requestedAt > found.requestedAt)) found = entry.unlist;
      }
    }
    if (!found) return undefined;
    return { job: found.job, target: found.target, reason: found.reason, requestedAt: found.requestedAt, deliveries: [...found.deliveries] };
  }

  #find(address: string): Entry | undefined {
    return this.#current.get(address) ?? this.#old.get(address);
  }

  /** The address's entry in the current generation (moved there from the old one, or new). */
  #touch(address: string): Entry {
    const current = this.#current.get(address);
    if (current) return current;
    const entry = this.#old.get(address) ?? { session: undefined, unlist: undefined };
    this.#old.delete(address);
    if (this.#current.size >= this.limit >> 1) {
      this.#old = this.#current;
      this.#current = new Map();
    }
    this.#current.set(address, entry);
    return entry;
  }
}
