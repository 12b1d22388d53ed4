/**
 * Who waits for which deliveries (state.ack: unlisted). A commit waits on the deliveries that cover
 * its targets: its own job's, or, when its targets were already pending and merged, the pending jobs'
 * that will unlist them. A waiter resolves when all of them succeeded (or were dropped because their
 * backend left the config), and rejects when one became a dead letter. Pure code.
 *
 * A waiter knows, for each delivery, which of its own targets it waits there for: a job another
 * commit made (an Accounting-On of hundreds of addresses) may go on in part, and a Stop merged into
 * it for one address is done once that address is unlisted, not when all the others are. It also
 * knows where each delivery it was moved to came from: a job that continues another may never reach
 * the disk (a full disk), and after the rebuild the waiter waits where it was before.
 */
import { RenewingMap } from '../collections/renewing-map.js';
import type { RblError } from '../errors.js';

/** The key of one delivery: a job in a lane. */
export function deliveryKey(id: number, lane: string): string {
  return `${id} ${lane}`;
}

/** What a rebuilt state says of a delivery: still pending, done (delivered or dropped), a dead letter, or never on disk. */
export type RebuiltDelivery = 'pending' | 'done' | 'lost' | RblError;

interface Waiter {
  /** Each delivery it waits on, with the targets it waits there for. */
  readonly remaining: Map<string, readonly string[]>;
  /** For each delivery it was moved to, the one it came from; made on the first move. */
  cameFrom: Map<string, string> | undefined;
  settled: boolean;
  resolve(): void;
  reject(error: RblError): void;
}

/** The waiters of pending deliveries. */
export class DeliveryWaiters {
  /** A waiter per acknowledgement that waits: a RenewingMap, as they come and go with every Stop (issue 13). */
  readonly #byDelivery: Map<string, Set<Waiter>> = new RenewingMap();

  /** Resolves once every delivery in `deliveries` (each with the targets waited there for) is done; at once when there are none. */
  wait(deliveries: ReadonlyMap<string, readonly string[]>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: new Map(deliveries), cameFrom: undefined, settled: false, resolve, reject };
      if (waiter.remaining.size === 0) return resolve();
      for (const key of waiter.remaining.keys()) this.#add(key, waiter);
    });
  }

  /** The delivery succeeded, or was dropped with its backend. */
  done(key: string): void {
    for (const waiter of this.#take(key)) this.#doneWith(waiter, key);
  }

  /** The delivery became a dead letter: its waiters fail. */
  failed(key: string, error: RblError): void {
    for (const waiter of this.#take(key)) this.#fail(waiter, error);
  }

  /** The delivery was merged into newer ones that cover all its targets (or handed over to other lanes): its waiters wait for those. */
  moved(key: string, to: readonly string[]): void {
    for (const waiter of this.#take(key)) {
      const targets = waiter.remaining.get(key) ?? [];
      waiter.remaining.delete(key);
      for (const next of to) this.#moveTo(waiter, key, next, targets);
    }
  }

  /**
   * The delivery goes on as `to` with the targets `left` (a call an HTTP API did in part, a job
   * narrowed to the pools): a waiter none of whose targets there are left is done with it, the
   * others wait for `to`, for their targets left.
   */
  continued(key: string, to: readonly string[], left: ReadonlySet<string>): void {
    for (const waiter of this.#take(key)) {
      const targets = (waiter.remaining.get(key) ?? []).filter((target) => left.has(target));
      if (targets.length === 0) {
        this.#doneWith(waiter, key);
        continue;
      }
      waiter.remaining.delete(key);
      for (const next of to) this.#moveTo(waiter, key, next, targets);
    }
  }

  /**
   * After the state was rebuilt from the disk: each delivery waited on is judged by `judge`. A waiter
   * moved to a delivery whose job never reached the disk waits again where it came from; a commit's
   * own job that never did is gone with its change (that commit's `recorded` failed).
   */
  rebuilt(judge: (key: string) => RebuiltDelivery): void {
    for (const key of [...this.#byDelivery.keys()]) {
      for (const waiter of this.#take(key)) {
        let at = key;
        let verdict = judge(at);
        let origin = waiter.cameFrom?.get(at);
        while (verdict === 'lost' && origin !== undefined) {
          const targets = waiter.remaining.get(at) ?? [];
          waiter.remaining.delete(at);
          at = origin;
          waiter.remaining.set(at, union(waiter.remaining.get(at), targets));
          verdict = judge(at);
          origin = waiter.cameFrom?.get(at);
        }
        if (verdict === 'pending') this.#add(at, waiter);
        else if (verdict === 'done' || verdict === 'lost') this.#doneWith(waiter, at);
        else this.#fail(waiter, verdict);
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

  #moveTo(waiter: Waiter, from: string, to: string, targets: readonly string[]): void {
    waiter.remaining.set(to, union(waiter.remaining.get(to), targets));
    (waiter.cameFrom ??= new Map()).set(to, from);
    this.#add(to, waiter);
  }

  #doneWith(waiter: Waiter, key: string): void {
    waiter.remaining.delete(key);
    if (waiter.remaining.size === 0 && !waiter.settled) {
      waiter.settled = true;
      waiter.resolve();
    }
  }

  #fail(waiter: Waiter, error: RblError): void {
    if (waiter.settled) return;
    waiter.settled = true;
    waiter.reject(error);
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

function union(some: readonly string[] | undefined, more: readonly string[]): readonly string[] {
  if (!some || some.length === 0) return more;
  return [...new Set([...some, ...more])];
}
