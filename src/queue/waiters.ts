/**
 * Who waits for which deliveries (state.ack: unlisted). A commit waits on the deliveries that cover
 * its targets: its own job's, or, when its targets were already pending and merged, the pending jobs'
 * that will unlist them. A waiter resolves when all of them succeeded (or were dropped because their
 * backend left the config), and rejects when one became a dead letter. Pure code.
 */
import { RenewingMap } from '../collections/renewing-map.js';
import type { RblError } from '../errors.js';

/** The key of one delivery: a job in a lane. */
export function deliveryKey(id: number, lane: string): string {
  return `${id} ${lane}`;
}

interface Waiter {
  readonly remaining: Set<string>;
  settled: boolean;
  resolve(): void;
  reject(error: RblError): void;
}

/** The waiters of pending deliveries. */
export class DeliveryWaiters {
  /** A waiter per acknowledgement that waits: a RenewingMap, as they come and go with every Stop (issue 13). */
  readonly #byDelivery: Map<string, Set<Waiter>> = new RenewingMap();

  /** Resolves once every delivery in `keys` is done; at once when there are none. */
  wait(keys: Iterable<string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: new Set(keys), settled: false, resolve, reject };
      if (waiter.remaining.size === 0) return resolve();
      for (const key of waiter.remaining) this.#add(key, waiter);
    });
  }

  /** The delivery succeeded, or was dropped with its backend. */
  done(key: string): void {
    for (const waiter of this.#take(key)) {
      waiter.remaining.delete(key);
      if (waiter.remaining.size === 0 && !waiter.settled) {
        waiter.settled = true;
        waiter.resolve();
      }
    }
  }

  /** The delivery became a dead letter: its waiters fail. */
  failed(key: string, error: RblError): void {
    for (const waiter of this.#take(key)) {
      if (waiter.settled) continue;
      waiter.settled = true;
      waiter.reject(error);
    }
  }

  /** The delivery was merged into newer ones that cover all its targets: its waiters wait for those. */
  moved(key: string, to: readonly string[]): void {
    for (const waiter of this.#take(key)) {
      waiter.remaining.delete(key);
      for (const next of to) {
        waiter.remaining.add(next);
        this.#add(next, waiter);
      }
    }
  }

  /** How many deliveries someone waits on (none with state.ack: journal, so callers can skip the keys). */
  get size(): number {
    return this.#byDelivery.size;
  }

  /** Every delivery someone waits on. */
  keys(): string[] {
    return [...this.#byDelivery.keys()];
  }

  #add(key: string, waiter: Waiter): void {
    const set = this.#byDelivery.get(key) ?? new Set();
    set.add(waiter);
    this.#byDelivery.set(key, set);
  }

  #take(key: string): Set<Waiter> {
    const set = this.#byDelivery.get(key) ?? new Set<Waiter>();
    this.#byDelivery.delete(key);
    return set;
  }
}
