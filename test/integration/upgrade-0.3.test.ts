/**
 * Upgrades lose nothing: the state.dir that 0.3.0 left (test/fixtures/state-0.3: journal format 3,
 * compacted once, with open sessions, one with a delegated /56, stopped sessions in its 'st'
 * snapshot rows, and pending unlists) is opened by this build against a real BIND that holds those
 * listings. It also holds what 0.3.0 got wrong: two addresses that moved to a session of another
 * NAS while the Stop of their former holder was lost, each named in its new holder's snapshot row
 * and in its former holder's after it. 0.3.0 replayed those rows giving each address back to the
 * former holder (make.sh shows it); this build gives it to the session recorded later, so the new
 * holder's Stop unlists it and the former holder's late Stop unlists nothing of it.
 */
import { describe, expect, test } from 'vitest';
import { listingRecords } from '../helpers/dnsbl.js';
import { useFixtureRun } from '../helpers/fixture-run.js';
import { FIXTURE_ZONE, interimsUntilCompacted, journalRecords } from '../helpers/old-state.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { startService } from '../helpers/service.js';

const OPEN = { 'fx-open-1': ['10.64.0.11'], 'fx-open-2': ['10.64.0.12', '2001:db8:100:1200::/56'], 'fx-open-3': ['10.64.0.13'] };
const PENDING = ['10.64.0.31', '10.64.0.33', '10.64.0.21', '10.64.0.22', '2001:db8:100:2200::/56', '10.64.0.23'];
/** The addresses that moved: from A (Stop lost) to B, and from C (Stop lost) to D, each new holder on the other NAS. */
const MOVED = { 'fx-b': '10.64.0.32', 'fx-d': '10.64.0.34' };
const OTHER_NAS = { 'NAS-IP-Address': '192.0.2.2', 'NAS-Identifier': 'bras2' } as const;
const FX_A = { 'Acct-Session-Id': 'fx-a', 'NAS-IP-Address': '192.0.2.1' } as const;
const FX_B = { 'Acct-Session-Id': 'fx-b', ...OTHER_NAS } as const;
const FX_C = { 'Acct-Session-Id': 'fx-c', 'NAS-IP-Address': '192.0.2.1' } as const;
const FX_D = { 'Acct-Session-Id': 'fx-d', ...OTHER_NAS } as const;
const FX_DONE_2 = { 'Acct-Session-Id': 'fx-done-2', ...OTHER_NAS } as const;
const TAKEN_STOP = 'rbl_unlist_accounting_stale_events_total{type="stop",reason="address_taken"}';
const UNKNOWN_STOP = 'rbl_unlist_accounting_stale_events_total{type="stop",reason="unknown_session"}';
const STALE_START = 'rbl_unlist_accounting_stale_events_total{type="start",reason="session_stopped"}';

