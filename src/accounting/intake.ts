/**
 * Takes each valid Accounting-Request from the RADIUS handler: turns it into an event, plans it
 * against the session table and the rules, reports what the plan refused or found stale, commits
 * it, and resolves when the NAS may be answered (recorded, or with state.ack: unlisted, delivered).
 */
import type { ClientConfig, Config } from '../config/load.js';
import { RblError } from '../errors.js';
import type { CountedSeries, Metrics } from '../http/metrics.js';
import { rateLimiter, type Logger } from '../log.js';
import type { StateStore } from '../queue/store-open.js';
import { hostPort } from '../net/host-port.js';
import type { AccountingRequest } from '../radius/handler.js';
import { packetTrace } from '../radius/trace.js';
import { accountingEvent, type AccountingEvent, type AccountingEventType } from './event.js';
import { isEmptyPlan, planEvent, type EventPlan, type StaleReason } from './plan.js';

/** The end of a stale event's log line, by reason. */
const STALE_WHY: Readonly<Record<StaleReason, string>> = {
  session_stopped: 'its session has already stopped',
  out_of_order: 'its session has a newer record',
  address_taken: 'the address belongs to a newer session',
  sessions_newer: "the NAS's sessions started after it are kept",
  unknown_session: 'no recorded session',
};

export interface AccountingIntakeOptions {
  /** The accounting component's logger. */
  readonly log: Logger;
  /** The radius component's logger, for the packet trace at level trace. */
  readonly radiusLog: Logger;
  readonly metrics: Metrics;
  /** Read per request, so a SIGHUP reload takes effect at once. */
  readonly config: () => Config;
  /** The open store; undefined once the service is closing (the request is then not answered). */
  readonly store: () => StateStore | undefined;
  /** Sees every event and its plan (the operator's view). */
  readonly onPlanned?: (event: AccountingEvent, plan: EventPlan) => void;
}

function diskBehind(waiting: number, max: number): RblError {
  return new RblError('RBL_STATE_DIR', `not recorded: ${waiting} requests already wait for the journal's write to disk (state.max_unwritten ${max}); the disk is slow or hung`);
}

/** The fields that tie a log line to its event. */
function eventContext(event: AccountingEvent): Record<string, unknown> {
  return { client: event.client, nas: event.nas, session: event.sessionId, user: event.userName, event: event.type };
}

const NO_CONTEXT: Record<string, unknown> = Object.freeze({});

