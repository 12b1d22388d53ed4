/**
 * Upgrades lose nothing: the state.dir that 0.1.0 left (test/fixtures/state-0.1: journal format 1
 * with open sessions, one with a delegated /56, and three pending unlists) is opened by this build
 * against a real BIND that holds those listings. The pending unlists are delivered, and the
 * sessions are there: an address-less Stop of each is resolved from the table, before and after a
 * restart on the journal that now mixes both formats.
 */
import { describe, expect, test } from 'vitest';
import { useFixtureRun } from '../helpers/fixture-run.js';
import { havePeers, waitFor } from '../helpers/peers.js';
import { startService } from '../helpers/service.js';

const OPEN = { 'fx-open-1': ['10.64.0.11'], 'fx-open-2': ['10.64.0.12', '2001:db8:100:1200::/56'], 'fx-open-3': ['10.64.0.13'] };
const PENDING = ['10.64.0.21', '10.64.0.22', '10.64.0.23', '2001:db8:100:2300::/56'];

describe.skipIf(!havePeers('named', 'tsig-keygen'))('upgrading from 0.1.0', () => {
  const run = useFixtureRun('state-0.1', () => [...Object.values(OPEN).flat(), ...PENDING], { ack: 'unlisted', metrics: false });
  const { account, listed } = run;

  test('the pending unlists of 0.1.0 are delivered and its sessions resolve address-less Stops', async () => {
    run.service = await startService(run.config);
    const started = await run.service.waitForLog((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 3, pending: 3 });
    await waitFor('the pending unlists of 0.1.0 to reach BIND', () => PENDING.every((address) => !listed(address)), 15_000);

    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-2', 'NAS-IP-Address': '192.0.2.1' });
    for (const address of OPEN['fx-open-2']) expect(listed(address), address).toBe(false);
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-3', 'NAS-IP-Address': '192.0.2.2', 'NAS-Identifier': 'bras2' });
    expect(listed('10.64.0.13')).toBe(false);
    expect(listed('10.64.0.11'), 'a session nobody stopped').toBe(true);
  });

  test('after a restart on the journal that mixes both formats, the last session is still there', async () => {
    expect(await run.service!.stop('SIGTERM')).toBe(0);
    run.service = await startService(run.config);
    const started = await run.service.waitForLog((line) => line.msg === 'rbl-unlist started');
    expect(started).toMatchObject({ sessions: 1, pending: 0 });
    await account({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'fx-open-1', 'NAS-IP-Address': '192.0.2.1' });
    expect(listed('10.64.0.11')).toBe(false);
  });
});
