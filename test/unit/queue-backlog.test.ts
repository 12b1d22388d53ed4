/**
 * The backlog is bounded by distinct targets, not events: during a DNS outage, Stops of addresses
 * already waiting merge into the pending unlist, so the queue and the journal stay bounded, and
 * every Stop's waiter (state.ack: unlisted) is answered once the unlist that covers it succeeds.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import type { Commit } from '../../src/queue/store-open.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('backlog');

const STOPS = 500_000;
const ADDRESSES = 20_000;
const BURST = 2000;
const address = (k: number): string => `10.64.${(k % ADDRESSES) >> 8}.${(k % ADDRESSES) & 255}`;

describe('the backlog during a DNS outage', () => {
  it(`holds at most one pending unlist per address: ${STOPS} Stops over ${ADDRESSES} addresses, then DNS comes back and all are unlisted`, async () => {
    const backend = new FakeBackend();
    let dnsUp = false;
    backend.behaviour = () => {
      if (!dnsUp) throw new RblError('RBL_DNS_TIMEOUT', 'the DNS server did not answer', { transient: true });
    };
    const store = await state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 5, maxMs: 50 } });
    const waiting: Commit[] = [];
    const started = Date.now();
    for (let first = 0; first < STOPS; first += BURST) {
      const burst: Promise<void>[] = [];
      for (let k = first; k < first + BURST; k++) {
        // One Stop in a thousand waits for its unlist, as with state.ack: unlisted.
        const track = k % 1000 === 0;
        const commit = store.commit(
          { unlist: { targets: [address(k)], reason: { event: 'stop', client: 'ras1', nas: 'nas1', sessionId: `s${k}` }, createdAt: Date.now() } },
          { trackDelivery: track },
        );
        if (track) waiting.push(commit);
        burst.push(commit.recorded);
      }
      await Promise.all(burst);
    }
    const burstMs = Date.now() - started;
    expect(backend.calls.length).toBeGreaterThan(1);
    // Let the last failed call come back, so nothing is in flight.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.stats().pendingTargets).toBeLessThanOrEqual(ADDRESSES);
    expect(store.depth()).toBeLessThanOrEqual(ADDRESSES);
    expect(statSync(join(state.dir, 'journal')).size).toBeLessThan(10 * 1024 * 1024);

    dnsUp = true;
    await waitUntil(() => store.depth() === 0, 60_000);
    await Promise.all(waiting.map((commit) => commit.done));
    const unlisted = new Set(backend.delivered('rbl.example.net'));
    expect(unlisted.size).toBe(ADDRESSES);
    expect(statSync(join(state.dir, 'journal')).size).toBeLessThan(10 * 1024 * 1024);
    // Bounded in time as well as count: the burst ran in well under the test's limit.
    expect(burstMs).toBeLessThan(90_000);
  }, 180_000);
});
