/**
 * The operator's view of the running service: the small in-memory trackers that GET /status and
 * GET /addresses/ADDRESS read (packets per client, rates of the last minute, each zone's last
 * delivery, the address history), fed by the daemon's packet, accounting and queue callbacks.
 */
import type { AccountingEvent } from '../accounting/event.js';
import type { EventPlan } from '../accounting/plan.js';
import { RblError } from '../errors.js';
import type { QueueEvent } from '../queue/events.js';
import type { JobDeliveries } from '../queue/store-open.js';
import type { ReadonlySessionTable } from '../sessions/table.js';
import { AddressHistory, DEFAULT_HISTORY_LIMIT } from './address-history.js';
import { addressReport } from './address-view.js';
import { ClientPacketTracker } from './client-packets.js';
import type { PacketOutcome } from './metrics.js';
import { RateWindow } from './rate-window.js';
import { DeliveryActivity, statusReport, type StatusSources } from './status.js';

/** A JSON answer of a view. */
export interface JsonView {
  readonly status: number;
  readonly body: unknown;
}

/** What the views read that the trackers do not hold: the daemon's live parts. */
export interface OperatorViewSources extends Omit<StatusSources, 'packets' | 'rates' | 'deliveries' | 'startedAt'> {
  /** The session table, once the state store is open. */
  readonly sessionTable: () => Pick<ReadonlySessionTable, 'ownerOf'> | undefined;
  readonly jobsMatching: (matches: (target: string) => boolean) => JobDeliveries[];
  /** Addresses the history keeps; default {@link DEFAULT_HISTORY_LIMIT}. */
  readonly historyLimit?: number;
  readonly now?: () => number;
}

export class OperatorView {
  readonly packets: ClientPacketTracker;
  readonly rates: RateWindow;
  readonly history: AddressHistory;
  readonly deliveries = new DeliveryActivity();
  readonly #sources: OperatorViewSources;
  readonly #now: () => number;
  readonly #startedAt: number;

  constructor(sources: OperatorViewSources) {
    this.#sources = sources;
    this.#now = sources.now ?? Date.now;
    this.#startedAt = this.#now();
    this.packets = new ClientPacketTracker(this.#now);
    this.rates = new RateWindow(60, this.#now);
    this.history = new AddressHistory(sources.historyLimit ?? DEFAULT_HISTORY_LIMIT);
  }

  /** One received datagram. */
  onPacket(outcome: PacketOutcome, detail: { readonly source: string; readonly client?: string; readonly reason?: string }): void {
    this.packets.record(outcome, detail);
    this.rates.record('packets');
  }

  /** One accounting event and what it was planned to do; stale addresses keep their owner's history. */
  onEvent(event: AccountingEvent, plan: EventPlan): void {
    this.rates.record('events');
    if (plan.upsert.length === 0 && plan.unlist.length === 0) return;
    const note = { type: event.type, client: event.client, nas: event.nas, sessionId: event.sessionId, userName: event.userName, at: event.receivedAt };
    // An address named twice is noted twice, harmlessly: cheaper than building a set per event.
    for (const session of plan.upsert) for (const address of session.addresses) this.history.noteAddress(address.text, note);
    for (const target of plan.unlist) this.history.noteAddress(target.text, note);
  }

  /** One queue event: delivery outcomes go to the history, the per-zone activity and the unlist rate. */
  onQueueEvent(event: QueueEvent): void {
    const at = this.#now();
    switch (event.type) {
      case 'delivered': {
        let targets = 0;
        // One outcome for the call's jobs: each one's latency runs from its createdAt to event.at.
        const outcome = { backend: event.backend, zone: event.zone, outcome: 'unlisted', at, endedAt: event.at } as const;
        for (const job of event.jobs) {
          targets += job.targets.length;
          this.history.noteDelivery(job, outcome);
        }
        this.rates.record('unlists', targets);
        this.deliveries.unlisted(event.backend, event.zone, at);
        break;
      }
      case 'retry-scheduled': {
        const code = event.error instanceof RblError ? event.error.code : 'ERROR';
        this.deliveries.failed(event.backend, event.zone, code, event.error.message, at);
        const outcome = { backend: event.backend, zone: event.zone, outcome: 'retrying', at, endedAt: at, code, message: event.error.message, attempt: event.attempt } as const;
        for (const job of event.jobs) this.history.noteDelivery(job, outcome);
        break;
      }
      case 'dead-lettered':
        this.deliveries.failed(event.backend, event.zone, event.error.code, event.error.message, at);
        this.history.noteDelivery(event.job, {
          backend: event.backend,
          zone: event.zone,
          outcome: 'dead_letter',
          at,
          endedAt: event.job.createdAt + event.latencyMs,
          code: event.error.code,
          message: event.error.message,
        });
        break;
      case 'delivery-handed-over':
      case 'delivery-dropped':
        for (const job of event.jobs) this.history.forgetDelivery(job, event.backend, event.zone);
        break;
      case 'delivery-unserved':
        for (const job of event.jobs) {
          this.history.noteDelivery(job, {
            backend: event.backend,
            zone: event.zone,
            outcome: 'dead_letter',
            at,
            endedAt: at,
            code: event.error.code,
            message: event.error.message,
          });
        }
        break;
      default:
        break;
    }
  }

  /** GET /status and GET /addresses/ADDRESS; undefined for any other path. */
  route(path: string): JsonView | undefined {
    if (path === '/status') {
      return { status: 200, body: statusReport({ ...this.#sources, startedAt: this.#startedAt, packets: this.packets, rates: this.rates, deliveries: this.deliveries }, this.#now()) };
    }
    if (!path.startsWith('/addresses/')) return undefined;
    const sessions = this.#sources.sessionTable();
    if (!sessions) return { status: 503, body: { error: { code: 'RBL_STATE_DIR', message: 'the state store is not open yet' } } };
    let text: string;
    try {
      text = decodeURIComponent(path.slice('/addresses/'.length));
    } catch {
      text = path.slice('/addresses/'.length);
    }
    try {
      return { status: 200, body: addressReport(text, { sessions, jobsMatching: this.#sources.jobsMatching, history: this.history }) };
    } catch (error) {
      if (error instanceof RblError) return { status: 400, body: { error: { code: error.code, message: error.message } } };
      throw error;
    }
  }
}
