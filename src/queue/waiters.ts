/**
 * Who waits for which deliveries (state.ack: unlisted). A commit waits on the deliveries that cover
 * its targets: its own job's, or, when its targets were already pending and merged, the pending jobs'
 * that will unlist them. A waiter resolves when all of them succeeded (or were dropped because their
 * backend left the config), and rejects when one became a dead letter. Pure code.
 *
 * A waiter knows, for each delivery, which of its own targets it waits there for, and keeps that
 * through every move: a job another commit made (an Accounting-On of hundreds of addresses) may be
 * superseded by newer jobs or go on in part, and a Stop merged into it for one address is done once
 * that address is unlisted, not when all the others are. A job that continues or supersedes another
 * may never reach the disk (a full disk): after the rebuild, a waiter on it waits on whatever
 * pending deliveries cover its targets then.
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
      const waiter: Waiter = { remaining: new Map(deliveries), settled: false, resolve, reject };
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

  /**
   * The delivery goes on as the deliveries `to`, each with the targets it holds of it: newer jobs
   * that cover all its targets (supersede), the lanes that serve its zone now (handover), a job of
   * the targets left (a call an HTTP API did in part, a job narrowed to the pools). Each waiter
   * waits there for its own targets; one with none left anywhere is done with it.
   */
  moved(key: string, to: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const waiter of this.#take(key)) {
      const targets = waiter.remaining.get(key) ?? [];
      waiter.remaining.delete(key);
      for (const [next, held] of to) {
        const own = targets.filter((target) => held.has(target));
        if (own.length > 0) this.#waitOn(waiter, next, own);
      }
      this.#doneWith(waiter, key);
    }
  }

  /**
   * After the state was rebuilt from the disk: each delivery waited on is judged by `judge`. One
   * whose job never reached the disk (it continued or superseded another) is replaced by the
   * pending deliveries that cover each of the waiter's targets there now (`cover`); a target none
   * covers is not pending there. A commit's own job that never reached the disk is gone with its
   * change (that commit's `recorded` failed).
   */
  rebuilt(judge: (key: string) => RebuiltDelivery, cover: (key: string, target: string) => readonly string[]): void {
    for (const key of [...this.#byDelivery.keys()]) {
      const verdict = judge(key);
      if (verdict === 'pending') continue;
      for (const waiter of this.#take(key)) {
        if (verdict === 'lost') {
          for (const target of waiter.remaining.get(key) ?? []) for (const next of cover(key, target)) this.#waitOn(waiter, next, [target]);
          this.#doneWith(waiter, key);
        } else if (verdict === 'done') {
          this.#doneWith(waiter, key);
        } else {
          this.#fail(waiter, verdict);
        }
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

  #waitOn(waiter: Waiter, key: string, targets: readonly string[]): void {
    const known = waiter.remaining.get(key);
    waiter.remaining.set(key, known ? [...new Set([...known, ...targets])] : targets);
    this.#add(key, waiter);
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
