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
 * What the history holds of each address, one slot per address in columns of `limit` places made
 * once: typed arrays for times and job numbers, arrays of references for the texts. A burst touches
 * tens of thousands of addresses, and what each one kept alive past a few young-generation
 * collections went to V8's old generation, which its collector then marks: an entry object with
 * three boxed times, the event note, the job with its targets and reason, the job's id text. With
 * those the history cost the daemon about a sixth of its CPU per Stop in a burst (issue 13). Now an
 * address keeps only the texts its event brought (the address, Acct-Session-Id, User-Name and NAS;
 * event types and client names are shared), and a delivery outcome is one object for a whole
 * backend call, kept as given.
 */
class Columns {
  /** The type of the last accounting event that named the address; undefined when none did. */
  readonly eventType: (string | undefined)[];
  readonly client: string[];
  readonly nas: string[];
  readonly sessionId: (string | undefined)[];
  /** The event's User-Name, or the one an earlier event of the same session gave. */
  readonly userName: (string | undefined)[];
  readonly eventAt: Float64Array;
  /** When the event's session was first seen naming the address. */
  readonly since: Float64Array;
  /** The last job that unlisted it (its number: job ids are the queue's sequence numbers); NaN when none did. */
  readonly jobId: Float64Array;
  readonly jobCreatedAt: Float64Array;
  /** The event that asked for the job. */
  readonly reasonEvent: string[];
  readonly reasonClient: string[];
  readonly reasonNas: string[];
  readonly reasonSessionId: (string | undefined)[];
  /** The job's outcome per backend and zone: one alone as it is, several in an array. */
  readonly deliveries: (DeliveryOutcome | DeliveryOutcome[] | undefined)[];

  constructor(size: number) {
    const texts = (): string[] => Array.from({ length: size }, () => '');
    const optional = <T>(): (T | undefined)[] => Array.from({ length: size }, () => undefined);
    this.eventType = optional();
    this.client = texts();
    this.nas = texts();
    this.sessionId = optional();
    this.userName = optional();
    this.eventAt = new Float64Array(size);
    this.since = new Float64Array(size);
    this.jobId = new Float64Array(size).fill(Number.NaN);
    this.jobCreatedAt = new Float64Array(size);
    this.reasonEvent = texts();
    this.reasonClient = texts();
    this.reasonNas = texts();
    this.reasonSessionId = optional();
    this.deliveries = optional();
  }

  /** Empties a slot for another address: nothing of the last one stays referenced. */
  clear(slot: number): void {
    this.eventType[slot] = undefined;
    this.client[slot] = this.nas[slot] = this.reasonEvent[slot] = this.reasonClient[slot] = this.reasonNas[slot] = '';
    this.sessionId[slot] = this.userName[slot] = this.reasonSessionId[slot] = undefined;
    this.jobId[slot] = Number.NaN;
    this.deliveries[slot] = undefined;
  }

  /** The session note the views read, put together from the slot's event. */
  sessionNote(slot: number): SessionNote | undefined {
    const lastEvent = this.eventType[slot];
    if (lastEvent === undefined) return undefined;
    return {
      client: this.client[slot]!,
      nas: this.nas[slot]!,
      sessionId: this.sessionId[slot],
      userName: this.userName[slot],
      since: this.since[slot]!,
      lastEvent,
      lastEventAt: this.eventAt[slot]!,
    };
  }

  /** The reason of the slot's job, as the job had it. */
  unlistReason(slot: number): UnlistReason {
    const reason = { event: this.reasonEvent[slot]!, client: this.reasonClient[slot]!, nas: this.reasonNas[slot]! };
    const sessionId = this.reasonSessionId[slot];
    return sessionId === undefined ? reason : { ...reason, sessionId };
  }
}

/** The LRU of recently touched addresses (canonical formatPrefix text), each a slot of the columns. */
export class AddressHistory {
  readonly limit: number;
  #current = new Map<string, number>();
  #old = new Map<string, number>();
  readonly #columns: Columns;
  /** Slots no address holds, as a stack. */
  readonly #free: Int32Array;
  #freeCount: number;

