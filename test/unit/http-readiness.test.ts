// Readiness: the checks behind /readyz and the background prober that probes each backend's zones.
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { RblError } from '../../src/errors.js';
import { createMetrics } from '../../src/http/metrics.js';
import { BackendProber, createReadiness, type ReadinessReport } from '../../src/http/readiness.js';
import { useMonitoringServers } from '../helpers/http-server.js';

/** A Backend whose probe fails while `failing` is true. */
function fakeBackend(name: string, zones: string[]): Backend & { failing: boolean; probes: string[] } {
  return {
    name,
    zones,
    failing: false,
    probes: [],
    async probe(zone) {
      this.probes.push(zone);
      if (this.failing) throw new RblError('RBL_DNS_TIMEOUT', `${name}: no answer from 127.0.0.1:53 within 3000 ms`, { transient: true });
    },
    unlist: () => Promise.resolve(),
    check: (zone) => Promise.resolve({ zone, names: [], listed: false }),
    describe: () => '',
    close: () => Promise.resolve(),
  };
}

const { serve } = useMonitoringServers();
const probers: BackendProber[] = [];

afterEach(async () => {
  for (const prober of probers.splice(0)) prober.stop();
});

describe('readiness', () => {
  it('is ready when RADIUS is bound, the journal writable and every backend zone probed', async () => {
    const backend = fakeBackend('dns-update 127.0.0.1:53', ['rbl.example.net', 'rbl6.example.net']);
    const prober = new BackendProber([backend], { intervalMs: 1000 });
    await prober.probeAll();
    const report = createReadiness({ listeners: () => ({ radius: { ok: true } }), journal: () => ({ writable: true }), prober })();
    expect(report.ready).toBe(true);
    expect(Object.keys(report.checks)).toEqual([
      'radius',
      'journal',
      'backend dns-update 127.0.0.1:53 zone rbl.example.net',
      'backend dns-update 127.0.0.1:53 zone rbl6.example.net',
    ]);
    expect(backend.probes).toEqual(['rbl.example.net', 'rbl6.example.net']);
  });

  it.each([
    ['RADIUS is not bound', false, true, 'radius'],
    ['the journal is not writable', true, false, 'journal'],
  ])('is not ready when %s', (_, bound, writable, failing) => {
    const report = createReadiness({ listeners: () => ({ radius: bound ? { ok: true } : { ok: false, error: 'RADIUS sockets not bound' } }), journal: () => ({ writable, error: 'ENOSPC' }) })();
    expect(report.ready).toBe(false);
    expect(report.checks[failing]).toMatchObject({ ok: false });
  });

  it('takes one check per RADIUS transport, and is not ready while the RadSec listener is not bound', () => {
    const report = createReadiness({ listeners: () => ({ radius: { ok: true }, 'radius tls': { ok: false, error: 'RadSec listener not bound' } }), journal: () => ({ writable: true }) })();
    expect(report).toEqual({ ready: false, checks: { radius: { ok: true }, 'radius tls': { ok: false, error: 'RadSec listener not bound' }, journal: { ok: true } } });
  });

  it('leaves out the journal check when there is no journal', () => {
    expect(createReadiness({ listeners: () => ({ radius: { ok: true } }) })()).toEqual({ ready: true, checks: { radius: { ok: true } } });
  });

  it('is not ready before the first probe', () => {
    const prober = new BackendProber([fakeBackend('b', ['z'])]);
    const report = createReadiness({ listeners: () => ({ radius: { ok: true } }), prober })();
    expect(report.ready).toBe(false);
    expect(report.checks['backend b zone z']).toEqual({ ok: false, error: 'not probed yet' });
  });

  it('stays ready through a failed probe until the last success is three intervals old', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const backend = fakeBackend('pdns', ['rbl.example.net']);
    const prober = new BackendProber([backend], { intervalMs: 10_000, now: () => now });
    const readiness = createReadiness({ listeners: () => ({ radius: { ok: true } }), prober });
    await prober.probeAll();
    backend.failing = true;
    now += 10_000;
    await prober.probeAll();
    expect(readiness().ready).toBe(true);
    expect(readiness().checks['backend pdns zone rbl.example.net']).toMatchObject({ ok: true, error: 'pdns: no answer from 127.0.0.1:53 within 3000 ms' });
    expect(prober.backendUp()).toEqual([{ backend: 'pdns', zone: 'rbl.example.net', up: false }]);
    now += 20_001;
    expect(readiness().ready).toBe(false);
    expect(readiness().checks['backend pdns zone rbl.example.net']).toEqual({
      ok: false,
      error: 'pdns: no answer from 127.0.0.1:53 within 3000 ms',
      last_success: '2026-01-01T00:00:00.000Z',
      last_probe: '2026-01-01T00:00:10.000Z',
    });
  });

  it('turns /readyz from 503 to 200 when a failing backend recovers, probing in the background', async () => {
    const backend = fakeBackend('pdns', ['rbl.example.net']);
    backend.failing = true;
    const prober = new BackendProber([backend], { intervalMs: 30 });
    probers.push(prober);
    const metrics = createMetrics();
    metrics.bindState({ queueDepth: () => 0, deadLetters: () => 0, sessions: () => 0, backendUp: () => prober.backendUp() });
    const base = await serve(createReadiness({ listeners: () => ({ radius: { ok: true } }), journal: () => ({ writable: true }), prober }), metrics);
    prober.start();
    await waitUntil(() => backend.probes.length >= 1);

    let response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as ReadinessReport;
    expect(body.ready).toBe(false);
    expect(body.checks.radius).toEqual({ ok: true });
    expect(body.checks['backend pdns zone rbl.example.net']).toMatchObject({ ok: false, error: expect.stringContaining('no answer') });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('rbl_unlist_backend_up{backend="pdns",zone="rbl.example.net"} 0');

    backend.failing = false;
    const probesSoFar = backend.probes.length;
    await waitUntil(() => backend.probes.length > probesSoFar + 1);
    response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as ReadinessReport).checks['backend pdns zone rbl.example.net']).toMatchObject({ ok: true, last_success: expect.any(String) });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('rbl_unlist_backend_up{backend="pdns",zone="rbl.example.net"} 1');
  });

  it('does not start a second probe of a zone while the first still runs', async () => {
    let release!: () => void;
    const backend = fakeBackend('slow', ['z']);
    backend.probe = () => {
      backend.probes.push('z');
      return new Promise<void>((resolve) => (release = resolve));
    };
    const prober = new BackendProber([backend]);
    const first = prober.probeAll();
    await prober.probeAll();
    expect(backend.probes).toHaveLength(1);
    release();
    await first;
  });

  it('rejects an interval that is not positive', () => {
    expect(() => new BackendProber([], { intervalMs: 0 })).toThrow(/intervalMs must be positive/);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
