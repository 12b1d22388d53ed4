/**
 * The service: RADIUS listener → accounting planner → state store (journal, sessions, worker) →
 * backends, with the monitoring endpoint beside it. Built by a factory that does nothing until
 * start(); only the CLI entry exits the process.
 */
import { isDeepStrictEqual } from 'node:util';
import { accountingEvent, type AccountingEventType } from './accounting/event.js';
import { isEmptyPlan, planEvent, type EventPlan, type StaleReason } from './accounting/plan.js';
import { createBackend } from './backends/index.js';
import type { Backend } from './backends/types.js';
import type { Config } from './config/load.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { OperatorView } from './http/operator-view.js';
import { BackendProber, createReadiness } from './http/readiness.js';
import { rateLimiter, type Logger } from './log.js';
import type { QueueEvent } from './queue/events.js';
import type { UnlistJob } from './queue/state.js';
import { openStateStore, type StateStore } from './queue/store.js';
import { RblError } from './errors.js';
import { createRadiusListener, hostPort, loadDictionaries, type AccountingRequest, type PacketDetail, type PacketOutcome, type RadiusListener } from './radius/listener.js';
import { packetTrace } from './radius/trace.js';
import { packageVersion } from './version.js';

export interface DaemonOptions {
  readonly logger: Logger;
}

export interface Daemon {
  /** Opens the state, binds the RADIUS sockets and the HTTP endpoint; throws RblError when one fails. */
  start(): Promise<void>;
  /** Stops taking packets, persists what is in flight, releases everything. */
  close(): Promise<void>;
  /** Swaps clients, secrets, pools, unlist_on and backends without dropping packets (SIGHUP). */
  reload(config: Config): Promise<void>;
  /** The metrics registry, for the endpoint and tests. */
  readonly metrics: Metrics;
  /** The bound RADIUS and HTTP addresses (their real ports when configured as 0). */
  addresses(): { radius: { transport: string; address: string; port: number; family: string }[]; http: { address: string; port: number } | undefined };
}

/** The end of a stale event's log line, by reason. */
const STALE_WHY: Readonly<Record<StaleReason, string>> = {
  session_stopped: 'its session has already stopped',
  out_of_order: 'its session has a newer record',
  address_taken: 'the address belongs to a newer session',
  sessions_newer: "the NAS's sessions started after it are kept",
  unknown_session: 'no recorded session',
};

/** Outcomes that are logged (rate-limited): a discarded packet says why, once in a while. */
const DISCARDS: ReadonlySet<PacketOutcome> = new Set(['bad_authenticator', 'unknown_client', 'malformed', 'bad_certificate', 'too_many_connections']);

