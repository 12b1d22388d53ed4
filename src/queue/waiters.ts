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
  /**
   * For a delivery of another commit's job that this one merged into, the targets it waits there
   * for (its own); a delivery not here counts with all its targets.
   */
  readonly merged: Map<string, readonly string[]> | undefined;
  settled: boolean;
  resolve(): void;
  reject(error: RblError): void;
}

/** The waiters of pending deliveries. */
export class DeliveryWaiters {
  /** A waiter per acknowledgement that waits: a RenewingMap, as they come and go with every Stop (issue 13). */
  readonly #byDelivery: Map<string, Set<Waiter>> = new RenewingMap();

  /**
   * Resolves once every delivery in `keys` is done; at once when there are none. `merged` names,
   * for the deliveries of other jobs the commit merged into, which of their targets are its own.
   */
  wait(keys: Iterable<string>, merged?: Map<string, readonly string[]>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: new Set(keys), merged, settled: false, resolve, reject };
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

  /**
   * The delivery unlisted `unlisted` and goes on as `to` with its other targets (a call an HTTP API
   * did in part): a waiter merged into it for targets all unlisted is done with it, the others
   * wait for `to`, a merged one for its own targets left.
   */
  continued(key: string, to: string, unlisted: ReadonlySet<string>): void {
    for (const waiter of this.#take(key)) {
      waiter.remaining.delete(key);
      const own = waiter.merged?.get(key)?.filter((target) => !unlisted.has(target));
      waiter.merged?.delete(key);
      if (own?.length === 0) {
        if (waiter.remaining.size === 0 && !waiter.settled) {
          waiter.settled = true;
          waiter.resolve();
        }
        continue;
      }
      if (own) waiter.merged!.set(to, own);
      waiter.remaining.add(to);
      this.#add(to, waiter);
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
