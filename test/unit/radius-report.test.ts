/**
 * Packet outcomes as the operator sees them (src/radius/report.ts): every outcome counted by
 * transport and client, a discarded packet, or a RadSec connection refused or closed for answers its
 * peer left unread, logged with why, at a limited rate.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, type Metrics } from '../../src/http/metrics.js';
import { createLogger } from '../../src/log.js';
import { packetReporter, type PacketReporter } from '../../src/radius/report.js';
import { logLineSink } from '../helpers/log-lines.js';

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

let lines: Line[];
let metrics: Metrics;
let reporter: PacketReporter;

beforeEach(() => {
  lines = [];
  metrics = createMetrics();
  const sink = logLineSink(lines);
  reporter = packetReporter(createLogger('info', sink).child({ component: 'radius' }), metrics);
});

afterEach(() => {
  vi.useRealTimers();
});

/** The packets counter's samples as "outcome transport client=value" (client "-" when unlabelled), zeros left out. */
async function packetCounts(): Promise<string[]> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === 'rbl_unlist_radius_packets_total');
  return (metric?.values ?? [])
    .filter((sample) => sample.value > 0)
    .map((sample) => `${sample.labels.outcome} ${sample.labels.transport} ${sample.labels.client ?? '-'}=${sample.value}`)
    .sort();
}

describe('packet outcomes', () => {
  it('counts each outcome by transport and client, and a packet from no client without a client label', async () => {
    for (let i = 0; i < 3; i++) reporter.onPacket('accepted', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    reporter.onPacket('accepted', { source: '192.0.2.2:4000', transport: 'udp', client: 'ras2' });
    reporter.onPacket('duplicate', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    reporter.onPacket('accepted', { source: '192.0.2.3:2083', transport: 'tls', client: 'ras1' });
    reporter.onPacket('unknown_client', { source: '198.51.100.7:4000', transport: 'udp' });
    reporter.onPacket('unknown_client', { source: '198.51.100.7:4000', transport: 'udp' });
    expect(await packetCounts()).toEqual(['accepted tls ras1=1', 'accepted udp ras1=3', 'accepted udp ras2=1', 'duplicate udp ras1=1', 'unknown_client udp -=2']);
    reporter.onPacket('accepted', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    expect(await packetCounts()).toContain('accepted udp ras1=4');
  });

  it('observes the latency of each answer sent, and nothing for an outcome, accepted or not', async () => {
    reporter.onPacket('accepted', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    reporter.onPacket('duplicate', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    reporter.onPacket('not_acknowledged', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    expect(await metrics.registry.getSingleMetricAsString('rbl_unlist_radius_ack_latency_seconds')).toContain('rbl_unlist_radius_ack_latency_seconds_count 0');
    reporter.onAnswered(0.0004);
    reporter.onAnswered(0.3);
    const text = await metrics.registry.getSingleMetricAsString('rbl_unlist_radius_ack_latency_seconds');
    expect(text).toContain('rbl_unlist_radius_ack_latency_seconds_count 2');
    expect(text).toContain('rbl_unlist_radius_ack_latency_seconds_bucket{le="0.0005"} 1');
    expect(text).toContain('rbl_unlist_radius_ack_latency_seconds_bucket{le="0.25"} 1');
    expect(text).toContain('rbl_unlist_radius_ack_latency_seconds_bucket{le="0.5"} 2');
    expect(text).toMatch(/rbl_unlist_radius_ack_latency_seconds_sum 0\.3004/);
  });

  it('logs a discarded packet with why, and nothing for one that was answered', () => {
    reporter.onPacket('accepted', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1' });
    reporter.onPacket('bad_authenticator', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1', reason: 'Request Authenticator does not match' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      component: 'radius',
      msg: 'packet discarded: bad_authenticator',
      outcome: 'bad_authenticator',
      transport: 'udp',
      source: '192.0.2.1:4000',
      client: 'ras1',
      reason: 'Request Authenticator does not match',
      suppressed: 0,
    });
  });

  it('says a RadSec connection was refused for an unknown client over TLS, a packet discarded over UDP', () => {
    reporter.onPacket('unknown_client', { source: '198.51.100.7:2083', transport: 'tls' });
    reporter.onPacket('unknown_client', { source: '198.51.100.7:4000', transport: 'udp' });
    expect(lines.map((line) => line.msg)).toEqual(['RadSec connection refused: unknown_client', 'packet discarded: unknown_client']);
  });

  it('says a RadSec connection was closed when its peer left its answers unread, with why, and counts it', async () => {
    const reason = 'its peer left its answers unread for 10 s (34497 octets unsent); connection closed';
    reporter.onPacket('answers_unread', { source: '192.0.2.20:40000', transport: 'tls', client: 'proxy1', reason });
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'RadSec connection closed: answers_unread', client: 'proxy1', reason })]);
    expect(await packetCounts()).toEqual(['answers_unread tls proxy1=1']);
  });

  it('logs at most 20 discards in 10 s and says on the next line how many it left out', () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const discard = (): void => reporter.onPacket('malformed', { source: '192.0.2.1:4000', transport: 'udp', client: 'ras1', reason: 'short' });
    for (let i = 0; i < 25; i++) discard();
    expect(lines).toHaveLength(20);
    expect(lines.every((line) => line.suppressed === 0)).toBe(true);
    vi.setSystemTime(1_010_000);
    discard();
    expect(lines).toHaveLength(21);
    expect(lines[20]).toMatchObject({ msg: 'packet discarded: malformed', suppressed: 5 });
  });
});
