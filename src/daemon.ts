/**
 * The service: RADIUS listener → accounting intake → state store (journal, sessions, worker) →
 * backends, with the monitoring endpoint beside it. Built by a factory that does nothing until
 * start(); only the CLI entry exits the process. This file is wiring: each part reports its own
 * health, and log lines and metrics come from the parts' reporters.
 */
import { isDeepStrictEqual } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { accountingIntake } from './accounting/intake.js';
import { poolPolicy } from './accounting/policy.js';
import { ActiveBackends } from './backends/active.js';
import type { BackendRegistry } from './backends/index.js';
import type { Config } from './config/load.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { OperatorView } from './http/operator-view.js';
import { createReadiness, startingReadiness, startingView, type ReadinessReport } from './http/readiness.js';
import type { Logger } from './log.js';
import type { ReadonlySessionTable } from './sessions/table.js';
import { queueEventReporter } from './queue/report.js';
import { openStateStore, type StateStore } from './queue/store-open.js';
import { openWaitingForSpace } from './queue/wait-for-space.js';
import { createRadiusListener, loadDictionaries, type RadiusListener } from './radius/listener.js';
import { packetReporter } from './radius/report.js';
import { packageVersion } from './version.js';

export interface DaemonOptions {
  readonly logger: Logger;
  /** The backend types the config's entries name: the list the config was loaded with (the product's is BACKENDS). */
  readonly backends: BackendRegistry;
}

export interface Daemon {
  /** Opens the state, binds the RADIUS sockets and the HTTP endpoint; throws RblError when one fails. */
  start(): Promise<void>;
  /** Stops taking packets, persists what is in flight, releases everything. */
  close(): Promise<void>;
  /** Swaps clients, secrets, pools, unlist_on and backends without dropping packets (SIGHUP). */
  reload(config: Config): Promise<void>;
  /** A stop was asked for during start(): a start waiting for room on a full state.dir gives up at once. */
  interruptStart(): void;
  /** The metrics registry, for the endpoint and tests. */
  readonly metrics: Metrics;
  /** The bound RADIUS and HTTP addresses (their real ports when configured as 0). */
  addresses(): { radius: { transport: string; address: string; port: number; family: string }[]; http: { address: string; port: number } | undefined };
}

/**
 * How far V8 lets its old generation grow past what the last full collection left live before it
 * collects again: 30% instead of its own choice (up to 300% on a machine with a large heap limit).
 * A burst of Stops keeps each job's objects alive past two young-generation collections, so they
 * reach the old generation; with 300% a 100,000-Stop burst took the process from 70 MB to 240 MB
 * resident though under 45 MB was live. The bench, 2026-11-30: 30% peaked at 151 MB, 50% at 155 MB
 * in one run; 50% at 144 MB, V8's own choice at 200 MB in another, with at most some 8% more CPU
 * per Stop (within the machine's noise). Full collections mark concurrently on the other core.
 */
const HEAP_GROWING_PERCENT = 30;

/**
 * Keys a SIGHUP cannot apply: they name sockets, threads, files or the logger set up once at start.
 * By the key's name in the file, and where the resolved config holds it when that differs.
 */
const RESTART_ONLY_KEYS: readonly (readonly [key: string, path?: string])[] = [
  ['radius.listen'],
  ['radius.receive_thread', 'radius.receiveThread'],
  ['radius.tls.listen'],
  ['http.listen'],
  ['state.dir'],
  ['radius.dictionaries'],
  ['log.level'],
  ['log.format'],
];

/** The restart-only keys whose values differ between two configs. */
function restartOnlyChanges(previous: Config, next: Config): string[] {
  const at = (root: Config, path: string): unknown => path.split('.').reduce<unknown>((value, field) => (value as Record<string, unknown> | undefined)?.[field], root);
  return RESTART_ONLY_KEYS.filter(([key, path = key]) => !isDeepStrictEqual(at(previous, path), at(next, path))).map(([key]) => key);
}

/**
 * Sessions recorded under client names the config no longer has: a client renamed, or its NASes
 * moved to another client entry. Their Stops and Accounting-On/Off now come as the new client and
 * do not find them (sessions are keyed by client), so what only the table knew (a Stop without
 * Framed-IP-Address, a NAS's restart) unlists nothing until they expire.
 */
function sessionsOfGoneClients(sessions: ReadonlySessionTable, config: Config): Record<string, number> {
  const named = new Set(config.radius.clients.map((client) => client.name));
  const gone: Record<string, number> = {};
  for (const [client, count] of sessions.sessionsByClient()) if (!named.has(client)) gone[client] = count;
  return gone;
}

