/**
 * What the service saw of each address recently, for `rbl-unlist why` and GET /addresses/ADDRESS:
 * the last accounting event that named it (with the User-Name and since when the session held it,
 * which the durable session table does not keep) and its last unlist, each backend's and zone's
 * outcome with the latency. Bounded in memory, at most {@link DEFAULT_HISTORY_LIMIT} addresses, and
 * empty after a restart. Pure code.
 *
 * Recency is kept by generations, as quick-lru does: new addresses go into the current generation;
 * when it holds half the limit it becomes the old one and the previous old one is dropped whole. So
 * the history always holds at least the last limit/2 addresses touched, and eviction costs one pass
 * over the slots' generation marks per limit/2 new addresses, not a search for the oldest per event.
 * The addresses themselves are in address-slots.ts.
 */
import type { UnlistJob, UnlistReason } from '../queue/state.js';
import { AddressSlots } from './address-slots.js';

/** How many addresses the history keeps: its columns and index take about 2.5 MB, made at start, plus the texts events bring (an Acct-Session-Id, a User-Name, an IPv6 address's text). */
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

/** Generation marks of a slot: free, or in one of the two generations (which swap names at each turn). */
const FREE = 0;

/**
 * The LRU of recently touched addresses (canonical formatPrefix text), each a slot of
 * {@link AddressSlots}, marked with its generation.
 */
export class AddressHistory {
  readonly limit: number;
  readonly #slots: AddressSlots;
  /** Each slot's generation: FREE, #current or #old. */
  readonly #generation: Uint8Array;
  #current = 1;
  #old = 2;
  #currentCount = 0;
  #oldCount = 0;