/** The handler's `onAccounting`: resolves once the NAS may be answered, rejects when it must retransmit. */
export function accountingIntake(options: AccountingIntakeOptions): (request: AccountingRequest) => Promise<void> {
  const { log, radiusLog, metrics } = options;
  // Refused, stale and eviction lines come from packets a client controls: limited like discards.
  const refusedLimiter = rateLimiter(20, 10_000);
  const staleLimiter = rateLimiter(20, 10_000);
  const evictionLimiter = rateLimiter(1, 10_000);
  const clientEvictionLimiter = rateLimiter(1, 10_000);
  // As many lines a minute as a journal that cannot be written gets (queue/report.ts).
  const diskLimiter = rateLimiter(5, 60_000);
  const eventSeries = new Map<AccountingEventType, CountedSeries>();
  const countEvent = (type: AccountingEventType): void => {
    let series = eventSeries.get(type);
    if (!series) eventSeries.set(type, (series = metrics.series(metrics.events, { type })));
    series.inc();
  };

  /** Counts each reason once per event and logs each finding, at a limited rate: a replaying client must not flood the log. */
  const reportStale = (type: AccountingEventType, plan: EventPlan, context: Record<string, unknown>): void => {
    for (const reason of new Set(plan.stale.map((finding) => finding.reason))) metrics.staleEvents.inc({ type, reason });
    for (const { reason, address, owner } of plan.stale) {
      // The older counter keeps its meaning: addresses of a Stop or Accounting-On/Off session.
      if (reason === 'address_taken' && type !== 'start' && type !== 'interim') metrics.staleStops.inc();
      const { allowed, suppressed } = staleLimiter();
      if (!allowed) continue;
      const fields = { ...context, reason, address, owner_session: owner?.sessionId, owner_nas: owner?.nas, owner_client: owner?.client, suppressed };
      // info, not warn: FreeRADIUS's status_check = request sends such a Stop every few seconds.
      if (reason === 'unknown_session') log.info(fields, 'Stop names no address and matches no recorded session: nothing to unlist');
      else log.info(fields, `stale ${type === 'stop' ? 'Stop' : type} skipped: ${STALE_WHY[reason]}`);
    }
  };

  const reportRefusals = (plan: EventPlan, context: Record<string, unknown>): void => {
    for (const { address, error } of plan.refused) {
      metrics.refusedTargets.inc({ reason: error.code === 'RBL_ADDRESS_PROTECTED' ? 'protected' : 'outside_pools' });
      const { allowed, suppressed } = refusedLimiter();
      if (allowed) log.warn({ ...context, address, code: error.code, suppressed }, error.message);
    }
  };

  const reportEvictions = (plan: EventPlan, max: number, client: ClientConfig): void => {
    if (plan.evicted.length === 0) return;
    metrics.evictedSessions.inc(plan.evicted.length);
    const own = plan.evictedForClient ?? 0;
    if (own > 0) {
      // A limiter of its own: a client flooding its cap must not hide that the whole table is full.
      const { allowed, suppressed } = clientEvictionLimiter();
      if (allowed) {
        log.warn(
          { client: client.name, count: own, max_sessions: client.maxSessions, oldest_updated_at: new Date(plan.evicted[0]!.updatedAt).toISOString(), suppressed },
          "client's session cap reached (max_sessions): its oldest sessions are forgotten",
        );
      }
    }
    if (plan.evicted.length === own) return;
    const { allowed, suppressed } = evictionLimiter();
    if (allowed) {
      log.warn(
        { count: plan.evicted.length - own, max, oldest_updated_at: new Date(plan.evicted[own]!.updatedAt).toISOString(), suppressed },
        'session table full (sessions.max): the oldest sessions are forgotten',
      );
    }
  };

  /**
   * A plain function returning the promise, not an async one: an async function keeps its whole
   * frame (the request, the event, the plan) until the journal's fsync, and at thousands of Stops a
   * second those frames outlive young-generation collections and fill the old generation.
   */
  const intake = (request: AccountingRequest): Promise<void> => {
    const store = options.store();
    if (!store) throw new Error('shutting down');
    const config = options.config();
    // On a slow or hung disk every request would wait in memory for its write to the disk, without bound.
    // Refused before it changes anything: the NAS retransmits, and a later try is processed afresh.
    const waiting = store.waitingForDisk();
    if (waiting >= config.state.maxUnwritten) {
      const error = diskBehind(waiting, config.state.maxUnwritten);
      const { allowed, suppressed } = diskLimiter();
      if (allowed) log.error({ code: error.code, client: request.client.name, suppressed }, error.message);
      throw error;
    }
    if (radiusLog.isLevelEnabled('trace')) {
      const trace = packetTrace(request.packet, hostPort(request.source.address, request.source.port));
      radiusLog.trace({ client: request.client.name, attributes: trace.attributes }, trace.header);
    }
    const event = accountingEvent(request.attributes, request.client.name, request.source.address, request.receivedAt);
    countEvent(event.type);
    const plan = planEvent(event, store.sessions, {
      pools: config.pools,
      clientPools: request.client.pools,
      unlistOn: config.unlistOn,
      maxSessions: config.sessions.max,
      clientMaxSessions: request.client.maxSessions,
    });
    options.onPlanned?.(event, plan);
    // The fields of this event's log lines, made only when a line is written: most Stops write none here.
    const debug = log.isLevelEnabled('debug');
    const context = debug || plan.refused.length > 0 || plan.stale.length > 0 ? eventContext(event) : NO_CONTEXT;
    if (plan.refused.length > 0) reportRefusals(plan, context);
    if (plan.stale.length > 0) reportStale(event.type, plan, context);
    reportEvictions(plan, config.sessions.max, request.client);
    if (isEmptyPlan(plan)) {
      if (debug) log.debug(context, 'accounting event changes nothing');
      // Judged against changes that may not be on disk yet (or were refused): answered once they are.
      return store.committed();
    }
    // The `unlisted` line of each backend and zone reports the outcome with the same context; one
    // info line per event keeps logging off the top of the profile at thousands of Stops a second.
    if (debug) log.debug({ ...context, addresses: plan.unlist.map((target) => target.text) }, plan.unlist.length > 0 ? 'unlisting' : 'session recorded');
    const waitForDelivery = config.state.ack === 'unlisted';
    const { recorded, done } = store.commit(
      {
        upsert: plan.upsert,
        remove: plan.remove,
        unlist:
          plan.unlist.length > 0
            ? { targets: plan.unlist, reason: { event: event.type, client: event.client, nas: event.nas, sessionId: event.sessionId }, createdAt: event.receivedAt }
            : undefined,
      },
      { trackDelivery: waitForDelivery },
    );
    // With state.ack: journal the outcome is reported by the worker's events; nothing waits on `done`.
    // The promise is the journal's, shared by the records of one write: the answer's latency is
    // observed where the answer is sent (radius/report.ts), not in a further promise per Stop.
    return waitForDelivery ? done : recorded;
  };

  return (request) => {
    try {
      return intake(request);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
