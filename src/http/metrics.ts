/**
 * Every Prometheus metric rbl-unlist exports, defined here and nowhere else. Names follow
 * rbl_unlist_<area>_<name>, counters end in _total. {@link METRIC_HELP} is the one list of
 * names, types, labels and help text; the README's metrics table is checked against it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';

/** Results of one received RADIUS datagram. */
export const PACKET_OUTCOMES = [
  'accepted',
  'duplicate',
  'in_progress',
  'bad_authenticator',
  'unknown_client',
  'malformed',
  'status_server',
  'not_acknowledged',
  'bad_certificate',
  'too_many_connections',
  'answers_unread',
] as const;
export type PacketOutcome = (typeof PACKET_OUTCOMES)[number];

/** How a packet arrived: RADIUS over UDP, or RadSec (RFC 6614). */
export const PACKET_TRANSPORTS = ['udp', 'tls'] as const;
export type PacketTransport = (typeof PACKET_TRANSPORTS)[number];

/** Accounting event types (Acct-Status-Type). */
export const EVENT_TYPES = ['start', 'stop', 'interim', 'accounting-on', 'accounting-off', 'other'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Why a target was refused before it reached the queue. */
export const REFUSED_REASONS = ['outside_pools', 'protected'] as const;
export type RefusedReason = (typeof REFUSED_REASONS)[number];

/** Why an accounting event acted on nothing (see src/accounting/plan.ts). */
export const STALE_REASONS = ['session_stopped', 'out_of_order', 'address_taken', 'sessions_newer', 'unknown_session'] as const;
export type StaleReason = (typeof STALE_REASONS)[number];

/** What became of one target at one backend. */
export const UNLIST_OUTCOMES = ['success', 'retry', 'dead_letter'] as const;
export type UnlistOutcome = (typeof UNLIST_OUTCOMES)[number];

export interface MetricDescription {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
  readonly help: string;
}

/** Every rbl-unlist metric: name, type, labels and what it means (the README lists the same). */
export const METRIC_HELP = {
  rbl_unlist_radius_packets_total: {
    type: 'counter',
    labels: ['outcome', 'transport', 'client'],
    help: `RADIUS packets received (and RadSec connections refused, or closed because their peer left its answers unread), by outcome: ${PACKET_OUTCOMES.join(', ')}; by transport: ${PACKET_TRANSPORTS.join(', ')}; and by client name (none for a packet from no configured client)`,
  },
  rbl_unlist_radius_ack_latency_seconds: {
    type: 'histogram',
    labels: [],
    help: 'Time from receiving an Accounting-Request to sending its Accounting-Response',
  },
  rbl_unlist_accounting_events_total: {
    type: 'counter',
    labels: ['type'],
    help: `Accounting events decoded, by Acct-Status-Type: ${EVENT_TYPES.join(', ')}`,
  },
  rbl_unlist_accounting_stale_stops_total: {
    type: 'counter',
    labels: [],
    help: 'Addresses of a Stop (or of an Accounting-On/Off session) skipped because they now belong to a newer session',
  },
  rbl_unlist_accounting_stale_events_total: {
    type: 'counter',
    labels: ['type', 'reason'],
    help: `Accounting events (or addresses of one) that acted on nothing because of event order, by type and reason: ${STALE_REASONS.join(', ')}`,
  },
  rbl_unlist_sessions_evicted_total: {
    type: 'counter',
    labels: [],
    help: 'Sessions forgotten, oldest first, to keep the session table within sessions.max, or a client within its max_sessions',
  },
  rbl_unlist_accounting_refused_total: {
    type: 'counter',
    labels: ['reason'],
    help: 'Addresses never unlisted because they are outside the pools or protected (127.0.0.0/8, ::1)',
  },
  rbl_unlist_backend_unlists_total: {
    type: 'counter',
    labels: ['backend', 'outcome'],
    help: 'Targets sent to a backend, by outcome: success, retry (transient failure), dead_letter (permanent failure)',
  },
  rbl_unlist_backend_request_duration_seconds: {
    type: 'histogram',
    labels: ['backend'],
    help: 'Duration of one backend call (one batch of up to 500 addresses for one zone: one DNS UPDATE message or PowerDNS request in the usual case), successful or not',
  },
  rbl_unlist_backend_up: {
    type: 'gauge',
    labels: ['backend', 'zone'],
    help: "1 when the backend's last readiness probe of the zone succeeded, else 0",
  },
  rbl_unlist_unlist_latency_seconds: {
    type: 'histogram',
    labels: [],
    help: 'Time from receiving an event to its addresses being unlisted, observed once per backend and zone, once all of them are unlisted there',
  },
  rbl_unlist_queue_depth: {
    type: 'gauge',
    labels: [],
    help: 'Unlists waiting in the queue, including those waiting to be retried',
  },
  rbl_unlist_queue_dead_letters: {
    type: 'gauge',
    labels: [],
    help: 'Unlists that failed permanently and wait for `rbl-unlist queue retry` or `drop`',
  },
  rbl_unlist_sessions: {
    type: 'gauge',
    labels: [],
    help: 'Accounting sessions in the session table',
  },
  rbl_unlist_ready: {
    type: 'gauge',
    labels: [],
    help: '1 when /readyz would answer 200 (RADIUS sockets bound, journal writable, every backend probed recently), else 0',
  },
  rbl_unlist_journal_errors_total: {
    type: 'counter',
    labels: [],
    help: 'Failed journal writes (disk full, I/O error); while the last one is not followed by a good write the service is not ready',
  },
  rbl_unlist_journal_waiting: {
    type: 'gauge',
    labels: [],
    help: "Accounting requests and journal records waiting for the journal's write to reach the disk: a few hundred in a burst; at state.max_unwritten new requests are not answered (a slow or hung disk)",
  },
} as const satisfies Record<string, MetricDescription>;

export type MetricName = keyof typeof METRIC_HELP;

/** The state the gauges read at scrape time. */
export interface MetricsState {
  queueDepth(): number;
  deadLetters(): number;
  sessions(): number;
  /** Requests and records waiting for the journal's write to disk; absent, 0. */
  journalWaiting?(): number;
  backendUp(): { backend: string; zone: string; up: boolean }[];
  /** Whether /readyz would answer 200; absent, rbl_unlist_ready reads 0. */
  ready?(): boolean;
}

/** One series of a counter, its labels fixed: see {@link Metrics.series}. */
export interface CountedSeries {
  inc(count?: number): void;
}

export interface Metrics {
  /** A registry of its own (with the default process metrics), so tests can make many. */
  readonly registry: Registry;
  readonly packets: Counter<'outcome' | 'transport' | 'client'>;
  readonly events: Counter<'type'>;
  readonly staleStops: Counter;
  readonly staleEvents: Counter<'type' | 'reason'>;
  readonly evictedSessions: Counter;
  readonly refusedTargets: Counter<'reason'>;
  /** Counts targets, not requests. */
  readonly unlists: Counter<'backend' | 'outcome'>;
  readonly backendRequestSeconds: Histogram<'backend'>;
  /** Event received to unlisted everywhere; observed for every job delivered. */
  readonly unlistLatencySeconds: BucketHistogram;
  /** Packet received to response sent; observed for every answer. */
  readonly ackLatencySeconds: BucketHistogram;
  readonly journalErrors: Counter;
  /** Queue depth, dead letters, sessions and backend up: gauges read at scrape time from these getters. */
  bindState(state: MetricsState): void;
  /**
   * A series of `counter` for fixed label values, counted in a plain number and added to the
   * counter whenever it is read (a scrape): for counts made per packet, as prom-client hashes the
   * labels and allocates on every inc. Made once per label set and kept.
   */
  series<L extends string>(counter: Counter<L>, labels: LabelValues<L>): CountedSeries;
}

// Backend requests are loopback or LAN round trips bounded by the timeout (default 3-5 s).
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Unlisting includes batching and retries with back-off, so the tail reaches minutes.
const UNLIST_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
// The ack waits for an fsync (state.ack: journal) or for the backends (state.ack: unlisted).
const ACK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Builds every metric on a fresh registry; label values known in advance start at 0 so dashboards see them. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let state: MetricsState | undefined;
  // Counts of Metrics.series, by counter, added to the counter when it is read.
  const pending = new Map<Counter<string>, { readonly labels: LabelValues<string>; count: number }[]>();

  const counter = <L extends string>(name: MetricName & `${string}_total`) =>
    new Counter<L>({
      name,
      help: METRIC_HELP[name].help,
      labelNames: METRIC_HELP[name].labels as unknown as L[],
      registers: [registry],
      collect() {
        for (const series of pending.get(this as Counter<string>) ?? []) {
          if (series.count === 0) continue;
          this.inc(series.labels as LabelValues<L>, series.count);
          series.count = 0;
        }
      },
    });
  const histogram = <L extends string>(name: MetricName & `${string}_seconds`, buckets: number[]) =>
    new Histogram<L>({ name, help: METRIC_HELP[name].help, labelNames: METRIC_HELP[name].labels as unknown as L[], buckets, registers: [registry] });
  // Observed once per packet or job: the lighter histogram, without labels.
  const perPacketHistogram = (name: MetricName & `${string}_seconds`, buckets: number[]) =>
    new BucketHistogram({ name, help: METRIC_HELP[name].help, buckets, registers: [registry] });
  const gauge = (name: MetricName, read: (s: MetricsState) => number) =>
    new Gauge({
      name,
      help: METRIC_HELP[name].help,
      registers: [registry],
      collect() {
        if (state) this.set(read(state));
      },
    });

  const packets = counter<'outcome' | 'transport' | 'client'>('rbl_unlist_radius_packets_total');
  for (const transport of PACKET_TRANSPORTS) for (const outcome of PACKET_OUTCOMES) packets.inc({ outcome, transport }, 0);
  const events = counter<'type'>('rbl_unlist_accounting_events_total');
  for (const type of EVENT_TYPES) events.inc({ type }, 0);
  const refusedTargets = counter<'reason'>('rbl_unlist_accounting_refused_total');
  for (const reason of REFUSED_REASONS) refusedTargets.inc({ reason }, 0);

  gauge('rbl_unlist_queue_depth', (s) => s.queueDepth());
  gauge('rbl_unlist_queue_dead_letters', (s) => s.deadLetters());
  gauge('rbl_unlist_sessions', (s) => s.sessions());
  gauge('rbl_unlist_ready', (s) => (s.ready?.() === true ? 1 : 0));
  gauge('rbl_unlist_journal_waiting', (s) => s.journalWaiting?.() ?? 0);
  new Gauge<'backend' | 'zone'>({
    name: 'rbl_unlist_backend_up',
    help: METRIC_HELP.rbl_unlist_backend_up.help,
    labelNames: ['backend', 'zone'],
    registers: [registry],
    collect() {
      if (!state) return;
      // Reset first so a backend removed by a config reload disappears from the scrape.
      this.reset();
      for (const { backend, zone, up } of state.backendUp()) this.set({ backend, zone }, up ? 1 : 0);
    },
  });

  return {
    registry,
    packets,
    events,
    staleStops: counter('rbl_unlist_accounting_stale_stops_total'),
    staleEvents: counter<'type' | 'reason'>('rbl_unlist_accounting_stale_events_total'),
    evictedSessions: counter('rbl_unlist_sessions_evicted_total'),
    refusedTargets,
    unlists: counter<'backend' | 'outcome'>('rbl_unlist_backend_unlists_total'),
    backendRequestSeconds: histogram<'backend'>('rbl_unlist_backend_request_duration_seconds', REQUEST_BUCKETS),
    unlistLatencySeconds: perPacketHistogram('rbl_unlist_unlist_latency_seconds', UNLIST_BUCKETS),
    ackLatencySeconds: perPacketHistogram('rbl_unlist_radius_ack_latency_seconds', ACK_BUCKETS),
    journalErrors: counter('rbl_unlist_journal_errors_total'),
    bindState(next) {
      state = next;
    },
    series(counted, labels) {
      const series = { labels: labels as LabelValues<string>, count: 0 };
      const list = pending.get(counted as Counter<string>) ?? [];
      list.push(series);
      pending.set(counted as Counter<string>, list);
      return {
        inc(count = 1) {
          series.count += count;
        },
      };
    },
  };
}
