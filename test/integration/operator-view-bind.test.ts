/**
 * `rbl-unlist status` and `rbl-unlist why` through the built CLI against the built service and a
 * real BIND, after Starts, Stops, a retry (BIND stopped for a moment) and a dead letter (a zone
 * whose update-policy refuses the key), in --json and text; and both once the service is gone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { runBuiltCli } from '../helpers/cli.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius, type FriendlyAttributes } from '../helpers/radius-packets.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';
import type { StatusReport } from '../../src/http/status.js';
import type { AddressReport } from '../../src/http/address-view.js';

const ZONE = 'rbl.test';
const LOCKED = 'locked.test';
const NAS = '192.0.2.1';
/** Stopped while BIND runs: unlisted in ZONE, refused and retried in LOCKED. */
const STOPPED = '10.64.1.1';
/** Started, never stopped: held by bob's session and still listed. */
const HELD = '10.64.1.2';
/** Stopped while BIND is down: retried, then unlisted in ZONE. */
const RETRIED = '10.64.1.3';
/** Never listed, never seen. */
const CLEAN = '10.64.1.4';
/** Delegated to dave's session (RFC 4818), started after the status test. */
const DELEGATED = '2001:db8:1::/48';

interface WhyJson {
  ok: boolean;
  listed: boolean;
  service: { answered: boolean; error?: { code: string; message: string } };
  addresses: { address: string; listed: boolean; zones: { zone: string; listed?: boolean; names?: { name: string; a: string[]; txt: string[] }[] }[]; service: AddressReport | null }[];
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('status and why against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let config: string;
  let radiusPort: number;
  let identifier = 0;

  const send = async (attributes: FriendlyAttributes, secret = SECRET) =>
    sendRadius(buildAccountingRequest({ identifier: ++identifier, secret, attributes }), radiusPort, '127.0.0.1', secret === SECRET ? 5000 : 300);
  const cli = (...args: string[]) => runBuiltCli([...args, '--config', config], {}, 20_000);
  const why = async (address: string) => {
    const result = await cli('why', '--json', address);
    return { status: result.status, stderr: result.stderr, json: JSON.parse(result.stdout) as WhyJson };
  };
  const logged = (msg: string, address: string, zone: string) =>
    service.logs().some((line) => line.msg.startsWith(msg) && line.zone === zone && (line.addresses as string[] | undefined)?.includes(address));
  const refused = (address: string) =>
    service.logs().some((line) => line.msg.endsWith('; retrying') && line.code === 'RBL_DNS_REFUSED' && line.zone === LOCKED && (line.addresses as string[] | undefined)?.includes(address));

  beforeAll(async () => {
    const records = listingsOf([STOPPED, HELD, RETRIED], ZONE, 'rate limit exceeded');
    bind = await startBind({
      zones: [
        { name: ZONE, records },
        { name: LOCKED, records: listingsOf([STOPPED, HELD, RETRIED], LOCKED, 'rate limit exceeded'), updatable: false },
      ],
    });
    temp = tempDir('operator-view');
    radiusPort = await freePort();
    const httpPort = await freePort();
    config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE, LOCKED], name: 'bind', timeout: '3s' },
        stateDir: join(temp.dir, 'state'),
        pools: ['10.64.0.0/16', '2001:db8::/32'],
        unlistOn: ['stop'],
        httpPort,
        probeInterval: '200ms',
      }),
    );
    service = await startService(config);

    const nas = { 'NAS-IP-Address': NAS } as const;
    expect((await send({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's1', 'User-Name': 'alice', ...nas, 'Framed-IP-Address': STOPPED }))?.[0]).toBe(5);
    expect((await send({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's2', 'User-Name': 'bob', ...nas, 'Framed-IP-Address': HELD }))?.[0]).toBe(5);
    expect((await send({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 's2', 'User-Name': 'bob', ...nas, 'Framed-IP-Address': HELD }))?.[0]).toBe(5);
    expect((await send({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's3', 'User-Name': 'carol', ...nas, 'Framed-IP-Address': RETRIED }))?.[0]).toBe(5);
    expect(await send({ 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': HELD }, 'not-the-secret')).toBeUndefined();
    // alice's Stop carries no address: it is found in the session table.
    expect((await send({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 's1', 'User-Name': 'alice', ...nas }))?.[0]).toBe(5);
    await waitFor('the Stop unlisted in rbl.test and refused in locked.test', () => logged('unlisted', STOPPED, ZONE) && refused(STOPPED), 10_000);
  }, 60_000);

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('why explains a stopped address: no holder, the Stop that released it, unlisted in one zone and refused, retried, in the other', async () => {
    const { status, json } = await why(STOPPED);
    expect(status).toBe(1);
    expect(json.service).toEqual({ answered: true });
    const [entry] = json.addresses;
    expect(entry!.zones.map((zone) => [zone.zone, zone.listed]), JSON.stringify(entry!.zones)).toEqual([[ZONE, false], [LOCKED, true]]);
    const report = entry!.service!;
    expect(report.session).toBeNull();
    expect(report.last_accounting).toMatchObject({ type: 'stop', client: 'nas1', nas: NAS, session_id: 's1', user: 'alice' });
    expect(report.last_unlist).toMatchObject({ target: STOPPED, reason: { event: 'stop', client: 'nas1', nas: NAS, session_id: 's1' } });
    const deliveries = Object.fromEntries(report.last_unlist!.deliveries.map((delivery) => [delivery.zone, delivery]));
    expect(deliveries[ZONE]).toMatchObject({ backend: 'bind', outcome: 'unlisted', code: null });
    expect(deliveries[ZONE]!.latency_ms).toBeGreaterThanOrEqual(0);
    // The locked zone refuses every name, as a zone frozen for a hand edit does: retried, not a dead letter.
    expect(deliveries[LOCKED]).toMatchObject({ backend: 'bind', outcome: 'retrying', code: 'RBL_DNS_REFUSED' });
    expect(report.pending.map((pending) => pending.zone)).toEqual([LOCKED]);
    expect(report.dead_letters).toEqual([]);
  });

  test('why names the session that holds an address now, with its user, NAS and since when, and exits 1 because it is listed', async () => {
    const { status, json } = await why(HELD);
    expect(status).toBe(1);
    expect(json).toMatchObject({ ok: false, listed: true });
    const report = json.addresses[0]!.service!;
    expect(report.session).toMatchObject({ client: 'nas1', nas: NAS, session_id: 's2', user: 'bob', addresses: [HELD], last_event: { type: 'interim' } });
    expect(Date.parse(report.session!.since!)).toBeLessThanOrEqual(Date.parse(report.session!.last_event!.at));
    expect(report.last_unlist).toBeNull();
    expect(json.addresses[0]!.zones[0]!.names).toEqual([{ name: dnsblName(HELD, ZONE), a: ['127.0.0.2'], txt: ['rate limit exceeded'] }]);

    const text = await cli('why', HELD);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`bind, zone ${ZONE}: LISTED`);
    expect(text.stdout).toMatch(/TXT\s+"rate limit exceeded"/);
    expect(text.stdout).toMatch(/held by: session s2, user bob, NAS 192\.0\.2\.1, client nas1, since \S+, last event interim at /);
  });

  test('why exits 0 for an address no zone lists and says nothing holds it', async () => {
    const { status, json } = await why(CLEAN);
    expect(status).toBe(0);
    expect(json).toMatchObject({ ok: true, listed: false, service: { answered: true } });
    expect(json.addresses[0]!.service).toMatchObject({ session: null, last_accounting: null, last_unlist: null, pending: [], dead_letters: [] });
  });

  test('while BIND is down a Stop is pending and retried; status shows the zones down with the error; once BIND is back it is unlisted', async () => {
    await bind.stop();
    expect((await send({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 's3', 'User-Name': 'carol', 'NAS-IP-Address': NAS, 'Framed-IP-Address': RETRIED }))?.[0]).toBe(5);
    await service.waitForLog((line) => line.msg.endsWith('; retrying') && (line.addresses as string[]).includes(RETRIED) && line.zone === ZONE);

    const during = await fetchJson<AddressReport>(`/addresses/${RETRIED}`);
    expect(during.pending.map((pending) => pending.zone).sort()).toEqual([LOCKED, ZONE].sort());
    const retrying = during.last_unlist!.deliveries.find((delivery) => delivery.zone === ZONE)!;
    expect(retrying).toMatchObject({ outcome: 'retrying', attempt: expect.any(Number) });
    expect(retrying.code).toMatch(/^RBL_DNS_(TIMEOUT|CONNECTION)$/);

    let down: StatusReport | undefined;
    await waitFor('status to show the zones down', async () => {
      down = await fetchJson<StatusReport>('/status');
      return down.backends.every((backend) => !backend.up);
    }, 10_000);
    expect(down!.backends.find((backend) => backend.zone === ZONE)!.last_error?.code).toMatch(/^RBL_DNS_(TIMEOUT|CONNECTION)$/);
    expect(down!.queue.depth).toBeGreaterThanOrEqual(1);
    const text = await cli('status');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`bind, zone ${ZONE.replace('.', '\\.')}\\s+DOWN`));

    await bind.restart();
    await waitFor('the retried Stop to be unlisted', () => logged('unlisted', RETRIED, ZONE), 20_000);
    expect(bind.query(dnsblName(RETRIED, ZONE), 'A')).toEqual([]);
    const after = await why(RETRIED);
    const report = after.json.addresses[0]!.service!;
    expect(report.last_unlist!.deliveries.find((delivery) => delivery.zone === ZONE)).toMatchObject({ outcome: 'unlisted' });
    expect(report.pending.filter((pending) => pending.zone === ZONE)).toEqual([]);
  }, 60_000);

  test('status --json reports version, listeners, packets and discards per client, backends, queue, dead letters, sessions and rates', async () => {
    await waitFor('BIND probed up again', async () => (await fetchJson<StatusReport>('/status')).backends.every((backend) => backend.up), 10_000);
    const result = await cli('status', '--json');
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport & { ok: boolean };
    expect(report).toMatchObject({ ok: true, service: 'rbl-unlist', ack: 'journal', journal: { writable: true }, sessions: 1, nas_keys: 1 });
    expect(report.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(report.listeners).toEqual([expect.objectContaining({ transport: 'udp', address: '127.0.0.1', port: radiusPort })]);
    const [client] = report.clients;
    expect(client).toMatchObject({ name: 'nas1', address: '127.0.0.1', accepted: 6, discards: 1, last_discard: { outcome: 'bad_authenticator' }, sessions: 1, max_sessions: null });
    expect(client!.packets).toBe(7);
    expect(Date.parse(client!.last_packet!)).not.toBeNaN();
    expect(report.backends.map((backend) => [backend.zone, backend.up])).toEqual([[ZONE, true], [LOCKED, true]]);
    // STOPPED's and RETRIED's deliveries to the locked zone are refused and retried; the locked
    // zone's last error is REFUSED once the backoff of RETRIED's try while BIND was down has passed.
    await waitFor('REFUSED as the locked zone\'s last error', async () => (await fetchJson<StatusReport>('/status')).backends.find((backend) => backend.zone === LOCKED)!.last_error?.code === 'RBL_DNS_REFUSED', 20_000);
    const settled = await fetchJson<StatusReport>('/status');
    expect(settled.queue).toMatchObject({ dead_letters: 0 });
    expect(settled.queue.depth).toBeGreaterThanOrEqual(2);
    expect(report.rates.window_seconds).toBe(60);
    expect(report.rates.packets_per_second).toBeGreaterThan(0);
    expect(report.rates.events_per_second).toBeGreaterThan(0);
    expect(report.rates.unlists_per_second).toBeGreaterThan(0);

    const text = await cli('status');
    expect(text.stdout).toMatch(/^version: rbl-unlist \d+\.\d+\.\d+/m);
    expect(text.stdout).toMatch(/^clients \(1\):\n {2}nas1\s+127\.0\.0\.1\s+7 packets\s+6 accepted\s+1 discarded\s+1 session\s+last packet /m);
    expect(text.stdout).toContain('last discard: bad_authenticator');
    expect(text.stdout).toMatch(/^sessions: 1 from 1 NAS key$/m);
    expect(text.stdout).toMatch(/^rates over the last 60 s: [\d.]+ packets\/s, [\d.]+ events\/s, [\d.]+ unlists\/s$/m);
  }, 40_000);

  test("why names the session whose delegated IPv6 prefix holds a host address inside it, and after its Stop, that Stop as the host's last accounting", async () => {
    expect((await send({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's4', 'User-Name': 'dave', 'NAS-IP-Address': NAS, 'Delegated-IPv6-Prefix': DELEGATED }))?.[0]).toBe(5);
    const { status, json } = await why('2001:db8:1:2::5');
    expect(status).toBe(0);
    expect(json.addresses[0]!.service!.session).toMatchObject({ session_id: 's4', user: 'dave', addresses: [DELEGATED], held_prefix: DELEGATED });
    const text = await cli('why', '2001:db8:1:2::5');
    expect(text.stdout).toMatch(/held by: session s4 \(inside its prefix 2001:db8:1::\/48\), user dave, NAS 192\.0\.2\.1, client nas1, since /);
    expect((await why('2001:db8:2::5')).json.addresses[0]!.service!.session).toBeNull();

    // After the prefix's Stop no session holds the host, and its Stop is the host's last accounting.
    expect((await send({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 's4', 'NAS-IP-Address': NAS, 'Delegated-IPv6-Prefix': DELEGATED }))?.[0]).toBe(5);
    const stopped = (await why('2001:db8:1:2::5')).json.addresses[0]!.service!;
    expect(stopped.session).toBeNull();
    expect(stopped.last_accounting).toMatchObject({ named: DELEGATED, type: 'stop', session_id: 's4', user: 'dave' });
    expect((await cli('why', '2001:db8:1:2::5')).stdout).toMatch(/last accounting: stop of session s4 \(user dave\) naming 2001:db8:1::\/48, NAS 192\.0\.2\.1, client nas1, at /);
  });

  test('without the service, status fails with a clear error and why still prints the zones and says what it cannot know', async () => {
    expect(await service.stop()).toBe(0);
    const status = await cli('status');
    expect(status.status).toBe(1);
    expect(status.stderr).toMatch(/^rbl-unlist: RBL_SERVICE_UNREACHABLE: no answer from the service at http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED; is rbl-unlist serve running with /m);
    const statusJson = await cli('status', '--json');
    expect(JSON.parse(statusJson.stdout)).toMatchObject({ ok: false, error: { code: 'RBL_SERVICE_UNREACHABLE' } });

    const text = await cli('why', HELD);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`bind, zone ${ZONE}: LISTED`);
    expect(text.stdout).toContain('service: no answer (RBL_SERVICE_UNREACHABLE): who holds the address, its last unlist and pending work are unknown');
    expect(text.stderr).toMatch(/^rbl-unlist: warning: RBL_SERVICE_UNREACHABLE: /m);
    const { status: cleanStatus, json } = await why(CLEAN);
    expect(cleanStatus, JSON.stringify(json.addresses[0]!.zones)).toBe(0);
    expect(json.service).toMatchObject({ answered: false, error: { code: 'RBL_SERVICE_UNREACHABLE' } });
    expect(json.addresses[0]!.service).toBeNull();
  }, 40_000);

  async function fetchJson<T>(path: string): Promise<T> {
    const port = /listen: "127\.0\.0\.1:(\d+)"/.exec((await import('node:fs')).readFileSync(config, 'utf8'))![1];
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  }
});
