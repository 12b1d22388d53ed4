import { describe, expect, it } from 'vitest';
import { ClientPacketTracker } from '../../src/http/client-packets.js';

describe('the per-client packet tracker', () => {
  it('counts packets and discards per client with the last packet time, source and discard reason', () => {
    let now = 1000;
    const tracker = new ClientPacketTracker(() => now);
    tracker.record('accepted', { source: '127.0.0.1:4000', client: 'nas1' });
    now = 2000;
    tracker.record('bad_authenticator', { source: '127.0.0.1:4001', client: 'nas1', reason: 'Request Authenticator does not match' });
    tracker.record('duplicate', { source: '127.0.0.1:4001', client: 'nas1' });
    expect(tracker.client('nas1')).toEqual({
      packets: 3,
      discards: 1,
      byOutcome: { accepted: 1, bad_authenticator: 1, duplicate: 1 },
      lastPacketAt: 2000,
      lastSource: '127.0.0.1:4001',
      lastDiscard: { outcome: 'bad_authenticator', reason: 'Request Authenticator does not match', at: 2000 },
    });
    expect(tracker.client('nas2')).toMatchObject({ packets: 0, lastPacketAt: undefined });
  });

  it('counts packets of sources that match no client together, as discards', () => {
    const tracker = new ClientPacketTracker(() => 5);
    tracker.record('unknown_client', { source: '127.0.0.7:1' });
    tracker.record('unknown_client', { source: '127.0.0.8:2' });
    expect(tracker.unknownSources()).toMatchObject({ packets: 2, discards: 2, lastSource: '127.0.0.8:2' });
  });

  it('keeps no more client names than its limit', () => {
    const tracker = new ClientPacketTracker(() => 5, 1);
    tracker.record('accepted', { source: 'a', client: 'one' });
    tracker.record('accepted', { source: 'b', client: 'two' });
    expect(tracker.client('one').packets).toBe(1);
    expect(tracker.client('two').packets).toBe(0);
  });
});
