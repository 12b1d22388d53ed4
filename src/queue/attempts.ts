/**
 * What the running service knows of each pending delivery beyond the journal: how many calls tried
 * it, the last error, and when the next try is due. Kept in memory only (a restart starts counting
 * again); `queue list` asks the running service for it. Pure code.
 */
import { deliveryKey } from './waiters.js';

/** The running service's view of one pending delivery. */
export interface DeliveryAttempt {
  readonly id: number;
  readonly lane: string;
  /** Calls that included it and failed transiently. */
  readonly attempts: number;
  /** The RblError code (or the error's name) of the last failure. */
  readonly lastCode?: string;
  readonly lastError?: string;
  /** Epoch ms of the next try; absent when it goes with the next call the lane makes. */
  readonly nextTryAt?: number;
}

/** Failed attempts of pending deliveries. */
export class DeliveryAttempts {
  readonly #byKey = new Map<string, DeliveryAttempt>();

  /** Deliveries with a failed attempt (none while every call succeeds, so callers can skip forget). */
  get size(): number {
    return this.#byKey.size;
  }

  /** A call with this delivery failed transiently; the lane tries again at nextTryAt. */
  failed(id: number, lane: string, code: string, message: string, nextTryAt: number): void {
    const key = deliveryKey(id, lane);
    const attempts = (this.#byKey.get(key)?.attempts ?? 0) + 1;
    this.#byKey.set(key, { id, lane, attempts, lastCode: code, lastError: message, nextTryAt });
  }

  /** The delivery left the queue (delivered, dead-lettered, merged or dropped). */
  forget(id: number, lane: string): void {
    this.#byKey.delete(deliveryKey(id, lane));
  }

  /** The delivery goes on as job `to`'s in the same lane (the targets a call left of it): its count goes with it. */
  moved(id: number, lane: string, to: number): void {
    const key = deliveryKey(id, lane);
    const known = this.#byKey.get(key);
    if (!known) return;
    this.#byKey.delete(key);
    this.#byKey.set(deliveryKey(to, lane), { ...known, id: to });
  }

  /** The view of a delivery; `laneRetryAt` is when the worker tries it next, if it knows (its lane paused, or it is held). */
  view(id: number, lane: string, laneRetryAt: number | undefined): DeliveryAttempt {
    const known = this.#byKey.get(deliveryKey(id, lane));
    if (!known) return { id, lane, attempts: 0, ...(laneRetryAt === undefined ? {} : { nextTryAt: laneRetryAt }) };
    return { ...known, nextTryAt: laneRetryAt ?? known.nextTryAt };
  }

  /** Keeps only the deliveries still pending (after the state was rebuilt from the journal). */
  retain(isPending: (id: number, lane: string) => boolean): void {
    for (const [key, attempt] of this.#byKey) if (!isPending(attempt.id, attempt.lane)) this.#byKey.delete(key);
  }
}
