/**
 * The canonical address made once at decode (issue 11) is what the queue stores, journals as its
 * text, and hands to the backend: neither the commit nor the worker parses it again. Text targets
 * are still parsed (and refused when they are not addresses); a job read back from the journal is
 * parsed once, when it is delivered.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import { canonicalPrefix, parsePrefix, type IpPrefix } from '../../src/net/address.js';
import { listQueue } from '../../src/queue/admin.js';
import { FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const reason = { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: 's-1' };
const state = useStateDir('canonical');

/** A backend that keeps the prefix objects it was given. */
class KeepingBackend extends FakeBackend {
  readonly given: IpPrefix[] = [];
  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.given.push(...targets);
    await super.unlist(zone, targets);
  }
}

const open = (backends: Backend[]) => state.open({ backends, maxSessionAgeMs: 86_400_000, closeGraceMs: 10 });

describe('canonical targets in the queue', () => {
  it('hands the backend the very prefix objects the commit was given, and journals their text', async () => {
    const backend = new KeepingBackend();
    const store = await open([backend]);
    const v4 = canonicalPrefix(parsePrefix('10.64.1.5'));
    const v6 = canonicalPrefix(parsePrefix('2001:DB8:100:1::9/64'));
    const commit = store.commit({ unlist: { targets: [v4, v6], reason, createdAt: 1 } });
    await commit.done;
    expect(backend.given).toHaveLength(2);
    expect(backend.given[0]).toBe(v4);
    expect(backend.given[1]).toBe(v6);
    expect(state.events.find((event) => event.type === 'delivered')).toMatchObject({ jobs: [{ targets: ['10.64.1.5', '2001:db8:100:1::/64'] }] });
  });

  it('makes text targets canonical and keeps one of each target, whether named as text or as a prefix', async () => {
    const backend = new FakeBackend();
    backend.behaviour = never;
    const store = await open([backend]);
    const commit = store.commit({ unlist: { targets: ['2001:DB8:0:0::7', canonicalPrefix(parsePrefix('2001:db8::7')), ' 10.64.1.6 ', '10.64.1.6'], reason, createdAt: 1 } });
    await commit.recorded;
    expect(store.jobsMatching(() => true).map((entry) => entry.job.targets)).toEqual([['2001:db8::7', '10.64.1.6']]);
  });

  it('delivers a job read back from the journal, its text parsed once into the prefixes the backend gets', async () => {
    const stalled = new FakeBackend();
    stalled.behaviour = never;
    const first = await open([stalled]);
    await first.commit({ unlist: { targets: [canonicalPrefix(parsePrefix('10.64.1.7'))], reason, createdAt: 1 } }).recorded;
    await first.close();
    expect((await listQueue(state.dir)).pending.map((entry) => entry.targets)).toEqual([['10.64.1.7']]);

    const backend = new KeepingBackend();
    await open([backend]);
    await waitUntil(() => backend.given.length === 1, 5000);
    expect(backend.given[0]).toMatchObject({ family: 4, prefixLength: 32, bytes: Buffer.from([10, 64, 1, 7]) });
  });
});
