/**
 * What the RADIUS side reports, as the operator sees it: every packet outcome counted by transport,
 * and a discarded packet or refused RadSec connection logged with why, at a limited rate.
 */
import type { Metrics } from '../http/metrics.js';
import { rateLimiter, type Logger } from '../log.js';
import type { PacketDetail, PacketOutcome } from './handler.js';

/** Outcomes that are logged (rate-limited): a discarded packet says why, once in a while. */
const DISCARDS: ReadonlySet<PacketOutcome> = new Set(['bad_authenticator', 'unknown_client', 'malformed', 'bad_certificate', 'too_many_connections']);

export interface PacketReporter {
  /** One packet's (or connection's) outcome. */
  onPacket(outcome: PacketOutcome, detail: PacketDetail): void;
  /** A RadSec connection closed for a reason the operator should see (idle, client removed). */
  onNotice(message: string, detail: Record<string, unknown>): void;
}

/** Counts into `metrics` and logs to `log` (the radius component's logger). */
export function packetReporter(log: Logger, metrics: Metrics): PacketReporter {
  // Discards and notices come from packets and connections a client controls: one limit for both.
  const limiter = rateLimiter(20, 10_000);
  return {
    onPacket(outcome, detail) {
      // By client name when the packet matched one; a packet from no known client has no client label.
      metrics.packets.inc(detail.client === undefined ? { outcome, transport: detail.transport } : { outcome, transport: detail.transport, client: detail.client });
      if (!DISCARDS.has(outcome)) return;
      const { allowed, suppressed } = limiter();
      // RFC 5080 §2.3.3: discarded silently towards the sender, but the operator must be able to see it.
      if (!allowed) return;
      // Over TLS an unknown client is found at the handshake, so it is a connection that is refused.
      const refused = outcome === 'bad_certificate' || outcome === 'too_many_connections' || (outcome === 'unknown_client' && detail.transport === 'tls');
      const what = refused ? 'RadSec connection refused' : 'packet discarded';
      log.warn({ outcome, transport: detail.transport, source: detail.source, client: detail.client, reason: detail.reason, suppressed }, `${what}: ${outcome}`);
    },
    onNotice(message, detail) {
      const { allowed, suppressed } = limiter();
      if (allowed) log.info({ ...detail, transport: 'tls', suppressed }, message);
    },
  };
}
