/**
 * Per-client packet counts for `rbl-unlist status`: how many datagrams each configured RADIUS
 * client sent, how many were discarded and when the last one came, and the same for sources that
 * match no client. Fed by the daemon's onPacket callback; pure code, bounded by the client list.
 */
import type { PacketOutcome } from './metrics.js';

/** Outcomes that mean the packet was dropped without an answer (RFC 5080 §2.3.3). */
const DISCARDED: ReadonlySet<PacketOutcome> = new Set(['bad_authenticator', 'malformed', 'unknown_client', 'not_acknowledged']);

/** What was seen from one client (or from unknown sources together). */
export interface ClientPacketStats {
  packets: number;
  discards: number;
  byOutcome: Partial<Record<PacketOutcome, number>>;
  /** Epoch ms of the last datagram; undefined before the first. */
  lastPacketAt: number | undefined;
  /** "address:port" of the last datagram. */
  lastSource: string | undefined;
  /** The reason of the last discard (bad authenticator, which check failed...). */
  lastDiscard: { readonly outcome: PacketOutcome; readonly reason: string | undefined; readonly at: number } | undefined;
}

/** Counts datagrams per client name; datagrams from no configured client are counted together. */
export class ClientPacketTracker {
  readonly #clients = new Map<string, ClientPacketStats>();
  readonly #unknown = emptyStats();
  readonly #now: () => number;
  /** At most this many client names are kept, so a stream of renamed clients across reloads stays bounded. */
  readonly #limit: number;

  constructor(now: () => number = Date.now, limit = 10_000) {
    this.#now = now;
    this.#limit = limit;
  }

  /** Records one datagram's outcome. */
  record(outcome: PacketOutcome, detail: { readonly source: string; readonly client?: string; readonly reason?: string }): void {
    let stats = this.#unknown;
    if (detail.client !== undefined) {
      stats = this.#clients.get(detail.client) ?? emptyStats();
      if (!this.#clients.has(detail.client)) {
        if (this.#clients.size >= this.#limit) return;
        this.#clients.set(detail.client, stats);
      }
    }
    const at = this.#now();
    stats.packets++;
    stats.byOutcome[outcome] = (stats.byOutcome[outcome] ?? 0) + 1;
    stats.lastPacketAt = at;
    stats.lastSource = detail.source;
    if (DISCARDED.has(outcome)) {
      stats.discards++;
      stats.lastDiscard = { outcome, reason: detail.reason, at };
    }
  }

  /** What was seen from a client name; zeros when nothing was. */
  client(name: string): Readonly<ClientPacketStats> {
    return this.#clients.get(name) ?? emptyStats();
  }

  /** What was seen from sources that matched no configured client. */
  unknownSources(): Readonly<ClientPacketStats> {
    return this.#unknown;
  }
}

function emptyStats(): ClientPacketStats {
  return { packets: 0, discards: 0, byOutcome: {}, lastPacketAt: undefined, lastSource: undefined, lastDiscard: undefined };
}
