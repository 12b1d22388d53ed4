/**
 * GET /status: the running service's state as one JSON document, the way `rndc status` gives
 * BIND's: version, uptime, listeners, clients with their packets and discards, each backend and
 * zone with its probe state and last delivery error, journal, queue, sessions and the rates of the
 * last minute. `rbl-unlist status` prints it. Pure code over the trackers the daemon feeds.
 */
import { formatPrefix, type IpPrefix } from '../net/address.js';
import type { ClientPacketStats, ClientPacketTracker } from './client-packets.js';
import type { ProbeState } from './readiness.js';
import type { RateWindow } from './rate-window.js';

/** The last delivery success and failure of each backend and zone, from the queue's events. */
export class DeliveryActivity {
  readonly #lanes = new Map<string, { unlistedAt?: number; error?: { code: string; message: string; at: number } }>();

  /** A delivery to the zone succeeded. */
  unlisted(backend: string, zone: string, at: number): void {
    this.#lane(backend, zone).unlistedAt = at;
  }

  /** A delivery to the zone failed (to be retried, or for good). */
  failed(backend: string, zone: string, code: string, message: string, at: number): void {
    this.#lane(backend, zone).error = { code, message, at };
  }

  /** What is known of one backend and zone. */
  of(backend: string, zone: string): { unlistedAt?: number; error?: { code: string; message: string; at: number } } {
    return this.#lanes.get(`${backend}\n${zone}`) ?? {};
  }

  #lane(backend: string, zone: string): { unlistedAt?: number; error?: { code: string; message: string; at: number } } {
    const key = `${backend}\n${zone}`;
    let lane = this.#lanes.get(key);
    if (!lane) this.#lanes.set(key, (lane = {}));
    return lane;
  }
}

/** Where the status report reads from. */
export interface StatusSources {
  readonly version: string;
  readonly startedAt: number;
  readonly configFile: () => string;
  readonly ack: () => string;
  /** Each bound RADIUS socket; `transport` defaults to udp. */
  readonly listeners: () => readonly { readonly address: string; readonly port: number; readonly family: string; readonly receiveBufferBytes?: number; readonly receiveThread?: boolean; readonly transport?: string }[];
  readonly http: () => { readonly address: string; readonly port: number } | undefined;
  readonly clients: () => readonly { readonly name: string; readonly address: IpPrefix; readonly maxSessions?: number }[];
  /** How many sessions a client has recorded now. */
  readonly sessionsOfClient: (client: string) => number;
  readonly packets: ClientPacketTracker;
  readonly rates: RateWindow;
  readonly probes: () => readonly ProbeState[];
  readonly deliveries: DeliveryActivity;
  readonly journalWritable: () => boolean;
  readonly queueDepth: () => number;
  readonly deadLetters: () => number;
  readonly sessions: () => number;
  readonly nasKeys: () => number;
}

/** One client's line in the report. */
export interface ClientStatus {
  readonly name: string;
  readonly address: string;
  readonly packets: number;
  readonly accepted: number;
  readonly discards: number;
  readonly by_outcome: Partial<Record<string, number>>;
  readonly last_packet: string | null;
  readonly last_source: string | null;
  readonly last_discard: { readonly outcome: string; readonly reason: string | null; readonly at: string } | null;
  /** Sessions it has recorded now, and its max_sessions (null: only sessions.max). */
  readonly sessions: number;
  readonly max_sessions: number | null;
}

/** One backend and zone in the report. */
export interface BackendStatus {
  readonly backend: string;
  readonly zone: string;
  readonly up: boolean;
  readonly last_probe: string | null;
  readonly last_success: string | null;
  /** The last probe's error, while it fails. */
  readonly probe_error: string | null;
  readonly last_unlisted: string | null;
  readonly last_error: { readonly code: string; readonly message: string; readonly at: string } | null;
}

/** The GET /status document. */
export interface StatusReport {
  readonly service: 'rbl-unlist';
  readonly version: string;
  readonly started_at: string;
  readonly uptime_seconds: number;
  readonly config: string;
  readonly ack: string;
  readonly listeners: readonly {
    readonly transport: string;
    readonly address: string;
    readonly port: number;
    readonly receive_buffer_bytes: number | null;
    /** UDP: whether a receive thread of its own reads the socket (radius.receive_thread); null for RadSec. */
    readonly receive_thread: boolean | null;
  }[];
  readonly http: { readonly address: string; readonly port: number } | null;
  readonly clients: readonly ClientStatus[];
  readonly unknown_sources: Omit<ClientStatus, 'name' | 'address' | 'accepted' | 'sessions' | 'max_sessions'>;
  readonly backends: readonly BackendStatus[];
  readonly journal: { readonly writable: boolean };
  readonly queue: { readonly depth: number; readonly dead_letters: number };
  readonly sessions: number;
  /** Client and NAS key pairs those sessions come from. */
  readonly nas_keys: number;
  readonly rates: { readonly window_seconds: number; readonly packets_per_second: number; readonly events_per_second: number; readonly unlists_per_second: number };
}

/** Builds the report now. */
export function statusReport(sources: StatusSources, now = Date.now()): StatusReport {
  const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
  const packetView = (stats: Readonly<ClientPacketStats>) => ({
    packets: stats.packets,
    discards: stats.discards,
    by_outcome: { ...stats.byOutcome },
    last_packet: iso(stats.lastPacketAt),
    last_source: stats.lastSource ?? null,
    last_discard: stats.lastDiscard ? { outcome: stats.lastDiscard.outcome, reason: stats.lastDiscard.reason ?? null, at: iso(stats.lastDiscard.at)! } : null,
  });
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    service: 'rbl-unlist',
    version: sources.version,
    started_at: iso(sources.startedAt)!,
    uptime_seconds: Math.max(0, Math.floor((now - sources.startedAt) / 1000)),
    config: sources.configFile(),
    ack: sources.ack(),
    listeners: sources.listeners().map((listener) => ({
      transport: listener.transport ?? 'udp',
      address: listener.address,
      port: listener.port,
      receive_buffer_bytes: listener.receiveBufferBytes ?? null,
      receive_thread: listener.receiveThread ?? null,
    })),
    http: sources.http() ?? null,
    clients: sources.clients().map((client) => {
      const stats = sources.packets.client(client.name);
      return {
        name: client.name,
        address: formatPrefix(client.address),
        accepted: stats.byOutcome.accepted ?? 0,
        ...packetView(stats),
        sessions: sources.sessionsOfClient(client.name),
        max_sessions: client.maxSessions ?? null,
      };
    }),
    unknown_sources: packetView(sources.packets.unknownSources()),
    backends: sources.probes().map((probe) => {
      const activity = sources.deliveries.of(probe.backend, probe.zone);
      return {
        backend: probe.backend,
        zone: probe.zone,
        up: probe.up,
        last_probe: iso(probe.lastProbe),
        last_success: iso(probe.lastSuccess),
        probe_error: probe.error ?? null,
        last_unlisted: iso(activity.unlistedAt),
        last_error: activity.error ? { code: activity.error.code, message: activity.error.message, at: iso(activity.error.at)! } : null,
      };
    }),
    journal: { writable: sources.journalWritable() },
    queue: { depth: sources.queueDepth(), dead_letters: sources.deadLetters() },
    sessions: sources.sessions(),
    nas_keys: sources.nasKeys(),
    rates: {
      window_seconds: sources.rates.seconds,
      packets_per_second: round(sources.rates.perSecond('packets')),
      events_per_second: round(sources.rates.perSecond('events')),
      unlists_per_second: round(sources.rates.perSecond('unlists')),
    },
  };
}