/** Builds the service from a validated config. */
export function createDaemon(initialConfig: Config, options: DaemonOptions): Daemon {
  let config = initialConfig;
  const log = options.logger;
  const radiusLog = log.child({ component: 'radius' });
  const accountingLog = log.child({ component: 'accounting' });
  const queueLog = log.child({ component: 'queue' });
  const metrics = createMetrics();
  const discardLimiter = rateLimiter(20, 10_000);
  // A full disk fails every write and every recovery try: a few lines a minute say so.
  const journalErrorLimiter = rateLimiter(5, 60_000);
  // Refused and stale lines come from packets a client controls: limited like discards.
  const refusedLimiter = rateLimiter(20, 10_000);
  const staleLimiter = rateLimiter(20, 10_000);
  const evictionLimiter = rateLimiter(1, 10_000);

  let backends: Backend[] = [];
  let store: StateStore | undefined;
  let listener: RadiusListener | undefined;
  let http: HttpServer | undefined;
  let prober: BackendProber | undefined;
  let closing = false;
  // A start that fails closes what it opened without a "stopped" line: serve logs the failure.
  let started = false;
  // GET /status and GET /addresses/ADDRESS: in-memory trackers fed by the callbacks below.
  const operatorView = new OperatorView({
    version: packageVersion(),
    configFile: () => config.file,
    ack: () => config.state.ack,
    listeners: () => listener?.addresses() ?? [],
    http: () => http?.address(),
    clients: () => config.radius.clients,
    probes: () => prober?.probeStates() ?? [],
    journalWritable: () => store?.health().writable ?? false,
    queueDepth: () => store?.depth() ?? 0,
    deadLetters: () => store?.deadLetterCount() ?? 0,
    sessions: () => store?.sessions.size ?? 0,
    sessionTable: () => store?.sessions,
    jobsMatching: (matches) => store?.jobsMatching(matches) ?? [],
  });

  function onPacket(outcome: PacketOutcome, detail: PacketDetail): void {
    metrics.packets.inc({ outcome, transport: detail.transport });
    operatorView.onPacket(outcome, detail);
    if (!DISCARDS.has(outcome)) return;
    const { allowed, suppressed } = discardLimiter();
    // RFC 5080 §2.3.3: discarded silently towards the sender, but the operator must be able to see it.
    if (allowed) {
      // Over TLS an unknown client is found at the handshake, so it is a connection that is refused.
      const refused = outcome === 'bad_certificate' || outcome === 'too_many_connections' || (outcome === 'unknown_client' && detail.transport === 'tls');
      const what = refused ? 'RadSec connection refused' : 'packet discarded';
      radiusLog.warn({ outcome, transport: detail.transport, source: detail.source, client: detail.client, reason: detail.reason, suppressed }, `${what}: ${outcome}`);
    }
  }

  function onNotice(message: string, detail: Record<string, unknown>): void {
    const { allowed, suppressed } = discardLimiter();
    if (allowed) radiusLog.info({ ...detail, transport: 'tls', suppressed }, message);
  }

  async function onAccounting(request: AccountingRequest): Promise<void> {
    if (closing || !store) throw new Error('shutting down');
    if (radiusLog.isLevelEnabled('trace')) {
      const trace = packetTrace(request.packet, hostPort(request.source.address, request.source.port));
      radiusLog.trace({ client: request.client.name, attributes: trace.attributes }, trace.header);
    }
    const event = accountingEvent(request.attributes, request.client.name, request.source.address, request.receivedAt);
    metrics.events.inc({ type: event.type });
    const plan = planEvent(event, store.sessions, { pools: config.pools, clientPools: request.client.pools, unlistOn: config.unlistOn, maxSessions: config.sessions.max });
    operatorView.onEvent(event, plan);
    const context = { client: event.client, nas: event.nas, session: event.sessionId, user: event.userName, event: event.type };
    for (const { address, error } of plan.refused) {
      metrics.refusedTargets.inc({ reason: error.code === 'RBL_ADDRESS_PROTECTED' ? 'protected' : 'outside_pools' });
      const { allowed, suppressed } = refusedLimiter();
      if (allowed) accountingLog.warn({ ...context, address, code: error.code, suppressed }, error.message);
    }
    logStale(event.type, plan, context);
    if (plan.evicted.length > 0) {
      metrics.evictedSessions.inc(plan.evicted.length);
      const { allowed, suppressed } = evictionLimiter();
      if (allowed) {
        accountingLog.warn(
          { count: plan.evicted.length, max: config.sessions.max, oldest_updated_at: new Date(plan.evicted[0]!.updatedAt).toISOString(), suppressed },
          'session table full (sessions.max): the oldest sessions are forgotten',
        );
      }
    }
    if (isEmptyPlan(plan)) {
      accountingLog.debug(context, 'accounting event changes nothing');
      return;
    }
    // The `unlisted` line of each backend and zone reports the outcome with the same context; one
    // info line per event keeps logging off the top of the profile at thousands of Stops a second.
    accountingLog.debug({ ...context, addresses: plan.unlist }, plan.unlist.length > 0 ? 'unlisting' : 'session recorded');
    const waitForDelivery = config.state.ack === 'unlisted';
    const { recorded, done } = store.commit({
      upsert: [...plan.upsert],
      remove: [...plan.remove],
      unlist:
        plan.unlist.length > 0
          ? { targets: plan.unlist, reason: { event: event.type, client: event.client, nas: event.nas, sessionId: event.sessionId }, createdAt: event.receivedAt }
          : undefined,
    }, { trackDelivery: waitForDelivery });
    // With state.ack: journal the outcome is reported by the worker's events; nothing waits on `done`.
    await (waitForDelivery ? done : recorded);
    metrics.ackLatencySeconds.observe((Date.now() - request.receivedAt) / 1000);
  }

  /** Counts each reason once per event and logs each finding, at a limited rate: a replaying client must not flood the log. */
  function logStale(type: AccountingEventType, plan: EventPlan, context: Record<string, unknown>): void {
    for (const reason of new Set(plan.stale.map((finding) => finding.reason))) metrics.staleEvents.inc({ type, reason });
    for (const { reason, address, owner } of plan.stale) {
      // The older counter keeps its meaning: addresses of a Stop or Accounting-On/Off session.
      if (reason === 'address_taken' && type !== 'start' && type !== 'interim') metrics.staleStops.inc();
      const { allowed, suppressed } = staleLimiter();
      if (!allowed) continue;
      const fields = { ...context, reason, address, owner_session: owner?.sessionId, owner_nas: owner?.nas, owner_client: owner?.client, suppressed };
      // info, not warn: FreeRADIUS's status_check = request sends such a Stop every few seconds.
      if (reason === 'unknown_session') accountingLog.info(fields, 'Stop names no address and matches no recorded session: nothing to unlist');
      else accountingLog.info(fields, `stale ${type === 'stop' ? 'Stop' : type} skipped: ${STALE_WHY[reason]}`);
    }
  }

  function onQueueEvent(event: QueueEvent): void {
    operatorView.onQueueEvent(event);
    switch (event.type) {
      case 'delivered': {
        const { job } = event;
        metrics.unlists.inc({ backend: event.backend, outcome: 'success' }, job.targets.length);
        metrics.unlistLatencySeconds.observe(event.latencyMs / 1000);
        queueLog.info({ ...jobContext(job), backend: event.backend, zone: event.zone, ms: event.latencyMs }, 'unlisted');
        break;
      }
      case 'retry-scheduled':
        metrics.unlists.inc({ backend: event.backend, outcome: 'retry' }, event.targets.length);
        queueLog.warn(
          { backend: event.backend, zone: event.zone, addresses: event.targets, code: codeOf(event.error), attempt: event.attempt, retry_in_ms: event.delayMs },
          `${event.error.message}; retrying`,
        );
        break;
      case 'dead-lettered':
        metrics.unlists.inc({ backend: event.backend, outcome: 'dead_letter' }, event.job.targets.length);
        queueLog.error(
          { ...jobContext(event.job), backend: event.backend, zone: event.zone, code: event.error.code },
          `dead letter: ${event.error.message} (see rbl-unlist queue list)`,
        );
        break;
      case 'delivery-dropped':
        queueLog.warn({ backend: event.backend, zone: event.zone, jobs: event.jobs.length }, 'pending unlists dropped: the backend or zone is no longer configured');
        break;
      case 'journal-recovered':
        queueLog.warn(
          { code: 'RBL_JOURNAL_CORRUPT', file: event.file, good_bytes: event.goodBytes, skipped_bytes: event.skippedBytes, saved_as: event.savedAs },
          `journal recovered up to the last good record: ${event.skippedBytes} bytes skipped (${event.reason})`,
        );
        break;
      case 'journal-error': {
        metrics.journalErrors.inc();
        const { allowed, suppressed } = journalErrorLimiter();
        if (allowed) {
          queueLog.error(
            { code: event.error.code, writable: event.writable, suppressed },
            event.writable ? event.error.message : `${event.error.message}; nothing is acknowledged until the journal can be written again`,
          );
        }
        break;
      }
      case 'journal-writable':
        queueLog.warn({ down_ms: event.downMs, pending: event.pending }, 'journal writable again: state rebuilt from it, acknowledging again');
        break;
      case 'request-error':
        queueLog.error({ code: event.error.code }, event.error.message);
        break;
      case 'journal-compacted':
        queueLog.info({ file: event.file, before_bytes: event.beforeBytes, after_bytes: event.afterBytes, ms: event.durationMs }, 'journal compacted');
        break;
      case 'sessions-expired':
        queueLog.info({ count: event.count }, 'sessions expired (sessions.max_age)');
        break;
      case 'admin-request':
        queueLog.info({ action: event.action, count: event.count }, `queue ${event.action} applied`);
        break;
    }
  }

  /** Times every backend call for the request-duration histogram. */
  function instrumented(backend: Backend): Backend {
    return {
      name: backend.name,
      zones: backend.zones,
      async unlist(zone, targets) {
        const end = metrics.backendRequestSeconds.startTimer({ backend: backend.name });
        try {
          await backend.unlist(zone, targets);
        } finally {
          end();
        }
      },
      check: (zone, target) => backend.check(zone, target),
      probe: (zone) => backend.probe(zone),
      describe: (zone, targets) => backend.describe(zone, targets),
      close: () => backend.close(),
    };
  }

  function startProber(): void {
    prober?.stop();
    prober = new BackendProber(backends, { intervalMs: config.http.probeIntervalMs });
    prober.start();
  }

  return {
    metrics,

    async start() {
      loadDictionaries(config.radius.dictionaries);
      backends = config.backends.map((backend) => instrumented(createBackend(backend)));
      store = await openStateStore({
        dir: config.state.dir,
        backends,
        maxSessionAgeMs: config.sessions.maxAgeMs,
        onEvent: onQueueEvent,
      });
      listener = createRadiusListener(config, {
        clients: () => config.radius.clients,
        onAccounting,
        onPacket,
        onNotice,
      });
      const activeStore = store;
      const activeListener = listener;
      // Built per call because a reload replaces the prober.
      const readiness = () => createReadiness({ listeners: () => activeListener.checks(), journal: () => activeStore.health(), prober })();
      metrics.bindState({
        queueDepth: () => activeStore.depth(),
        deadLetters: () => activeStore.deadLetterCount(),
        sessions: () => activeStore.sessions.size,
        backendUp: () => prober?.backendUp() ?? [],
        ready: () => readiness().ready,
      });
      try {
        await listener.start();
        startProber();
        if (config.http.listen) {
          http = createHttpServer({ listen: config.http.listen, metrics, readiness, views: (path) => operatorView.route(path) });
          await http.start();
        }
      } catch (error) {
        await this.close();
        throw error;
      }
      log.info(
        { radius: listener.addresses(), http: http?.address(), backends: backends.map((b) => b.name), ack: config.state.ack, sessions: store.sessions.size, pending: store.depth() },
        'rbl-unlist started',
      );
      started = true;
    },

    async close() {
      if (closing) return;
      closing = true;
      prober?.stop();
      await listener?.close();
      await http?.close();
      await store?.close();
      await Promise.all(backends.map((backend) => backend.close()));
      if (started) log.info('rbl-unlist stopped');
    },

    async reload(next: Config) {
      const previous = config;
      const restartOnly = (['radius.listen', 'radius.tls.listen', 'http.listen', 'state.dir', 'radius.dictionaries', 'log.level', 'log.format'] as const).filter((key) => {
        const at = (root: Config): unknown => key.split('.').reduce<unknown>((value, field) => (value as Record<string, unknown> | undefined)?.[field], root);
        return !isDeepStrictEqual(at(previous), at(next));
      });
      if (restartOnly.length > 0) log.warn({ keys: restartOnly }, `config reload: ${restartOnly.join(', ')} changed and take effect only after a restart`);
      let retired: Backend[] = [];
      const backendsChanged = !isDeepStrictEqual(previous.backends, next.backends);
      if (backendsChanged) {
        retired = backends;
        backends = next.backends.map((backend) => instrumented(createBackend(backend)));
        store?.setBackends(backends);
      }
      config = next;
      // RadSec certificates: new handshakes use the reloaded ones, established connections stay.
      listener?.reload(next);
      if (backendsChanged || previous.http.probeIntervalMs !== next.http.probeIntervalMs) startProber();
      await Promise.all(retired.map((backend) => backend.close()));
      log.info({ file: next.file, clients: next.radius.clients.length, backends: backends.map((b) => b.name) }, 'config reloaded');
    },

    addresses() {
      return { radius: listener?.addresses() ?? [], http: http?.address() };
    },
  };
}

function jobContext(job: UnlistJob): Record<string, unknown> {
  return { client: job.reason.client, nas: job.reason.nas, session: job.reason.sessionId, event: job.reason.event, addresses: job.targets, job: job.id };
}

function codeOf(error: Error): string | undefined {
  return error instanceof RblError ? error.code : undefined;
}
