/**
 * What the RADIUS side reports, as the operator sees it: every packet outcome counted by transport,
 * and a discarded packet, or a RadSec connection refused or closed for answers its peer left
 * unread, logged with why, at a limited rate. At log.level trace, a packet that is not recorded as
 * a new request (a retransmission, a Status-Server, a discard) is traced with its outcome; a new
 * request is traced where it is recorded (the accounting intake).
 */
import type { CountedSeries, Metrics } from '../http/metrics.js';
import { rateLimiter, type Logger } from '../log.js';
import type { PacketDetail, PacketOutcome } from './handler.js';
import { octetsTrace } from './trace.js';
import type { TransportName } from './transports/types.js';

/** Outcomes that are logged (rate-limited): a discarded packet says why, once in a while. */
const DISCARDS: ReadonlySet<PacketOutcome> = new Set(['bad_authenticator', 'unknown_client', 'malformed', 'bad_certificate', 'too_many_connections', 'answers_unread']);

/** Why a packet that is no discard was not recorded, in the words of its trace line. */
const ANSWERED_WITHOUT_RECORDING: Partial<Record<PacketOutcome, string>> = {
  // RFC 5080 §2.2.2.
  duplicate: 'retransmission answered again from the duplicate cache, not processed again',
  in_progress: 'retransmission of a request still being recorded: answered once it is',
  // RFC 5997 §3.
  status_server: 'answered with an Accounting-Response, no side effect',
};

export interface PacketReporter {
  /** One packet's (or connection's) outcome. */
  onPacket(outcome: PacketOutcome, detail: PacketDetail): void;
  /** A request's Accounting-Response sent, the seconds after its datagram was read: where the answer's latency is observed. */
  onAnswered(seconds: number): void;
  /** A RadSec connection closed for a reason the operator should see (idle, client removed). */
  onNotice(message: string, detail: Record<string, unknown>): void;
  /** A socket error after start (a send the kernel refused), or the UDP receive thread stopping: the listener keeps running. */
  onError(error: Error): void;
}

/** Counts into `metrics` and logs to `log` (the radius component's logger). */
export function packetReporter(log: Logger, metrics: Metrics): PacketReporter {
  // Discards and notices come from packets and connections a client controls: one limit for both.
  const limiter = rateLimiter(20, 10_000);
  const errorLimiter = rateLimiter(5, 60_000);
  // The packets counter's series, by client, transport and outcome, made on first use: looked up
  // through the same strings every time, without building a label object or hash per packet.
  const series = new Map<string | undefined, Map<TransportName, Map<PacketOutcome, CountedSeries>>>();
  const seriesOf = (client: string | undefined, transport: TransportName, outcome: PacketOutcome): CountedSeries => {
    let byTransport = series.get(client);
    if (!byTransport) series.set(client, (byTransport = new Map()));
    let byOutcome = byTransport.get(transport);
    if (!byOutcome) byTransport.set(transport, (byOutcome = new Map()));
    let counted = byOutcome.get(outcome);
    if (!counted) {
      // By client name when the packet matched one; a packet from no known client has no client label.
      counted = metrics.series(metrics.packets, client === undefined ? { outcome, transport } : { outcome, transport, client });
      byOutcome.set(outcome, counted);
    }
    return counted;
  };
  const trace = (outcome: PacketOutcome, detail: PacketDetail, octets: Buffer, reason: string | undefined): void => {
    const { header, attributes } = octetsTrace(octets, detail.source);
    log.trace({ client: detail.client, outcome, reason, attributes }, header);
  };
  return {
    onPacket(outcome, detail) {
      seriesOf(detail.client, detail.transport, outcome).inc();
      if (!DISCARDS.has(outcome)) {
        const why = ANSWERED_WITHOUT_RECORDING[outcome];
        // From a client whose secret the packet proved: traced every time, as a new request is.
        if (why !== undefined && detail.octets !== undefined && log.isLevelEnabled('trace')) trace(outcome, detail, detail.octets, why);
        return;
      }
      const { allowed, suppressed } = limiter();
      // RFC 5080 §2.3.3: discarded silently towards the sender, but the operator must be able to see it.
      if (!allowed) return;
      // Over TLS an unknown client is found at the handshake, so it is a connection that is refused.
      const refused = outcome === 'bad_certificate' || outcome === 'too_many_connections' || (outcome === 'unknown_client' && detail.transport === 'tls');
      const what = refused ? 'RadSec connection refused' : outcome === 'answers_unread' ? 'RadSec connection closed' : 'packet discarded';
      log.warn({ outcome, transport: detail.transport, source: detail.source, client: detail.client, reason: detail.reason, suppressed }, `${what}: ${outcome}`);
      // Anyone can send these: traced only when the warning above was allowed, within the same limit.
      if (detail.octets !== undefined && log.isLevelEnabled('trace')) trace(outcome, detail, detail.octets, detail.reason);
    },
    onAnswered(seconds) {
      metrics.ackLatencySeconds.observe(seconds);
    },
    onNotice(message, detail) {
      const { allowed, suppressed } = limiter();
      if (allowed) log.info({ ...detail, transport: 'tls', suppressed }, message);
    },
    onError(error) {
      // A send refused once is refused for every answer after it (a firewall rule, say): limited.
      const { allowed, suppressed } = errorLimiter();
      if (allowed) log.error({ errno: (error as NodeJS.ErrnoException).code, suppressed }, `RADIUS transport error: ${error.message}`);
    },
  };
}
