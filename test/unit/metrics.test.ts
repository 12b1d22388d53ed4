// The Prometheus metrics: names, labels and the help table they are defined from.
import { describe, expect, it } from 'vitest';
import { createMetrics, EVENT_TYPES, METRIC_HELP, PACKET_OUTCOMES, PACKET_TRANSPORTS } from '../../src/http/metrics.js';

describe('metrics', () => {
  it('names every metric rbl_unlist_<area>_<name>, counters ending in _total and only counters', () => {
    for (const [name, description] of Object.entries(METRIC_HELP)) {
      expect(name).toMatch(/^rbl_unlist(_[a-z]+)+$/);
      expect(name.endsWith('_total')).toBe(description.type === 'counter');
      expect(description.help.length).toBeGreaterThan(10);
    }
  });

  it('registers exactly the metrics in METRIC_HELP, with their types and help', async () => {
    const metrics = createMetrics();
    const ours = (await metrics.registry.getMetricsAsJSON()).filter((metric) => metric.name.startsWith('rbl_unlist_'));
    expect(ours.map((metric) => metric.name).sort()).toEqual(Object.keys(METRIC_HELP).sort());
    for (const metric of ours) {
      const description = METRIC_HELP[metric.name as keyof typeof METRIC_HELP];
      expect(metric.type).toBe(description.type);
      expect(metric.help).toBe(description.help);
    }
  });

  it('exports the default process metrics too', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('starts every packet outcome and event type at zero so dashboards see them before the first packet', async () => {
    const text = await createMetrics().registry.metrics();
    for (const transport of PACKET_TRANSPORTS) for (const outcome of PACKET_OUTCOMES) expect(text).toContain(`rbl_unlist_radius_packets_total{outcome="${outcome}",transport="${transport}"} 0`);
    for (const type of EVENT_TYPES) expect(text).toContain(`rbl_unlist_accounting_events_total{type="${type}"} 0`);
    expect(text).toContain('rbl_unlist_accounting_refused_total{reason="outside_pools"} 0');
  });

  it('adds what a series counted to its counter at each scrape, once', async () => {
    const metrics = createMetrics();
    const accepted = metrics.series(metrics.packets, { outcome: 'accepted', transport: 'udp', client: 'nas1' });
    const stops = metrics.series(metrics.events, { type: 'stop' });
    const idle = metrics.series(metrics.events, { type: 'start' });
    accepted.inc();
    accepted.inc(2);
    stops.inc();
    metrics.packets.inc({ outcome: 'accepted', transport: 'udp', client: 'nas1' });
    const line = 'rbl_unlist_radius_packets_total{outcome="accepted",transport="udp",client="nas1"}';
    let text = await metrics.registry.metrics();
    expect(text).toContain(`${line} 4`);
    expect(text).toContain('rbl_unlist_accounting_events_total{type="stop"} 1');
    expect(text).toContain('rbl_unlist_accounting_events_total{type="start"} 0');
    text = await metrics.registry.metrics();
    expect(text).toContain(`${line} 4`);
    accepted.inc();
    idle.inc(0);
    text = await metrics.registry.metrics();
    expect(text).toContain(`${line} 5`);
    expect(text).toContain('rbl_unlist_accounting_events_total{type="start"} 0');
  });

  it('shows increments with their labels', async () => {
    const metrics = createMetrics();
    metrics.packets.inc({ outcome: 'accepted', transport: 'udp' });
    metrics.packets.inc({ outcome: 'bad_authenticator', transport: 'tls' }, 2);
    metrics.events.inc({ type: 'stop' });
    metrics.staleStops.inc();
    metrics.refusedTargets.inc({ reason: 'protected' });
    metrics.unlists.inc({ backend: 'dns-update 127.0.0.1:53', outcome: 'success' }, 3);
    metrics.unlists.inc({ backend: 'dns-update 127.0.0.1:53', outcome: 'dead_letter' });
    metrics.backendRequestSeconds.observe({ backend: 'dns-update 127.0.0.1:53' }, 0.004);
    metrics.unlistLatencySeconds.observe(0.2);
    metrics.ackLatencySeconds.observe(0.0007);
    metrics.journalErrors.inc();
    const text = await metrics.registry.metrics();
    for (const line of [
      'rbl_unlist_radius_packets_total{outcome="accepted",transport="udp"} 1',
      'rbl_unlist_radius_packets_total{outcome="bad_authenticator",transport="tls"} 2',
      'rbl_unlist_accounting_events_total{type="stop"} 1',
      'rbl_unlist_accounting_stale_stops_total 1',
      'rbl_unlist_journal_errors_total 1',
      'rbl_unlist_accounting_refused_total{reason="protected"} 1',
      'rbl_unlist_backend_unlists_total{backend="dns-update 127.0.0.1:53",outcome="success"} 3',
      'rbl_unlist_backend_unlists_total{backend="dns-update 127.0.0.1:53",outcome="dead_letter"} 1',
      'rbl_unlist_backend_request_duration_seconds_bucket{le="0.005",backend="dns-update 127.0.0.1:53"} 1',
      'rbl_unlist_backend_request_duration_seconds_count{backend="dns-update 127.0.0.1:53"} 1',
      'rbl_unlist_unlist_latency_seconds_bucket{le="0.25"} 1',
      'rbl_unlist_unlist_latency_seconds_bucket{le="0.1"} 0',
      'rbl_unlist_radius_ack_latency_seconds_bucket{le="0.001"} 1',
      'rbl_unlist_radius_ack_latency_seconds_sum 0.0007',
    ]) {
      expect(text).toContain(line);
    }
  });

  it('reads the gauges from the bound state at every scrape', async () => {
    const metrics = createMetrics();
    let depth = 5;
    const up = [
      { backend: 'pdns', zone: 'rbl.example.net', up: true },
      { backend: 'bind', zone: 'rbl.example.net', up: false },
    ];
    let ready = true;
    let waiting = 321;
    metrics.bindState({ queueDepth: () => depth, deadLetters: () => 2, sessions: () => 1234, journalWaiting: () => waiting, backendUp: () => up, ready: () => ready });
    let text = await metrics.registry.metrics();
    for (const line of [
      'rbl_unlist_queue_depth 5',
      'rbl_unlist_queue_dead_letters 2',
      'rbl_unlist_sessions 1234',
      'rbl_unlist_ready 1',
      'rbl_unlist_journal_waiting 321',
      'rbl_unlist_backend_up{backend="pdns",zone="rbl.example.net"} 1',
      'rbl_unlist_backend_up{backend="bind",zone="rbl.example.net"} 0',
    ]) {
      expect(text).toContain(line);
    }
    depth = 0;
    waiting = 0;
    ready = false;
    up.splice(1, 1);
    text = await metrics.registry.metrics();
    expect(text).toContain('rbl_unlist_queue_depth 0');
    expect(text).toContain('rbl_unlist_ready 0');
    expect(text).toContain('rbl_unlist_journal_waiting 0');
    expect(text).not.toContain('backend="bind"');
  });

  it('gives each createMetrics() its own registry', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.staleStops.inc();
    expect(await second.registry.metrics()).toContain('rbl_unlist_accounting_stale_stops_total 0');
  });
});