/** The pools a config allows unlists in: its own, and each client's. */
function poolsOf(config: Config): unknown {
  return { pools: config.pools, clients: config.radius.clients.map((client) => [client.name, client.pools]) };
}

/** What start() opened, in the order close() releases it. */
interface Running {
  readonly backends: ActiveBackends;
  readonly store: StateStore;
  readonly listener: RadiusListener;
  /** Unlists pending once the journal was replayed: the start line reports these, not what deliveries left of them by then. */
  readonly pendingAtOpen: number;
}

/** Builds the service from a validated config. */
export function createDaemon(initialConfig: Config, options: DaemonOptions): Daemon {
  const log = options.logger;
  const radiusLog = log.child({ component: 'radius' });
  const metrics = createMetrics();
  let config = initialConfig;
  /** The config start() opened the sockets, state.dir and logger with: what the restart-only keys still are. */
  let startedWith: Config | undefined;
  const startInterrupted = new AbortController();
  let running: Running | undefined;
  /**
   * Up before state.dir is open, so /healthz answers and /readyz says why it is not ready while the
   * journal is replayed or the service waits for room on a full disk (and rbl_unlist_ready is 0).
   */
  let http: HttpServer | undefined;
  /** What /readyz and /status say until the state store is open. */
  let opening = 'opening state.dir (replaying the journal)';
  let readiness: () => ReadinessReport = () => startingReadiness(opening);
  // new → started → closed; a start that fails goes straight to closed, without a "stopped" line.
  let phase: 'new' | 'started' | 'closed' = 'new';

  // GET /status and GET /addresses/ADDRESS: in-memory trackers fed by the parts' callbacks below.
  const operatorView = new OperatorView({
    version: packageVersion(),
    configFile: () => config.file,
    ack: () => config.state.ack,
    listeners: () => running?.listener.addresses() ?? [],
    http: () => http?.address(),
    clients: () => config.radius.clients,
    probes: () => running?.backends.prober.probeStates() ?? [],
    journalWritable: () => running?.store.health().writable ?? false,
    queueDepth: () => running?.store.depth() ?? 0,
    deadLetters: () => running?.store.deadLetterCount() ?? 0,
    sessions: () => running?.store.sessions.size ?? 0,
    sessionsOfClient: (client) => running?.store.sessions.sessionsOfClient(client) ?? 0,
    nasKeys: () => running?.store.sessions.nasKeys ?? 0,
    sessionTable: () => running?.store.sessions,
    jobsMatching: (matches) => running?.store.jobsMatching(matches) ?? [],
  });
  const packets = packetReporter(radiusLog, metrics);
  const reportQueueEvent = queueEventReporter(log.child({ component: 'queue' }), metrics);
  const onAccounting = accountingIntake({
    log: log.child({ component: 'accounting' }),
    radiusLog,
    metrics,
    config: () => config,
    store: () => (phase === 'closed' ? undefined : running?.store),
    onPlanned: (event, plan) => operatorView.onEvent(event, plan),
  });

  async function start(): Promise<void> {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    startedWith = config;
    loadDictionaries(config.radius.dictionaries);
    const backends = new ActiveBackends(config, options.backends, metrics);
    const stateDir = config.state.dir;
    if (config.http.listen) {
      http = createHttpServer({
        listen: config.http.listen,
        metrics,
        readiness: () => readiness(),
        views: (path) => (running ? operatorView.route(path) : startingView(path, opening)),
        onError: (error) => log.error({ component: 'http', errno: (error as NodeJS.ErrnoException).code }, `HTTP endpoint error: ${error.message}; the endpoint goes on accepting`),
      });
      try {
        await http.start();
      } catch (error) {
        await backends.close();
        throw error;
      }
    }
    const open = (): Promise<StateStore> =>
      openStateStore({
        dir: stateDir,
        backends: backends.list,
        maxSessionAgeMs: config.sessions.maxAgeMs,
        mayUnlist: poolPolicy(config.pools, config.radius.clients),
        onEvent: (event) => {
          operatorView.onQueueEvent(event);
          reportQueueEvent(event);
        },
      });
    const store = await openWaitingForSpace(open, {
      abandoned: () => phase === 'closed' || startInterrupted.signal.aborted,
      signal: startInterrupted.signal,
      // Every 2 s a try; a line at the first and then once a minute.
      onFull: (error, code, failures) => {
        opening = `state.dir ${stateDir} has no room (${code}): waiting for space`;
        if (failures % 30 !== 1) return;
        log.error(
          { code: 'RBL_STATE_DIR', dir: stateDir, errno: code, attempts: failures },
          `cannot start: state.dir ${stateDir} has no room (${code}): waiting for space, trying every 2 s; nothing is received or acknowledged until then (${error.message})`,
        );
      },
    }).catch(async (error: unknown) => {
      await backends.close();
      throw error;
    });
    let listener: RadiusListener;
    try {
      listener = createRadiusListener(config, {
        clients: () => config.radius.clients,
        onAccounting,
        onPacket: (outcome, detail) => {
          packets.onPacket(outcome, detail);
          operatorView.onPacket(outcome, detail);
        },
        onAnswered: packets.onAnswered,
        onNotice: packets.onNotice,
        onError: packets.onError,
      });
    } catch (error) {
      // The store holds the state directory's lock: release it before saying why.
      await store.close();
      await backends.close();
      throw error;
    }
    const parts: Running = { backends, store, listener, pendingAtOpen: store.depth() };
    running = parts;
    // Built per call because a reload replaces the prober.
    readiness = () => createReadiness({ listeners: () => listener.checks(), journal: () => store.health(), prober: backends.prober })();
    metrics.bindState({
      queueDepth: () => store.depth(),
      deadLetters: () => store.deadLetterCount(),
      sessions: () => store.sessions.size,
      journalWaiting: () => store.waitingForDisk(),
      backendUp: () => backends.prober.backendUp(),
      ready: () => readiness().ready,
    });
    await listener.start();
    backends.startProbing();
  }

  const warnOfGoneClients = (sessions: ReadonlySessionTable, current: Config): void => {
    const gone = sessionsOfGoneClients(sessions, current);
    if (Object.keys(gone).length === 0) return;
    log.warn(
      { clients: gone },
      'sessions recorded for clients the config no longer names: Stops and Accounting-On/Off of their NASes, coming as another client now, do not find them; they expire after sessions.max_age (keep the client name to keep them)',
    );
  };

  return {
    metrics,

    async start() {
      if (phase !== 'new') throw new Error(`rbl-unlist cannot start: it is ${phase}`);
      try {
        await start();
      } catch (error) {
        await this.close();
        throw error;
      }
      const { listener, backends, store, pendingAtOpen } = running!;
      log.info(
        { radius: listener.addresses(), http: http?.address(), backends: backends.list.map((b) => b.name), ack: config.state.ack, sessions: store.sessions.size, pending: pendingAtOpen },
        'rbl-unlist started',
      );
      warnOfGoneClients(store.sessions, config);
      phase = 'started';
    },

    async close() {
      if (phase === 'closed') return;
      const wasStarted = phase === 'started';
      phase = 'closed';
      const parts = running;
      parts?.backends.stopProbing();
      await parts?.listener.close();
      await http?.close();
      await parts?.store.close();
      await parts?.backends.close();
      if (wasStarted) log.info('rbl-unlist stopped');
    },

    async reload(next: Config) {
      // Against what runs, not the last reload: a restart-only change is announced at every reload
      // until a restart applies it, and one undone in the file is not announced at all.
      const restartOnly = restartOnlyChanges(startedWith ?? config, next);
      if (restartOnly.length > 0) log.warn({ keys: restartOnly }, `config reload: ${restartOnly.join(', ')} changed and take effect only after a restart`);
      // Backends first: one that cannot be built fails the reload before anything else changed.
      await running?.backends.reload(next, (backends) => running?.store.setBackends(backends));
      running?.store.setMaxSessionAge(next.sessions.maxAgeMs);
      // Judging the whole backlog again is for a change of pools only, not every SIGHUP.
      if (!isDeepStrictEqual(poolsOf(config), poolsOf(next))) running?.store.setMayUnlist(poolPolicy(next.pools, next.radius.clients));
      config = next;
      if (running) warnOfGoneClients(running.store.sessions, next);
      // RadSec certificates: new handshakes use the reloaded ones, established connections stay.
      running?.listener.reload(next);
      log.info({ file: next.file, clients: next.radius.clients.length, backends: (running?.backends.list ?? []).map((b) => b.name) }, 'config reloaded');
    },

    addresses() {
      return { radius: running?.listener.addresses() ?? [], http: http?.address() };
    },

    interruptStart() {
      startInterrupted.abort();
    },
  };
}
