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

/** How many addresses the history keeps (some 350 bytes each with a session and an unlist, its share of the event and job included, so about 7 MB when full). */
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

/**
 * One backend call's outcome as the history keeps it: one object for all the jobs the call carried
 * (up to 500), each job's latency being `endedAt` minus its createdAt, worked out when asked.
 */
export interface DeliveryOutcome extends Omit<DeliveryNote, 'latencyMs'> {
  /** The moment a job's latency runs to (epoch ms). */
  readonly endedAt: number;
}

/** The last unlist of an address: the job, the event that asked for it, and each delivery's outcome. */
export interface UnlistNote {
  readonly job: string;
  readonly target: string;
  readonly reason: UnlistReason;
  readonly requestedAt: number;
  readonly deliveries: readonly DeliveryNote[];
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

/**
 * What the history holds of one address, in one small object of fixed shape: the event and the job
 * are shared with the other addresses they name (kept as given, never copied), and the notes the
 * views read are put together only when asked. A burst touches tens of thousands of addresses, each
 * entry outlives several young-generation collections, and what it holds is what V8's old
 * generation fills with: the separate session note, unlist note and deliveries array per address
 * this replaced were about three times the size.
 */
class Entry {
  /** The last accounting event that named the address. */
  event: EventNote | undefined = undefined;
  /** When the event's session was first seen naming it. */
  since = 0;
  /** The event's User-Name, or the one an earlier event of the same session gave. */
  userName: string | undefined = undefined;
  /** The last job that unlisted it. */
  job: UnlistJob | undefined = undefined;
  /** That job's outcome per backend and zone: one alone as it is, several in an array. */
  deliveries: DeliveryOutcome | DeliveryOutcome[] | undefined = undefined;
}

/** The session note the views read, put together from an entry's shared event. */
function sessionNote(entry: Entry): SessionNote | undefined {
  const event = entry.event;
  if (!event) return undefined;
  return { client: event.client, nas: event.nas, sessionId: event.sessionId, userName: entry.userName, since: entry.since, lastEvent: event.type, lastEventAt: event.at };
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
   * Records that an accounting event named this address (the caller walks the event's addresses,
   * without making an array of their texts). A further event of the same session (an
   * Interim-Update, its Stop) updates the entry in place and keeps `since`, without making it the
   * most recent: recency is when the address changed hands or was unlisted, so the steady stream
   * of Interim-Updates does not push those out.
   */
  noteAddress(address: string, event: EventNote): void {
    // Each Map looked up once: a burst notes every address of every event.
    const current = this.#current.get(address);
    const known = current ?? this.#old.get(address);
    const previous = known?.event;
    const sameSession = previous !== undefined && previous.nas === event.nas && previous.sessionId === event.sessionId && previous.client === event.client;
    const entry = sameSession || current !== undefined ? known! : this.#promote(address, known);
    entry.userName = event.userName ?? (sameSession ? entry.userName : undefined);
    if (!sameSession) entry.since = event.at;
    entry.event = event;
  }

  /** Records one backend call's outcome for each target of a job; `delivery` may be shared by all the call's jobs. */
  noteDelivery(job: UnlistJob, delivery: DeliveryOutcome): void {
    for (const target of job.targets) {
      const entry = this.#touch(target);
      if (entry.job?.id !== job.id) {
        entry.job = job;
        entry.deliveries = delivery;
        continue;
      }
      const known = entry.deliveries;
      const sameLane = (other: DeliveryOutcome): boolean => other.backend === delivery.backend && other.zone === delivery.zone;
      if (known === undefined || (!Array.isArray(known) && sameLane(known))) entry.deliveries = delivery;
      else if (!Array.isArray(known)) entry.deliveries = [known, delivery];
      else {
        const index = known.findIndex(sameLane);
        if (index === -1) known.push(delivery);
        else known[index] = delivery;
      }
    }
  }

  /** The last event seen naming the address, if the history still holds it. */
  session(address: string): SessionNote | undefined {
    const entry = this.#find(address);
    return entry && sessionNote(entry);
  }

  /**
   * The latest event seen naming the address, or any prefix `covers` accepts (an IPv6 prefix holding
   * it: the Stop of a session that held 2001:db8:1::/48 released 2001:db8:1:2::5 too), with the
   * address or prefix it named.
   */
  lastEvent(address: string, covers?: (named: string) => boolean): { readonly named: string; readonly session: SessionNote } | undefined {
    const exact = this.session(address);
    let found = exact === undefined ? undefined : { named: address, session: exact };
    if (covers) {
      // Rare (a helpdesk question), so a scan of the bounded maps is fine.
      for (const generation of [this.#current, this.#old]) {
        for (const [named, entry] of generation) {
          const event = entry.event;
          if (event && named !== address && (!found || event.at > found.session.lastEventAt) && covers(named)) found = { named, session: sessionNote(entry)! };
        }
      }
    }
    return found;
  }

  /** The last unlist of the address, or of any prefix `covers` accepts (an IPv6 prefix holding it). */
  lastUnlist(address: string, covers?: (target: string) => boolean): UnlistNote | undefined {
    let found = this.#find(address);
    let foundTarget = address;
    if (!found?.job) found = undefined;
    if (covers) {
      // Rare (a helpdesk question), so a scan of the bounded maps is fine.
      for (const [target, entry] of [...this.#current, ...this.#old]) {
        if (entry.job && target !== address && covers(target) && (!found || entry.job.createdAt > found.job!.createdAt)) {
          found = entry;
          foundTarget = target;
        }
      }
    }
    const job = found?.job;
    if (!found || !job) return undefined;
    const outcomes = found.deliveries === undefined ? [] : Array.isArray(found.deliveries) ? found.deliveries : [found.deliveries];
    return {
      job: job.id,
      target: foundTarget,
      reason: job.reason,
      requestedAt: job.createdAt,
      deliveries: outcomes.map(({ endedAt, ...note }) => ({ ...note, latencyMs: endedAt - job.createdAt })),
    };
  }

  #find(address: string): Entry | undefined {
    return this.#current.get(address) ?? this.#old.get(address);
  }

  /** The address's entry in the current generation (moved there from the old one, or new). */
  #touch(address: string): Entry {
    return this.#current.get(address) ?? this.#promote(address, this.#old.get(address));
  }

  /** Puts an address not in the current generation there: its entry from the old one, or a new one. */
  #promote(address: string, old: Entry | undefined): Entry {
    if (old) this.#old.delete(address);
    const entry = old ?? new Entry();
    if (this.#current.size >= this.limit >> 1) {
      this.#old = this.#current;
      this.#current = new Map();
    }
    this.#current.set(address, entry);
    return entry;
  }
}
