/**
 * The running backends across a SIGHUP (src/backends/active.ts): an entry whose config changed gets
 * a new backend and the old one is closed; an entry left as it was keeps its backend, so the queue
 * retries at once only the lanes that changed (test/unit/queue-lane-reload.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ActiveBackends } from '../../src/backends/active.js';
import { BACKENDS, createBackendRegistry } from '../../src/backends/index.js';
import type { Backend } from '../../src/backends/types.js';
import { parseConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/http/metrics.js';
import { recordingBackend } from '../helpers/recording-backend/index.js';
import { serviceConfigYaml, type BackendYaml } from '../helpers/service.js';

const registry = createBackendRegistry([...BACKENDS.plugins, recordingBackend]);

function config(secondTimeout: string, extra: 'none' | 'third' = 'none') {
  const backends: BackendYaml[] = [
    { type: 'recording', name: 'first', zones: ['rbl.test'] },
    { type: 'recording', name: 'second', zones: ['rbl.test'], timeout: secondTimeout },
    ...(extra === 'third' ? [{ type: 'recording', name: 'third', zones: ['rbl.test'] }] : []),
  ];
  return parseConfig(serviceConfigYaml({ radiusPort: 1812, stateDir: '/nonexistent/state', backends }), '/nonexistent/config.yaml', registry);
}

describe('backends across a reload', () => {
  it('keeps the backend of an unchanged entry, builds a new one for a changed entry, and closes only the one it replaced', async () => {
    const active = new ActiveBackends(config('1s'), registry, createMetrics());
    const [first, second] = active.list as [Backend, Backend];
    const closed: string[] = [];
    for (const backend of active.list) backend.close = () => (closed.push(backend.name), Promise.resolve());
    let adopted: readonly Backend[] = [];

    expect(await active.reload(config('2s', 'third'), (list) => (adopted = list))).toBe(true);
    expect(adopted.map((backend) => backend.name)).toEqual(['first', 'second', 'third']);
    expect(adopted[0]).toBe(first);
    expect(adopted[1]).not.toBe(second);
    expect(active.list).toBe(adopted);
    expect(closed).toEqual(['second']);
    await active.close();
  });

  it('hands nothing over and closes nothing when no backend entry changed', async () => {
    const active = new ActiveBackends(config('1s'), registry, createMetrics());
    const before = active.list;
    let adopted = false;
    expect(await active.reload(config('1s'), () => (adopted = true))).toBe(false);
    expect(adopted).toBe(false);
    expect(active.list).toBe(before);
    await active.close();
  });

  it('keeps what the probes knew of an unchanged backend, so /readyz stays ready through a reload that changed another', async () => {
    const active = new ActiveBackends(config('1s'), registry, createMetrics());
    await active.prober.probeAll();
    expect(Object.values(active.prober.report()).every((check) => check.ok)).toBe(true);
    // From now on the first backend's server is slow to answer a probe.
    const [first] = active.list as [Backend];
    first.probe = () => new Promise<void>(() => undefined);

    await active.reload(config('2s'), () => undefined);
    const report = active.prober.report();
    expect(report['backend first zone rbl.test']).toEqual({ ok: true, last_success: expect.any(String), last_probe: expect.any(String) });
    await active.close();
  });
});
