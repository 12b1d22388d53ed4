/**
 * The monitoring endpoint of the running service: /readyz follows a real BIND going away and
 * coming back, and /metrics counts what the test sent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSocket } from 'node:dgram';
import { startBind, type BindServer } from '../helpers/bind.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, buildStatusServer, openNasSocket, sendRadius } from '../helpers/radius-packets.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

/** The value of one sample line of the Prometheus text, 0 when absent. */
function sample(metrics: string, line: string): number {
  const found = metrics.split('\n').find((text) => text.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('health, readiness and metrics of the running service', () => {
  let bind: BindServer;
  let service: ServiceHandle;
  let radiusPort: number;
  let httpPort: number;
  let removeDir: () => void;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingRecords('10.64.0.1', ZONE, 'listed') }] });
    const temp = tempDir('monitoring');
    removeDir = temp.remove;
    radiusPort = await freePort();
    httpPort = await freePort();
    service = await startService(
      writeConfig(
        temp.dir,
        serviceConfigYaml({
          radiusPort,
          bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], name: 'bind', timeout: '300ms' },
          stateDir: `${temp.dir}/state`,
          httpPort,
          probeInterval: '200ms',
        }),
      ),
    );
  });

  afterAll(async () => {
    await service?.stop();
    await bind?.close();
    removeDir?.();
  });

  test('/healthz answers 200 while the process runs', async () => {
    const response = await get(httpPort, '/healthz');
    expect(response.status).toBe(200);
  });

  test('/readyz is 200 with BIND up, 503 naming the backend when BIND stops, and 200 again when it is back', async () => {
    await waitFor('ready', async () => (await get(httpPort, '/readyz')).status === 200, 10_000);
    const ready = JSON.parse((await get(httpPort, '/readyz')).body) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(ready.ready).toBe(true);
    expect(ready.checks.radius?.ok).toBe(true);
    expect(ready.checks.journal?.ok).toBe(true);

    await bind.stop();
    await waitFor('not ready', async () => (await get(httpPort, '/readyz')).status === 503, 10_000);
    const down = JSON.parse((await get(httpPort, '/readyz')).body) as { ready: boolean; checks: Record<string, { ok: boolean; error?: string }> };
    expect(down.ready).toBe(false);
    const backendCheck = Object.entries(down.checks).find(([name]) => name.includes('bind'));
    expect(backendCheck?.[1].ok).toBe(false);
    expect(backendCheck?.[1].error).toMatch(/RBL_DNS_|did not answer|refused/);

    await bind.restart();
    await waitFor('ready again', async () => (await get(httpPort, '/readyz')).status === 200, 10_000);
  });

  test('/metrics counts a good Stop, a bad authenticator and an unknown client', async () => {
    const before = (await get(httpPort, '/metrics')).body;
    const good = await sendRadius(
      buildAccountingRequest({ identifier: 1, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'm1', 'Framed-IP-Address': '10.64.0.1' } }),
      radiusPort,
    );
    expect(good?.[0]).toBe(5);
    // The wrong-secret Stop and a good Status-Server after it on one socket: the service reads it in
    // order, so once the Status-Server is answered, any answer to the bad Stop would be in too.
    const nas = await openNasSocket(radiusPort);
    const badRequest = buildAccountingRequest({ identifier: 2, secret: 'wrong', attributes: { 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': '10.64.0.2' } });
    nas.send(badRequest);
    const later = buildStatusServer({ identifier: 4, secret: SECRET });
    nas.send(later);
    await nas.answerTo(later);
    await nas.close();
    expect(nas.answers.filter((answer) => answer[1] === badRequest[1])).toEqual([]);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.7', () => resolve()));
    socket.send(buildAccountingRequest({ identifier: 3, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' } }), radiusPort, '127.0.0.1');
    await waitFor('the unlist', () => bind.query(dnsblName('10.64.0.1', ZONE), 'A').length === 0, 5000);

    let after = '';
    await waitFor(
      'the counters',
      async () => {
        after = (await get(httpPort, '/metrics')).body;
        return sample(after, 'rbl_unlist_radius_packets_total{outcome="unknown_client",transport="udp"}') > sample(before, 'rbl_unlist_radius_packets_total{outcome="unknown_client",transport="udp"}') &&
          sample(after, 'rbl_unlist_backend_unlists_total{backend="bind",outcome="success"}') >= 1;
      },
      5000,
    );
    socket.close();
    const delta = (line: string) => sample(after, line) - sample(before, line);
    expect(delta('rbl_unlist_radius_packets_total{outcome="accepted",transport="udp",client="nas1"}')).toBe(1);
    expect(delta('rbl_unlist_radius_packets_total{outcome="bad_authenticator",transport="udp",client="nas1"}')).toBe(1);
    expect(delta('rbl_unlist_radius_packets_total{outcome="unknown_client",transport="udp"}')).toBe(1);
    expect(delta('rbl_unlist_accounting_events_total{type="stop"}')).toBe(1);
    // One answer sent to a recorded request: the Status-Server and the discards are none.
    expect(delta('rbl_unlist_radius_ack_latency_seconds_count')).toBe(1);
    expect(delta('rbl_unlist_backend_unlists_total{backend="bind",outcome="success"}')).toBe(1);
    expect(sample(after, 'rbl_unlist_unlist_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'rbl_unlist_queue_depth')).toBe(0);
    expect(after).toContain('rbl_unlist_sessions ');
    expect(after).toContain('process_resident_memory_bytes');
    expect((await get(httpPort, '/metrics')).type).toContain('text/plain');
  });

  test('anything but the three read-only paths is 404', async () => {
    expect((await get(httpPort, '/')).status).toBe(404);
    expect((await get(httpPort, '/admin')).status).toBe(404);
  });
});
