/**
 * The state store's way back after a journal failure (disk full, I/O error, read-only): the failed
 * journal is closed, the state is rebuilt from what is durable on disk and a write to it proven,
 * tried again with growing pauses until one gets through; then the waiters of deliveries the rebuilt
 * state no longer holds as pending are settled. Kept apart from store.ts, which holds the failure
 * (it refuses commits meanwhile) and takes in the rebuilt state and journal; this file decides when
 * to try and what a try that failed means.
 */
import { RblError, type ErrorCode } from '../errors.js';
import type { DeliveryAttempts } from './attempts.js';
import type { QueueEvent } from './events.js';
import type { Journal } from './journal.js';
import { stateError } from './state-files.js';
import type { StateLock } from './lock.js';
import { rebuiltCover } from './merge.js';
import type { JobState, QueueState } from './state.js';
import { deliveryKey, type DeliveryWaiters } from './waiters.js';

const MAX_RECOVERY_MS = 5000;

/** The state replayed from the journal, and the journal opened for appending. */
export interface Durable {
  readonly state: QueueState;
  readonly journal: Journal;
}

/** What the recovery needs of the store. */
export interface RecoveryHost {
  /** The store is closing, or its lock was taken (for good): nothing more to recover. */
  stopped(): boolean;
  /** When the journal failed; undefined while it can be written. */
  failedSince(): number | undefined;
  /** Closes the journal that failed. */
  closeJournal(): Promise<void>;
  readonly lock: StateLock;
  /** The lock was taken by another service: the failure is for good. */
  lockLost(): void;
  /** Replays the journal into a fresh state and proves a write reaches the disk. */
  load(): Promise<Durable>;
  /** Takes the rebuilt state and journal in place of the failed ones; `downMs`: how long the journal failed. */
  rebuilt(durable: Durable, downMs: number): void;
  emit(event: QueueEvent): void;
}

/** The tries to write the journal again after it failed. */
export class JournalRecovery {
  readonly #host: RecoveryHost;
  readonly #firstDelayMs: number;
  #delayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(host: RecoveryHost, delayMs: number) {
    this.#host = host;
    this.#firstDelayMs = delayMs;
    this.#delayMs = delayMs;
  }

  /** A try after the pause, which each failed try doubles (up to MAX_RECOVERY_MS). */
  schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#recover().finally(() => (this.#running = undefined));
    }, this.#delayMs);
  }

  /** Calls off the try that has not started yet. */
  cancel(): void {
    clearTimeout(this.#timer);
  }

  /** The try under way, if any. */
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  async #recover(): Promise<void> {
    const host = this.#host;
    if (host.stopped() || host.failedSince() === undefined) return;
    await host.closeJournal().catch(() => undefined);
    // A rebuild reads, repairs and writes the journal by its name: once the lock is broken, that
    // name is the new holder's, and a rebuild would write into its journal every few seconds.
    if (!host.lock.held()) return host.lockLost();
    let durable: Durable;
    try {
      durable = await host.load();
    } catch (error) {
      if (!host.lock.held()) return host.lockLost();
      const failure = stateError('the journal still cannot be written', error);
      host.emit({ type: 'journal-error', error: failure, writable: false });
      this.#delayMs = Math.min(this.#delayMs * 2, MAX_RECOVERY_MS);
      if (!host.stopped()) this.schedule();
      return;
    }
    if (host.stopped()) {
      await durable.journal.close();
      return;
    }
    const downMs = Date.now() - host.failedSince()!;
    this.#delayMs = this.#firstDelayMs;
    host.rebuilt(durable, downMs);
  }
}

/** What settling the waiters after a rebuild needs of the store. */
export interface RebuiltDeliveries {
  readonly waiters: DeliveryWaiters;
  readonly attempts: DeliveryAttempts;
  readonly inFlight: (id: number, lane: string) => boolean;
  isHeld(id: number, lane: string): boolean;
  /** A new delivery of `target` in `lane` for `job` (JobContinuations.unlistAgain); returns its key. */
  unlistAgain(job: JobState, target: string, lane: string): string;
}

/**
 * Waiters of deliveries the rebuilt state no longer holds as pending: durably delivered, or dead;
 * those of jobs numbered from `durableSeq` on never reached the disk.
 */
export function settleAfterRebuild(state: QueueState, durableSeq: number, store: RebuiltDeliveries): void {
  const laneOf = (key: string): string => key.slice(key.indexOf(' ') + 1);
  store.waiters.rebuilt(
    (key) => {
      const id = Number(key.slice(0, key.indexOf(' ')));
      const lane = laneOf(key);
      const job = state.jobs.get(id);
      if (job?.pending.includes(lane)) return 'pending';
      if (!job && id >= durableSeq) return 'lost';
      const dead = job?.dead.find((letter) => letter.lane === lane);
      return dead ? new RblError(dead.code as ErrorCode, dead.message) : 'done';
    },
    (key, target) => {
      const lane = laneOf(key);
      const cover = rebuiltCover(state, lane, target, store.inFlight, (id) => store.isHeld(id, lane));
      if (!cover) return [];
      if ('wait' in cover) return [deliveryKey(cover.wait, lane)];
      return [store.unlistAgain(state.jobs.get(cover.again)!, target, lane)];
    },
  );
  store.attempts.retain((id, lane) => state.jobs.get(id)?.pending.includes(lane) === true);
}