/** The sessions whose snapshot rows name the address, in file order. */
function rowsNaming(stateDir: string, address: string): string[] {
  return journalRecords(stateDir)
    .filter((record) => record.t === 's')
    .flatMap((record) => record.s as [string, string, string, string[]][])
    .filter((row) => row[3].includes(address))
    .map((row) => row[2]);
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('upgrading from 0.3.0', () => {
  // ack journal: the NAS is answered while BIND is down too (the last test stops it).
  const run = useFixtureRun('state-0.3', () => [...Object.values(OPEN).flat(), ...PENDING, ...Object.values(MOVED)], { ack: 'journal', metrics: true });
  const { account, listed, metric } = run;

  test('the pending unlists of 0.3.0 are delivered and its sessions resolve address-less Stops', async () => {
    expect(journalRecords(run.state).some((record) => record.t === 'st' && typeof record.b === 'string'), "the fixture's 'st' rows").toBe(true);
    run.service = await startService(run.config);
    const started = run.service.logs().find((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 7, pending: 5 });
    await waitFor('the pending unlists of 0.3.0 to reach BIND', () => PENDING.every((address) => !listed(address)), 15_000);

    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-2', 'NAS-IP-Address': '192.0.2.1' });
    await waitFor('the addresses of fx-open-2 to be unlisted', () => OPEN['fx-open-2'].every((address) => !listed(address)));
    expect(listed('10.64.0.11'), 'a session nobody stopped').toBe(true);
    expect(listed('10.64.0.13'), 'a session nobody stopped').toBe(true);
  });

  test("an address 0.3.0's snapshot names under its new holder and its former one goes to the new holder, whose address-less Stop unlists it", async () => {
    // As 0.3.0 left them: B's row first (B reused the slot of a stopped session), then A's.
    expect(rowsNaming(run.state, MOVED['fx-b'])).toEqual(['fx-b', 'fx-a']);
    // 0.3.0, restarted on this, gave the address to A and skipped this Stop as address_taken.
    await account({ 'Acct-Status-Type': 'Stop', ...FX_B });
    await waitFor('the Stop of fx-b to unlist its address', () => !listed(MOVED['fx-b']));
    expect(await metric(TAKEN_STOP)).toBe(0);
  });

  test('the late address-less Stop of the former holder leaves the listing of the session that holds the address now', async () => {
    expect(rowsNaming(run.state, MOVED['fx-d'])).toEqual(['fx-d', 'fx-c']);
    // 0.3.0, restarted on this, gave the address to C: this Stop unlisted D's listing.
    await account({ 'Acct-Status-Type': 'Stop', ...FX_C });
    await waitFor('the late Stop of fx-c to be counted stale', async () => (await metric(TAKEN_STOP)) === 1);
    expect(run.service!.logs().find((line) => line.msg === 'stale Stop skipped: the address belongs to a newer session')).toMatchObject({
      session: 'fx-c',
      reason: 'address_taken',
      address: MOVED['fx-d'],
      owner_session: 'fx-d',
    });
    expect(listed(MOVED['fx-d'])).toBe(true);
  });

  test('once this build compacts, its snapshot names each address under its holder only, and a restart still has the sessions, stopped sessions and pending unlists', async () => {
    // BIND down: the Stop of fx-open-3 stays pending through the compaction and the restart.
    await run.bind.stop();
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-3', ...OTHER_NAS });
    await interimsUntilCompacted(run.service!, account);
    expect(rowsNaming(run.state, MOVED['fx-d']), 'D holds it; C has stopped').toEqual(['fx-d']);
    expect(rowsNaming(run.state, MOVED['fx-b']), 'B has stopped; A, still open, never held it again').toEqual([]);

    expect(await run.service!.stop('SIGTERM')).toBe(0);
    await run.bind.restart();
    run.service = await startService(run.config);
    const started = run.service.logs().find((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 3, pending: 1 });
    await waitFor('the Stop of fx-open-3 to be delivered after the restart', () => !listed('10.64.0.13'), 15_000);
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-1', 'NAS-IP-Address': '192.0.2.1' });
    await waitFor('fx-open-1, resolved from the table, to be unlisted', () => !listed('10.64.0.11'));
    await account({ 'Acct-Status-Type': 'Stop', ...FX_D });
    await waitFor('fx-d, resolved from the table, to be unlisted', () => !listed(MOVED['fx-d']));

    // The address A recorded, listed again: A's late Stop has nothing of it to unlist.
    run.bind.addRecords(FIXTURE_ZONE, listingRecords(MOVED['fx-b'], FIXTURE_ZONE));
    await account({ 'Acct-Status-Type': 'Stop', ...FX_A });
    await waitFor('the late Stop of fx-a to be counted', async () => (await metric(UNKNOWN_STOP)) === 1);
    expect(run.service.logs().find((line) => line.msg === 'Stop names no address and matches no recorded session: nothing to unlist')).toMatchObject({ session: 'fx-a' });
    expect(listed(MOVED['fx-b'])).toBe(true);

    // Remembered as stopped: by 0.3.0 (fx-done-2) and by this build before its compaction (fx-b).
    await account({ 'Acct-Status-Type': 'Start', ...FX_DONE_2, 'Framed-IP-Address': '10.64.0.22' });
    await account({ 'Acct-Status-Type': 'Start', ...FX_B, 'Framed-IP-Address': MOVED['fx-b'] });
    expect(await metric(STALE_START)).toBe(2);
  });
});
