import { describe, expect, it } from 'vitest';
import { RadiusStreamFramer } from '../../src/radius/transports/tls/framing.js';

/** A packet-shaped run of octets: code 4, the identifier, the Length, then filler. */
const packet = (identifier: number, length: number): Buffer => {
  const bytes = Buffer.alloc(length, identifier);
  bytes[0] = 4;
  bytes[1] = identifier;
  bytes.writeUInt16BE(length, 2);
  return bytes;
};

describe('RadSec stream framing (RFC 6614 §2.5)', () => {
  it('returns each whole packet of a chunk that holds several', () => {
    const framer = new RadiusStreamFramer();
    const result = framer.push(Buffer.concat([packet(1, 20), packet(2, 38), packet(3, 4096)]));
    expect(result.ok).toBe(true);
    expect(result.packets.map((p) => [p[1], p.length])).toEqual([[1, 20], [2, 38], [3, 4096]]);
    expect(framer.buffered).toBe(0);
  });

  it('holds a packet split over many chunks, down to one octet each, until it is whole', () => {
    const framer = new RadiusStreamFramer();
    const whole = packet(9, 60);
    const seen: Buffer[] = [];
    for (let i = 0; i < whole.length; i++) {
      const result = framer.push(whole.subarray(i, i + 1));
      expect(result.ok).toBe(true);
      seen.push(...result.packets);
      if (i < whole.length - 1) expect(framer.buffered).toBe(i + 1);
    }
    expect(seen).toEqual([whole]);
  });

  it('keeps the start of the next packet after a whole one', () => {
    const framer = new RadiusStreamFramer();
    const [first, second] = [packet(1, 30), packet(2, 30)];
    expect(framer.push(Buffer.concat([first, second.subarray(0, 3)])).packets).toEqual([first]);
    expect(framer.buffered).toBe(3);
    expect(framer.push(second.subarray(3)).packets).toEqual([second]);
  });

  it.each([
    [0, /Length 0 is below the 20-octet minimum/],
    [3, /Length 3 is below the 20-octet minimum/],
    [19, /Length 19 is below/],
    [4097, /Length 4097 is above the 4096-octet maximum/],
    [5000, /Length 5000 is above/],
    [65535, /Length 65535 is above/],
  ])('declares the stream broken at a Length of %i, after handing out the packets before it', (length, reason) => {
    const framer = new RadiusStreamFramer();
    const bad = Buffer.alloc(20);
    bad[0] = 4;
    bad.writeUInt16BE(length, 2);
    const result = framer.push(Buffer.concat([packet(1, 20), bad]));
    expect(result.ok).toBe(false);
    expect(result.packets).toHaveLength(1);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('accepts the limits themselves, 20 and 4096', () => {
    expect(new RadiusStreamFramer().push(Buffer.concat([packet(1, 20), packet(2, 4096)])).packets).toHaveLength(2);
  });
});
