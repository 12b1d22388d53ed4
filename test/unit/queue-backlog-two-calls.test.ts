/**
 * The backlog during an outage, with two calls of a lane in flight at once: when an address's two
 * jobs sit in the two concurrent calls and the older one's call fails first (no newer job it could
 * be superseded by is out of flight yet), the newer one's failure supersedes it. Found by an
 * attacker's review of the rule that no delivery in flight supersedes another.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';
import { sleep, stopOf } from '../helpers/failing-names.js';

const state = useStateDir('backlog-two-calls');
const ZONE = 'rbl.example.net';

/** Calls that hang until the test fails them. */
class HangingBackend extends FakeBackend {
  readonly hanging: { targets: string[]; fail: () => void }[] = [];
  constructor() {
    super('bind', [ZONE]);
    this.behaviour = (_zone, targets) =>
      new Promise<void>((_resolve, reject) => {
        this.hanging.push({ targets, fail: () => reject(new RblError('RBL_DNS_TIMEOUT', 'the DNS server did not answer', { transient: true })) });
      });
  }
}

describe('the backlog with two calls in flight while DNS is down', () => {
  it('keeps at most one pending unlist per address across failed calls', async () => {
    const dns = new HangingBackend();
    const store = await state.open({ backends: [dns], maxSessionAgeMs: 86_400_000, maxTargetsPerCall: 4, backoff: { baseMs: 20, maxMs: 20 }, random: () => 1, closeGraceMs: 10 });
    const addresses = ['10.64.0.1', '10.64.0.2', '10.64.0.3', '10.64.0.4'];
    // Stops for four addresses: one call of four targets, in flight.
    for (const [i, address] of addresses.entries()) store.commit({ unlist: stopOf(`a${i}`, address) });
    await waitUntil(() => dns.calls.length === 1, 3000);
    // The next Stops of the same addresses cannot merge into a job in flight: new jobs, and a
    // second call (a backlog of half a batch) takes them.
    for (const [i, address] of addresses.entries()) store.commit({ unlist: stopOf(`b${i}`, address) });
    await waitUntil(() => dns.calls.length === 2, 3000);
    expect(dns.calls[1]!.targets).toEqual(addresses);
    // DNS stays down: every call fails, round after round; the call with the older jobs answers
    // first (the network keeps no order between two calls). No Stop comes meanwhile.
    const depths: number[] = [];
    for (let round = 0; round < 5; round++) {
      await waitUntil(() => dns.hanging.length > 0, 3000);
      await sleep(5);
      const calls = dns.hanging.splice(0);
      // The older jobs' call first: the first one made in round 0, the last one after (the newer
      // jobs went back in front of the older ones).
      for (const call of round === 0 ? calls : calls.reverse()) {
        call.fail();
        await sleep(1);
      }
      await sleep(5);
      depths.push(store.depth());
    }
    // Four addresses: the README promises at most one pending unlist per address.
    expect(depths).toEqual([4, 4, 4, 4, 4]);
  });
});