  constructor(limit = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`AddressHistory limit must be an integer of at least 2, got ${limit}`);
    this.limit = limit;
    this.#columns = new Columns(limit);
    this.#free = Int32Array.from({ length: limit }, (_, i) => limit - 1 - i);
    this.#freeCount = limit;
  }

  get size(): number {
    return this.#current.size + this.#old.size;
  }

  /**
   * Records that an accounting event named this address (the caller walks the event's addresses,
   * without making an array of their texts). A further event of the same session (an
   * Interim-Update, its Stop) updates the slot in place and keeps `since`, without making it the
   * most recent: recency is when the address changed hands or was unlisted, so the steady stream
   * of Interim-Updates does not push those out.
   */
  noteAddress(address: string, event: EventNote): void {
    const columns = this.#columns;
    // Each Map looked up once: a burst notes every address of every event.
    const current = this.#current.get(address);
    const known = current ?? this.#old.get(address);
    const sameSession =
      known !== undefined &&
      columns.eventType[known] !== undefined &&
      columns.nas[known] === event.nas &&
      columns.sessionId[known] === event.sessionId &&
      columns.client[known] === event.client;
    const slot = sameSession || current !== undefined ? known! : this.#promote(address, known);
    columns.userName[slot] = event.userName ?? (sameSession ? columns.userName[slot] : undefined);
    if (!sameSession) columns.since[slot] = event.at;
    columns.eventType[slot] = event.type;
    columns.client[slot] = event.client;
    columns.nas[slot] = event.nas;
    columns.sessionId[slot] = event.sessionId;
    columns.eventAt[slot] = event.at;
  }

  /** Records one backend call's outcome for each target of a job; `delivery` may be shared by all the call's jobs. */
  noteDelivery(job: UnlistJob, delivery: DeliveryOutcome): void {
    const columns = this.#columns;
    const jobId = Number(job.id);
    for (const target of job.targets) {
      const slot = this.#touch(target);
      if (columns.jobId[slot] !== jobId) {
        columns.jobId[slot] = jobId;
        columns.jobCreatedAt[slot] = job.createdAt;
        const { reason } = job;
        columns.reasonEvent[slot] = reason.event;
        columns.reasonClient[slot] = reason.client;
        columns.reasonNas[slot] = reason.nas;
        columns.reasonSessionId[slot] = reason.sessionId;
        columns.deliveries[slot] = delivery;
        continue;
      }
      const known = columns.deliveries[slot];
      const sameLane = (other: DeliveryOutcome): boolean => other.backend === delivery.backend && other.zone === delivery.zone;
      if (known === undefined || (!Array.isArray(known) && sameLane(known))) columns.deliveries[slot] = delivery;
      else if (!Array.isArray(known)) columns.deliveries[slot] = [known, delivery];
      else {
        const index = known.findIndex(sameLane);
        if (index === -1) known.push(delivery);
        else known[index] = delivery;
      }
    }
  }

  /** The last event seen naming the address, if the history still holds it. */
  session(address: string): SessionNote | undefined {
    const slot = this.#find(address);
    return slot === undefined ? undefined : this.#columns.sessionNote(slot);
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
      const columns = this.#columns;
      // Rare (a helpdesk question), so a scan of the bounded maps is fine.
      for (const generation of [this.#current, this.#old]) {
        for (const [named, slot] of generation) {
          if (columns.eventType[slot] !== undefined && named !== address && (!found || columns.eventAt[slot]! > found.session.lastEventAt) && covers(named)) {
            found = { named, session: columns.sessionNote(slot)! };
          }
        }
      }
    }
    return found;
  }

  /** The last unlist of the address, or of any prefix `covers` accepts (an IPv6 prefix holding it). */
  lastUnlist(address: string, covers?: (target: string) => boolean): UnlistNote | undefined {
    const columns = this.#columns;
    const unlisted = (slot: number | undefined): slot is number => slot !== undefined && !Number.isNaN(columns.jobId[slot]!);
    let found = this.#find(address);
    let foundTarget = address;
    if (!unlisted(found)) found = undefined;
    if (covers) {
      // Rare (a helpdesk question), so a scan of the bounded maps is fine.
      for (const [target, slot] of [...this.#current, ...this.#old]) {
        if (unlisted(slot) && target !== address && covers(target) && (found === undefined || columns.jobCreatedAt[slot]! > columns.jobCreatedAt[found]!)) {
          found = slot;
          foundTarget = target;
        }
      }
    }
    if (!unlisted(found)) return undefined;
    const requestedAt = columns.jobCreatedAt[found]!;
    const delivered = columns.deliveries[found];
    const outcomes = delivered === undefined ? [] : Array.isArray(delivered) ? delivered : [delivered];
    return {
      job: String(columns.jobId[found]),
      target: foundTarget,
      reason: columns.unlistReason(found),
      requestedAt,
      deliveries: outcomes.map(({ endedAt, ...note }) => ({ ...note, latencyMs: endedAt - requestedAt })),
    };
  }

  #find(address: string): number | undefined {
    return this.#current.get(address) ?? this.#old.get(address);
  }

  /** The address's slot in the current generation (moved there from the old one, or new). */
  #touch(address: string): number {
    return this.#current.get(address) ?? this.#promote(address, this.#old.get(address));
  }

  /**
   * Puts an address not in the current generation there: with its slot from the old one, or a free
   * one. When the current generation is full it becomes the old one, and the slots of the previous
   * old one are emptied and freed: the generations hold at most `limit` addresses together.
   */
  #promote(address: string, old: number | undefined): number {
    if (old !== undefined) this.#old.delete(address);
    if (this.#current.size >= this.limit >> 1) {
      for (const slot of this.#old.values()) {
        this.#columns.clear(slot);
        this.#free[this.#freeCount++] = slot;
      }
      this.#old = this.#current;
      this.#current = new Map();
    }
    const slot = old ?? this.#free[--this.#freeCount]!;
    this.#current.set(address, slot);
    return slot;
  }
}
