/**
 * Prometheus's own promtool reads the metrics exposition: every rbl_unlist_ metric parses and
 * passes its lint, the per-packet histograms (src/http/bucket-histogram.ts) among them. The Node.js
 * process metrics prom-client adds have lint findings of their own (gauges named _total); those
 * are prom-client's and are the only ones allowed.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { executable, havePeers } from '../helpers/peers.js';

describe.skipIf(!havePeers('promtool'))('the metrics exposition', () => {
  test('promtool check metrics finds nothing to say about any rbl_unlist_ metric, histograms with observations included', async () => {
    const metrics = createMetrics();
    metrics.ackLatencySeconds.observe(0.0007);
    metrics.ackLatencySeconds.observe(3);
    metrics.unlistLatencySeconds.observe(0.2);
    metrics.backendRequestSeconds.observe({ backend: 'bind' }, 0.004);
    metrics.packets.inc({ outcome: 'accepted', transport: 'udp', client: 'ras1' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('rbl_unlist_radius_ack_latency_seconds_bucket{le="+Inf"} 2');
    const run = spawnSync(executable('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
    const findings = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '');
    // Exit 0 (nothing found) or 3 (lint findings); 1 would be a text promtool cannot parse.
    expect([0, 3], findings.join('\n')).toContain(run.status);
    expect(findings.filter((line) => !/^nodejs_\w+_total non-counter metrics should not have "_total" suffix$/.test(line))).toEqual([]);
  });
});