  constructor(limit = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`AddressHistory limit must be an integer of at least 2, got ${limit}`);
    this.limit = limit;
    this.#slots = new AddressSlots(limit);
    this.#generation = new Uint8Array(limit);
  }

  get size(): number {
    return this.#currentCount + this.#oldCount;
  }

  /**
   * Records that an accounting event named this address (the caller walks the event's addresses,
   * without making an array of their texts). A further event of the same session (an
   * Interim-Update, its Stop) updates the slot in place and keeps `since`, without making it the
   * most recent: recency is when the address changed hands or was unlisted, so the steady stream
   * of Interim-Updates does not push those out.
   */
  noteAddress(address: string, event: EventNote): void {
    const slots = this.#slots;
    // Looked up once: a burst notes every address of every event.
    const known = slots.find(address);
    const sameSession =
      known >= 0 &&
      slots.eventType[known] !== undefined &&
      slots.nas[known] === event.nas &&
      slots.sessionId[known] === event.sessionId &&
      slots.client[known] === event.client;
    const slot = sameSession ? known : this.#touch(address, known);
    slots.userName[slot] = event.userName ?? (sameSession ? slots.userName[slot] : undefined);
    if (!sameSession) slots.since[slot] = event.at;
    slots.eventType[slot] = event.type;
    slots.client[slot] = event.client;
    slots.nas[slot] = event.nas;
    slots.sessionId[slot] = event.sessionId;
    slots.eventAt[slot] = event.at;
  }

  /** Records one backend call's outcome for each target of a job; `delivery` may be shared by all the call's jobs. */
  noteDelivery(job: UnlistJob, delivery: DeliveryOutcome): void {
    const slots = this.#slots;
    const jobId = Number(job.id);
    const { reason } = job;
    for (const target of job.targets) {
      const known = slots.find(target);
      const slot = this.#touch(target, known);
      if (!this.#sameUnlist(slot, job)) {
        slots.jobId[slot] = jobId;
        slots.jobCreatedAt[slot] = job.createdAt;
        slots.reasonEvent[slot] = reason.event;
        slots.reasonClient[slot] = reason.client;
        slots.reasonNas[slot] = reason.nas;
        slots.reasonSessionId[slot] = reason.sessionId;
        slots.deliveries[slot] = delivery;
        continue;
      }
      slots.jobId[slot] = jobId;
      const earlier = slots.deliveries[slot];
      const sameLane = (other: DeliveryOutcome): boolean => other.backend === delivery.backend && other.zone === delivery.zone;
      if (earlier === undefined || (!Array.isArray(earlier) && sameLane(earlier))) slots.deliveries[slot] = delivery;
      else if (!Array.isArray(earlier)) slots.deliveries[slot] = [earlier, delivery];
      else {
        const index = earlier.findIndex(sameLane);
        if (index === -1) earlier.push(delivery);
        else earlier[index] = delivery;
      }
    }
  }

  /**
   * The job's delivery in a backend and zone left with the backend (handed over to those that serve
   * the zone now, or dropped as they have it already): its outcome there is no longer the address's.
   */
  forgetDelivery(job: UnlistJob, backend: string, zone: string): void {
    const slots = this.#slots;
    for (const target of job.targets) {
      const slot = slots.find(target);
      if (slot < 0 || !this.#sameUnlist(slot, job)) continue;
      const earlier = slots.deliveries[slot];
      const other = (delivery: DeliveryOutcome): boolean => delivery.backend !== backend || delivery.zone !== zone;
      if (Array.isArray(earlier)) slots.deliveries[slot] = earlier.filter(other);
      else if (earlier !== undefined && !other(earlier)) slots.deliveries[slot] = undefined;
    }
  }

  /**
   * Whether the slot's last unlist is the job's request. A job that continues another (handed over,
   * narrowed to the pools, or left of a call an HTTP API did in part) has a new id but the same
   * request time and reason: its outcomes join the other lanes'.
   */
  #sameUnlist(slot: number, job: UnlistJob): boolean {
    const slots = this.#slots;
    const { reason } = job;
    return (
      slots.jobId[slot] === Number(job.id) ||
      (slots.jobCreatedAt[slot] === job.createdAt &&
        slots.reasonEvent[slot] === reason.event &&
        slots.reasonNas[slot] === reason.nas &&
        slots.reasonSessionId[slot] === reason.sessionId &&
        slots.reasonClient[slot] === reason.client)
    );
  }

  /** The last event seen naming the address, if the history still holds it. */
  session(address: string): SessionNote | undefined {
    const slot = this.#slots.find(address);
    return slot < 0 ? undefined : this.#slots.sessionNote(slot);
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
      const slots = this.#slots;
      // Rare (a helpdesk question), so a scan of the slots is fine.
      for (const slot of this.#held()) {
        if (slots.eventType[slot] === undefined || (found && slots.eventAt[slot]! <= found.session.lastEventAt)) continue;
        const named = slots.addressOf(slot);
        if (named !== address && covers(named)) found = { named, session: slots.sessionNote(slot)! };
      }
    }
    return found;
  }

  /** The last unlist of the address, or of any prefix `covers` accepts (an IPv6 prefix holding it). */
  lastUnlist(address: string, covers?: (target: string) => boolean): UnlistNote | undefined {
    const slots = this.#slots;
    const unlisted = (slot: number): boolean => slot >= 0 && !Number.isNaN(slots.jobId[slot]!);
    let found = slots.find(address);
    let foundTarget = address;
    if (!unlisted(found)) found = -1;
    if (covers) {
      // Rare (a helpdesk question), so a scan of the slots is fine.
      for (const slot of this.#held()) {
        if (!unlisted(slot) || (found >= 0 && slots.jobCreatedAt[slot]! <= slots.jobCreatedAt[found]!)) continue;
        const target = slots.addressOf(slot);
        if (target !== address && covers(target)) {
          found = slot;
          foundTarget = target;
        }
      }
    }
    if (found < 0) return undefined;
    const requestedAt = slots.jobCreatedAt[found]!;
    const delivered = slots.deliveries[found];
    const outcomes = delivered === undefined ? [] : Array.isArray(delivered) ? delivered : [delivered];
    return {
      job: String(slots.jobId[found]),
      target: foundTarget,
      reason: slots.unlistReason(found),
      requestedAt,
      deliveries: outcomes.map(({ endedAt, ...note }) => ({ ...note, latencyMs: endedAt - requestedAt })),
    };
  }

  /** The slots that hold an address, the current generation's first. */
  *#held(): IterableIterator<number> {
    for (const generation of [this.#current, this.#old]) {
      for (let slot = 0; slot < this.limit; slot++) if (this.#generation[slot] === generation) yield slot;
    }
  }

  /** The address's slot (`known`, or -1 when it has none) in the current generation, moved there from the old one or new. */
  #touch(address: string, known: number): number {
    return known >= 0 && this.#generation[known] === this.#current ? known : this.#promote(address, known);
  }

  /**
   * Puts an address not in the current generation there: with its slot from the old one, or a free
   * one. When the current generation is full it becomes the old one, and the slots of the previous
   * old one are freed: the generations hold at most `limit` addresses together.
   */
  #promote(address: string, old: number): number {
    const generation = this.#generation;
    if (old >= 0) {
      generation[old] = FREE;
      this.#oldCount--;
    }
    if (this.#currentCount >= this.limit >> 1) {
      // One pass over the marks each half-limit of new addresses.
      for (let slot = 0; slot < this.limit; slot++) {
        if (generation[slot] !== this.#old) continue;
        generation[slot] = FREE;
        this.#slots.release(slot);
      }
      [this.#old, this.#current] = [this.#current, this.#old];
      this.#oldCount = this.#currentCount;
      this.#currentCount = 0;
    }
    const slot = old >= 0 ? old : this.#slots.take(address);
    generation[slot] = this.#current;
    this.#currentCount++;
    return slot;
  }
}
