/**
 * Bounds, end to end against a real BIND: the session table stops at sessions.max by forgetting
 * its oldest sessions (logged and counted), a client past its own max_sessions forgets its own
 * oldest instead of other clients', and a client that floods refused or stale events gets its
 * lines rate-limited while every event is still counted.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { freePort, havePeers, tempDir } from '../helpers/peers.js';
import { accountingAnswered, buildAccountingRequest, type FriendlyAttributes } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type ServiceClient, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const NAS = '192.0.2.1';
const FLOOD = 25;

/**
 * A real BIND with `listings` listed, and the service against it (state.ack: unlisted, so an
 * answer means the event's unlists are done; sessions.max 3) for the describe block that calls it.
 */
function boundedService(label: string, listings: readonly string[], options: { readonly clients?: readonly ServiceClient[]; readonly unlistOn: readonly string[] }) {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let port: number;
  let httpPort: number;
  let identifier = 0;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(listings, ZONE) }] });
    temp = tempDir(label);
    port = await freePort();
    httpPort = await freePort();
    const yaml = serviceConfigYaml({
      radiusPort: port,
      ...(options.clients ? { clients: options.clients } : {}),
      unlistOn: options.unlistOn,
      bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], timeout: '2s' },
      stateDir: join(temp.dir, 'state'),
      ack: 'unlisted',
      httpPort,
      extra: 'sessions:\n  max: 3',
    });
    service = await startService(writeConfig(temp.dir, yaml));
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  return {
    service: () => service,
    listed: (address: string): boolean => bind.query(dnsblName(address, ZONE), 'A').includes('127.0.0.2'),
    /** Sends from the client at `source` and expects a correct Accounting-Response. */
    account: async (attributes: FriendlyAttributes, source = '127.0.0.1', secret = NAS_SECRET): Promise<void> => {
      const request = buildAccountingRequest({ identifier: identifier++ & 0xff, secret, attributes });
      expect(await accountingAnswered(request, port, secret, { source, tries: 3, intervalMs: 2000 }), `an Accounting-Response to ${JSON.stringify(attributes)}`).toBe(true);
    },
    metric: async (prefix: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(prefix));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    },
  };
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('session table and log bounds', () => {
  const { service, listed, account, metric } = boundedService('session-bounds', ['10.64.9.1', '10.64.9.2', '10.64.9.3', '10.64.9.4'], { unlistOn: ['stop'] });

  test('past sessions.max the oldest session is forgotten with a log line and a counter', async () => {
    for (const n of [1, 2, 3, 4]) {
      await account({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': `cap-${n}`, 'NAS-IP-Address': NAS, 'Framed-IP-Address': `10.64.9.${n}` });
    }
    const line = await service().waitForLog((entry) => entry.msg.startsWith('session table full (sessions.max)'));
    expect(line).toMatchObject({ count: 1, max: 3 });
    expect(await metric('rbl_unlist_sessions_evicted_total ')).toBe(1);
    expect(await metric('rbl_unlist_sessions ')).toBe(3);

    // The evicted session can no longer resolve an address-less Stop; the others still can.
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'cap-1', 'NAS-IP-Address': NAS });
    expect(listed('10.64.9.1')).toBe(true);
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'cap-2', 'NAS-IP-Address': NAS });
    expect(listed('10.64.9.2')).toBe(false);
  });

  test.each([
    ['refused addresses', (n: number): FriendlyAttributes => ({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `out-${n}`, 'NAS-IP-Address': NAS, 'Framed-IP-Address': `198.51.100.${n}` }), 'rbl_unlist_accounting_refused_total{reason="outside_pools"} ', (msg: string) => msg.includes('outside the configured pools')],
    ['unmatched address-less Stops', (n: number): FriendlyAttributes => ({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `nobody-${n}`, 'NAS-IP-Address': NAS }), 'rbl_unlist_accounting_stale_events_total{type="stop",reason="unknown_session"} ', (msg: string) => msg.startsWith('Stop names no address')],
  ] as const)('a flood of %s is counted in full and logged at a limited rate', async (_name, attributes, counter, matches) => {
    const before = await metric(counter);
    const linesBefore = service().logs().filter((entry) => matches(entry.msg)).length;
    const started = Date.now();
    for (let n = 1; n <= FLOOD; n++) await account(attributes(n));
    // Every event was answered and counted: the sign that all were handled.
    expect(await metric(counter)).toBe(before + FLOOD);
    const lines = service().logs().filter((entry) => matches(entry.msg)).slice(linesBefore);
    // At most 20 lines per 10 s window.
    expect(lines.length).toBeLessThanOrEqual(20 * Math.ceil((Date.now() - started + 1) / 10_000));
    expect(lines.length).toBeLessThan(FLOOD);
  });
});

describe.skipIf(!havePeers('named', 'tsig-keygen'))("a client's max_sessions", () => {
  const FLOOD_SECRET = 'flood-secret';
  const { service, listed, account, metric } = boundedService('client-cap', ['10.64.10.1', '10.64.10.11', '10.64.10.15'], {
    clients: [
      { name: 'bras', address: '127.0.0.1/32', secret: NAS_SECRET },
      { name: 'flooder', address: '127.0.0.2/32', secret: FLOOD_SECRET, maxSessions: 2 },
    ],
    unlistOn: ['stop', 'accounting-on'],
  });
  const fromFlooder = (attributes: FriendlyAttributes): Promise<void> => account(attributes, '127.0.0.2', FLOOD_SECRET);

  test("a client that opens session after session forgets its own oldest, not another client's, though the table is full", async () => {
    // The oldest session in the table is the BRAS's.
    await account({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'b-1', 'NAS-IP-Address': NAS, 'Framed-IP-Address': '10.64.10.1' });
    // A NAS behind the other client starts five sessions and stops none (never sends Stops, or new ids each time).
    for (const n of [1, 2, 3, 4, 5]) {
      await fromFlooder({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': `f-${n}`, 'NAS-IP-Address': '192.0.2.9', 'Framed-IP-Address': `10.64.10.${10 + n}` });
    }
    const line = await service().waitForLog((entry) => entry.msg.startsWith("client's session cap reached (max_sessions)"));
    expect(line).toMatchObject({ client: 'flooder', count: 1, max_sessions: 2 });
    // Three of the flooder's own went, one per Start past its cap; none for sessions.max (3 held of 3).
    expect(await metric('rbl_unlist_sessions_evicted_total ')).toBe(3);
    expect(await metric('rbl_unlist_sessions ')).toBe(3);
    expect(service().logs().some((entry) => entry.msg.startsWith('session table full'))).toBe(false);

    // The BRAS restarts: its session is still recorded, so its address is unlisted.
    await account({ 'Acct-Status-Type': 'Accounting-On', 'NAS-IP-Address': NAS });
    expect(listed('10.64.10.1'), "the flooder's sessions pushed the BRAS's session out of the table").toBe(false);
    // The flooder's evicted session no longer resolves an address-less Stop; its newest still does.
    await fromFlooder({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'f-1', 'NAS-IP-Address': '192.0.2.9' });
    expect(listed('10.64.10.11')).toBe(true);
    await fromFlooder({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'f-5', 'NAS-IP-Address': '192.0.2.9' });
    expect(listed('10.64.10.15')).toBe(false);
  });
});
