import { describe, expect, it } from 'vitest';
import { AddressHistory, type EventNote } from '../../src/http/address-history.js';
import type { UnlistJob } from '../../src/queue/state.js';

const event = (overrides: Partial<EventNote> = {}) => ({
  type: 'start',
  client: 'nas1',
  nas: '192.0.2.1',
  sessionId: 's1',
  userName: 'alice',
  at: 1000,
  ...overrides,
});

/** Notes one event naming each of the addresses, as the operator view does address by address. */
function noteEvent(history: AddressHistory, addresses: readonly string[], note: EventNote): void {
  for (const address of addresses) history.noteAddress(address, note);
}

const job = (id: string, targets: string[], createdAt = 5000): UnlistJob => ({ id, targets, reason: { event: 'stop', client: 'nas1', nas: '192.0.2.1', sessionId: 's1' }, createdAt });

describe('the address history', () => {
  it('keeps since from the first event of the same session and the user from a Start when an Interim has none', () => {
    const history = new AddressHistory();
    noteEvent(history, ['10.64.0.1'], event());
    noteEvent(history, ['10.64.0.1'], event({ type: 'interim', userName: undefined, at: 2000 }));
    expect(history.session('10.64.0.1')).toEqual({ client: 'nas1', nas: '192.0.2.1', sessionId: 's1', userName: 'alice', since: 1000, lastEvent: 'interim', lastEventAt: 2000 });
  });

  it('starts since afresh when another session names the address', () => {
    const history = new AddressHistory();
    noteEvent(history, ['10.64.0.1'], event());
    noteEvent(history, ['10.64.0.1'], event({ sessionId: 's2', userName: 'bob', at: 3000 }));
    expect(history.session('10.64.0.1')).toMatchObject({ sessionId: 's2', userName: 'bob', since: 3000 });
  });

  it("records each backend's and zone's latest outcome of the last job, and a new job replaces the old one", () => {
    const history = new AddressHistory();
    history.noteDelivery(job('1', ['10.64.0.1']), { backend: 'bind', zone: 'a.test', outcome: 'retrying', at: 6000, endedAt: 6000, code: 'RBL_DNS_TIMEOUT', attempt: 1 });
    history.noteDelivery(job('1', ['10.64.0.1']), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 7000, endedAt: 7000 });
    history.noteDelivery(job('1', ['10.64.0.1']), { backend: 'bind', zone: 'b.test', outcome: 'dead_letter', at: 7000, endedAt: 7000, code: 'RBL_DNS_REFUSED' });
    expect(history.lastUnlist('10.64.0.1')?.deliveries.map((d) => [d.zone, d.outcome])).toEqual([['a.test', 'unlisted'], ['b.test', 'dead_letter']]);
    history.noteDelivery(job('2', ['10.64.0.1'], 9000), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 9100, endedAt: 9100 });
    expect(history.lastUnlist('10.64.0.1')).toMatchObject({ job: '2', requestedAt: 9000, deliveries: [{ zone: 'a.test', outcome: 'unlisted', latencyMs: 100 }] });
  });

  it('keeps the other lanes\' outcomes when the unlist goes on as a new job of the same request, and names the new job', () => {
    const history = new AddressHistory();
    history.noteDelivery(job('1', ['10.64.0.1', '10.64.0.2'], 5000), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 6000, endedAt: 6000 });
    history.noteDelivery(job('1', ['10.64.0.1', '10.64.0.2'], 5000), { backend: 'api', zone: 'a.test', outcome: 'retrying', at: 6100, endedAt: 6100, attempt: 1 });
    // The API lane went on as job 7 with the address it failed (same request: time and reason).
    history.noteDelivery(job('7', ['10.64.0.2'], 5000), { backend: 'api', zone: 'a.test', outcome: 'unlisted', at: 9000, endedAt: 9000 });
    expect(history.lastUnlist('10.64.0.2')).toMatchObject({ job: '7', deliveries: [{ backend: 'bind', outcome: 'unlisted' }, { backend: 'api', outcome: 'unlisted', latencyMs: 4000 }] });
    // A new request for the address at the same moment but from another session is another unlist.
    history.noteDelivery({ ...job('8', ['10.64.0.2'], 5000), reason: { event: 'stop', client: 'nas1', nas: '192.0.2.1', sessionId: 's2' } }, { backend: 'api', zone: 'a.test', outcome: 'unlisted', at: 9500, endedAt: 9500 });
    expect(history.lastUnlist('10.64.0.2')).toMatchObject({ job: '8', deliveries: [{ backend: 'api', outcome: 'unlisted' }] });
  });

  it("gives each job of one call its own latency, from the job's creation to the call's end", () => {
    const history = new AddressHistory();
    const outcome = { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 8000, endedAt: 7900 } as const;
    history.noteDelivery(job('1', ['10.64.0.1'], 5000), outcome);
    history.noteDelivery(job('2', ['10.64.0.2'], 7000), outcome);
    expect(history.lastUnlist('10.64.0.1')?.deliveries).toEqual([{ backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 8000, latencyMs: 2900 }]);
    expect(history.lastUnlist('10.64.0.2')?.deliveries).toEqual([{ backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 8000, latencyMs: 900 }]);
  });

  it('keeps the latest outcome of each of three lanes and replaces a lane named again', () => {
    const history = new AddressHistory();
    const target = job('1', ['10.64.0.1']);
    history.noteDelivery(target, { backend: 'bind', zone: 'a.test', outcome: 'retrying', at: 6000, endedAt: 6000, attempt: 1 });
    history.noteDelivery(target, { backend: 'bind', zone: 'b.test', outcome: 'unlisted', at: 6100, endedAt: 6100 });
    history.noteDelivery(target, { backend: 'pdns', zone: 'a.test', outcome: 'unlisted', at: 6200, endedAt: 6200 });
    history.noteDelivery(target, { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 6300, endedAt: 6300 });
    expect(history.lastUnlist('10.64.0.1')?.deliveries.map((d) => [d.backend, d.zone, d.outcome, d.latencyMs])).toEqual([
      ['bind', 'a.test', 'unlisted', 1300],
      ['bind', 'b.test', 'unlisted', 1100],
      ['pdns', 'a.test', 'unlisted', 1200],
    ]);
  });

  it('knows nothing of an address only unlisted, and no unlist of an address only named by events', () => {
    const history = new AddressHistory();
    noteEvent(history, ['10.64.0.1'], event());
    history.noteDelivery(job('1', ['10.64.0.2']), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 6000, endedAt: 6000 });
    expect(history.lastUnlist('10.64.0.1')).toBeUndefined();
    expect(history.session('10.64.0.2')).toBeUndefined();
    expect(history.session('10.64.0.1')).toMatchObject({ sessionId: 's1' });
  });

  it('finds the unlist of a prefix that covers an address when asked to', () => {
    const history = new AddressHistory();
    history.noteDelivery(job('3', ['2001:db8:100:1::/64']), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 6000, endedAt: 5010 });
    expect(history.lastUnlist('2001:db8:100:1::5')).toBeUndefined();
    expect(history.lastUnlist('2001:db8:100:1::5', (target) => target === '2001:db8:100:1::/64')).toMatchObject({ job: '3', target: '2001:db8:100:1::/64', deliveries: [{ latencyMs: 10 }] });
    // The newest of several covering unlists.
    history.noteDelivery(job('4', ['2001:db8:100::/48'], 7000), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 7100, endedAt: 7100 });
    history.noteDelivery(job('2', ['2001:db8::/32'], 4000), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 7100, endedAt: 7100 });
    expect(history.lastUnlist('2001:db8:100:1::5', (target) => target !== '10.64.0.1')).toMatchObject({ job: '4', target: '2001:db8:100::/48' });
  });

  it('holds at most its limit of addresses, forgetting the one that least recently changed hands or was unlisted', () => {
    const history = new AddressHistory(2);
    noteEvent(history, ['10.64.0.1'], event());
    noteEvent(history, ['10.64.0.2'], event({ sessionId: 's2' }));
    // Another session takes 10.64.0.1: it becomes the most recent.
    noteEvent(history, ['10.64.0.1'], event({ sessionId: 's3', at: 2000 }));
    noteEvent(history, ['10.64.0.3'], event({ sessionId: 's4' }));
    expect(history.size).toBe(2);
    expect(history.session('10.64.0.2')).toBeUndefined();
    expect(history.session('10.64.0.1')).toMatchObject({ sessionId: 's3' });
    expect(history.session('10.64.0.3')).toBeDefined();
  });

  it('does not let Interim-Updates of a session push out addresses that changed hands after it started', () => {
    const history = new AddressHistory(2);
    noteEvent(history, ['10.64.0.1'], event());
    noteEvent(history, ['10.64.0.2'], event({ sessionId: 's2' }));
    noteEvent(history, ['10.64.0.1'], event({ type: 'interim', at: 2000 }));
    noteEvent(history, ['10.64.0.3'], event({ sessionId: 's3' }));
    // 10.64.0.1's Interim updated it in place (last event interim) but it stayed the oldest.
    expect(history.session('10.64.0.1')).toBeUndefined();
    expect(history.session('10.64.0.2')).toBeDefined();
  });

  it('gives a forgotten address\'s place to another with nothing of the first left in it', () => {
    const history = new AddressHistory(2);
    noteEvent(history, ['10.64.0.1'], event());
    history.noteDelivery(job('1', ['10.64.0.1']), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 6000, endedAt: 6000 });
    noteEvent(history, ['10.64.0.2'], event({ sessionId: 's2' }));
    history.noteDelivery(job('9', ['10.64.0.2']), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 6500, endedAt: 6500 });
    // Two more addresses push both out; one is only unlisted, the other only named by an event.
    history.noteDelivery(job('2', ['10.64.0.3']), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 7000, endedAt: 7000 });
    noteEvent(history, ['10.64.0.4'], event({ sessionId: 's4', userName: undefined }));
    expect(history.size).toBe(2);
    expect(history.session('10.64.0.1')).toBeUndefined();
    expect(history.lastUnlist('10.64.0.1')).toBeUndefined();
    expect(history.session('10.64.0.3')).toBeUndefined();
    expect(history.lastUnlist('10.64.0.3')).toMatchObject({ job: '2', deliveries: [{ at: 7000 }] });
    expect(history.lastUnlist('10.64.0.4')).toBeUndefined();
    expect(history.session('10.64.0.4')).toEqual({ client: 'nas1', nas: '192.0.2.1', sessionId: 's4', userName: undefined, since: 1000, lastEvent: 'start', lastEventAt: 1000 });
  });

  it('keeps the right notes of the last half of its limit through many generations', () => {
    const limit = 64;
    const history = new AddressHistory(limit);
    const count = 1000;
    for (let i = 0; i < count; i++) {
      const address = `10.64.${i >> 8}.${i & 255}`;
      noteEvent(history, [address], event({ sessionId: `s${i}`, userName: `user${i}`, at: 10_000 + i }));
      history.noteDelivery(job(String(100 + i), [address], 20_000 + i), { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 30_000 + i, endedAt: 30_000 + i });
      expect(history.size).toBeLessThanOrEqual(limit);
    }
    for (let i = count - limit / 2; i < count; i++) {
      const address = `10.64.${i >> 8}.${i & 255}`;
      expect(history.session(address)).toMatchObject({ sessionId: `s${i}`, userName: `user${i}`, since: 10_000 + i });
      expect(history.lastUnlist(address)).toMatchObject({ job: String(100 + i), requestedAt: 20_000 + i, deliveries: [{ latencyMs: 10_000 }] });
    }
    expect(history.session('10.64.0.0')).toBeUndefined();
  });
});
