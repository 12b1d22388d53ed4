/**
 * Upgrades lose nothing: the state.dir that 0.2.0 left (test/fixtures/state-0.2: journal format 2,
 * compacted once, with open sessions, one with a delegated /56, stopped sessions in its 'st'
 * snapshot rows, and pending unlists, one with a /56) is opened by this build against a real BIND
 * that holds those listings. The pending unlists are delivered, the sessions resolve address-less
 * Stops, a replayed Start of a session 0.2.0 remembered as stopped takes nothing back, and once
 * this build compacts, the journal is format 3 and a restart on it still has all of that.
 */
import { describe, expect, test } from 'vitest';
import { listingRecords } from '../helpers/dnsbl.js';
import { useFixtureRun } from '../helpers/fixture-run.js';
import { FIXTURE_ZONE, interimsUntilCompacted, journalRecords } from '../helpers/old-state.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { startService } from '../helpers/service.js';

const OPEN = { 'fx-open-1': ['10.64.0.11'], 'fx-open-2': ['10.64.0.12', '2001:db8:100:1200::/56'], 'fx-open-3': ['10.64.0.13'] };
const PENDING = ['10.64.0.21', '10.64.0.22', '2001:db8:100:2200::/56', '10.64.0.23'];
/** The two sessions 0.2.0 stopped before it compacted: remembered in its 'st' rows only. */
const FX_DONE_1 = { 'Acct-Session-Id': 'fx-done-1', 'NAS-IP-Address': '192.0.2.1' } as const;
const FX_DONE_2 = { 'Acct-Session-Id': 'fx-done-2', 'NAS-IP-Address': '192.0.2.2', 'NAS-Identifier': 'bras2' } as const;
const STALE_START = 'rbl_unlist_accounting_stale_events_total{type="start",reason="session_stopped"}';
const UNKNOWN_STOP = 'rbl_unlist_accounting_stale_events_total{type="stop",reason="unknown_session"}';

describe.skipIf(!havePeers('named', 'tsig-keygen'))('upgrading from 0.2.0', () => {
  // ack journal: the NAS is answered while BIND is down too (the last test stops it).
  const run = useFixtureRun('state-0.2', () => [...Object.values(OPEN).flat(), ...PENDING], { ack: 'journal', metrics: true });
  const { account, listed, metric } = run;

  test('the pending unlists of 0.2.0 are delivered and its sessions resolve address-less Stops', async () => {
    expect(journalRecords(run.state).some((record) => record.t === 'st' && Array.isArray(record.k)), "the fixture's format 2 'st' rows").toBe(true);
    run.service = await startService(run.config);
    const started = run.service.logs().find((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 3, pending: 3 });
    await waitFor('the pending unlists of 0.2.0 to reach BIND', () => PENDING.every((address) => !listed(address)), 15_000);

    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-2', 'NAS-IP-Address': '192.0.2.1' });
    await waitFor('the addresses of fx-open-2 to be unlisted', () => OPEN['fx-open-2'].every((address) => !listed(address)));
    expect(listed('10.64.0.11'), 'a session nobody stopped').toBe(true);
    expect(listed('10.64.0.13'), 'a session nobody stopped').toBe(true);
  });

  test('a replayed Start of a session 0.2.0 remembered as stopped is counted stale and takes no address back', async () => {
    run.bind.addRecords(FIXTURE_ZONE, listingRecords('10.64.0.21', FIXTURE_ZONE));
    // The same Start again (its Event-Timestamp is older than the remembered Stop's), and a Start of
    // a session whose Stop came without one.
    await account({ 'Acct-Status-Type': 'Start', ...FX_DONE_1, 'Framed-IP-Address': '10.64.0.21', 'Event-Timestamp': 1764400000 });
    await account({ 'Acct-Status-Type': 'Start', ...FX_DONE_2, 'Framed-IP-Address': '10.64.0.22' });
    expect(await metric(STALE_START)).toBe(2);
    // Had the Start been recorded, this Stop would find 10.64.0.21 in the table and unlist it.
    await account({ 'Acct-Status-Type': 'Stop', ...FX_DONE_1 });
    await waitFor('the address-less Stop of fx-done-1 to be counted', async () => (await metric(UNKNOWN_STOP)) === 1);
    expect(listed('10.64.0.21')).toBe(true);
  });

  test('once this build compacts, the journal is format 3 and a restart still has its sessions, stopped sessions and pending unlists', async () => {
    // BIND down: the Stop of fx-open-3 stays pending through the compaction and the restart.
    await run.bind.stop();
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-3', 'NAS-IP-Address': '192.0.2.2', 'NAS-Identifier': 'bras2' });
    await interimsUntilCompacted(run.service!, account);

    const records = journalRecords(run.state);
    expect(records[0]).toMatchObject({ t: 'h', v: 3 });
    const stopped = records.filter((record) => record.t === 'st');
    expect(stopped.length, 'stopped-session rows').toBeGreaterThan(0);
    expect(stopped.every((record) => typeof record.b === 'string' && record.k === undefined), 'packed format 3 rows').toBe(true);
    expect(records.some((record) => record.t === 'j' && record.c !== undefined), 'pending jobs in columns').toBe(true);

    expect(await run.service!.stop('SIGTERM')).toBe(0);
    await run.bind.restart();
    run.service = await startService(run.config);
    const started = run.service.logs().find((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 1, pending: 1 });
    await waitFor('the Stop of fx-open-3 to be delivered after the restart', () => !listed('10.64.0.13'), 15_000);
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-1', 'NAS-IP-Address': '192.0.2.1' });
    await waitFor('fx-open-1, resolved from the table, to be unlisted', () => !listed('10.64.0.11'));

    await account({ 'Acct-Status-Type': 'Start', ...FX_DONE_2, 'Framed-IP-Address': '10.64.0.22' });
    expect(await metric(STALE_START), "0.2.0's memory of fx-done-2, through format 3").toBe(1);
  });
});
