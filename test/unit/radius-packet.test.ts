import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAccountingAttributes } from '../../src/radius/attributes.js';
import { describeAttributes } from '../../src/radius/describe.js';
import { parsePacket } from '../../src/radius/packet.js';
import { checkDatagram, type PacketVerdict } from '../../src/radius/validate.js';
import { buildAccountingRequest, buildStatusServer } from '../helpers/radius-packets.js';

const SECRET = Buffer.from('s3cret');
const stop = { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'abc', 'Framed-IP-Address': '10.64.0.5' } as const;
const good = (): Buffer => buildAccountingRequest({ identifier: 7, secret: SECRET, attributes: stop });

/** Re-signs a hand-edited Accounting-Request, so only the edit (not the authenticator) is wrong. */
function resign(packet: Buffer, length = packet.readUInt16BE(2)): Buffer {
  const copy = Buffer.from(packet);
  copy.fill(0, 4, 20);
  createHash('md5').update(copy.subarray(0, Math.min(length, copy.length))).update(SECRET).digest().copy(copy, 4);
  return copy;
}

function withLength(packet: Buffer, length: number): Buffer {
  const copy = Buffer.from(packet);
  copy.writeUInt16BE(length, 2);
  return copy;
}

/** A request whose one attribute has the given length octet, signed over the given Length. */
function withAttributeLength(attributeLength: number): Buffer {
  const body = Buffer.from([44, attributeLength, 0x61, 0x62]);
  const packet = Buffer.concat([Buffer.alloc(20), body]);
  packet[0] = 4;
  packet[1] = 1;
  packet.writeUInt16BE(packet.length, 2);
  return resign(packet);
}

const cases: { name: string; datagram: () => Buffer; secret?: Buffer; outcome: PacketVerdict['outcome']; reason?: RegExp }[] = [
  { name: 'accepts a correct Accounting-Request', datagram: good, outcome: 'accounting' },
  { name: 'discards a datagram shorter than the header', datagram: () => good().subarray(0, 19), outcome: 'malformed', reason: /shorter than the 20-octet header/ },
  { name: 'discards a Length below 20', datagram: () => resign(withLength(good(), 19)), outcome: 'malformed', reason: /below the 20-octet minimum/ },
  { name: 'discards a Length above 4096', datagram: () => withLength(Buffer.concat([good(), Buffer.alloc(4100)]), 4097), outcome: 'malformed', reason: /above the 4096-octet maximum/ },
  { name: 'discards a Length longer than the datagram', datagram: () => withLength(good(), good().length + 1), outcome: 'malformed', reason: /longer than the \d+-octet datagram/ },
  { name: 'ignores octets past Length', datagram: () => Buffer.concat([good(), Buffer.from([1, 2, 3, 0xff])]), outcome: 'accounting' },
  { name: 'discards an Access-Request (wrong code)', datagram: () => buildAccountingRequest({ identifier: 1, secret: SECRET, attributes: stop, code: 1 }), outcome: 'malformed', reason: /code 1 is neither/ },
  { name: 'discards an attribute of length 0', datagram: () => withAttributeLength(0), outcome: 'malformed', reason: /length 0, below 2/ },
  { name: 'discards an attribute of length 1', datagram: () => withAttributeLength(1), outcome: 'malformed', reason: /length 1, below 2/ },
  { name: 'discards an attribute running past Length', datagram: () => withAttributeLength(5), outcome: 'malformed', reason: /runs past Length/ },
  { name: 'discards a lone octet where an attribute header should be', datagram: () => resign(Buffer.concat([withLength(good(), good().length + 1), Buffer.from([8])])), outcome: 'malformed', reason: /no room for its type and length/ },
  { name: 'discards a request signed with another secret', datagram: good, secret: Buffer.from('other'), outcome: 'bad_authenticator', reason: /Request Authenticator/ },
  { name: 'discards a request with a flipped attribute octet', datagram: () => { const p = good(); p[p.length - 1]! ^= 1; return p; }, outcome: 'bad_authenticator' },
  { name: 'accepts a request with a correct Message-Authenticator', datagram: () => buildAccountingRequest({ identifier: 2, secret: SECRET, attributes: stop, messageAuthenticator: true }), outcome: 'accounting' },
  {
    name: 'discards a request whose Message-Authenticator is wrong but Request Authenticator right',
    datagram: () => { const p = buildAccountingRequest({ identifier: 2, secret: SECRET, attributes: stop, messageAuthenticator: true }); p[p.length - 1]! ^= 1; return resign(p); },
    outcome: 'bad_authenticator',
    reason: /Message-Authenticator/,
  },
  {
    name: 'discards a Message-Authenticator that is not 18 octets',
    datagram: () => buildAccountingRequest({ identifier: 2, secret: SECRET, attributes: [[80, Buffer.alloc(15)]] }),
    outcome: 'malformed',
    reason: /not 18/,
  },
  { name: 'accepts a Status-Server with a correct Message-Authenticator', datagram: () => buildStatusServer({ identifier: 3, secret: SECRET }), outcome: 'status_server' },
  { name: 'discards a Status-Server without Message-Authenticator', datagram: () => buildStatusServer({ identifier: 3, secret: SECRET, messageAuthenticator: false }), outcome: 'malformed', reason: /without Message-Authenticator/ },
  { name: 'discards a Status-Server signed with another secret', datagram: () => buildStatusServer({ identifier: 3, secret: 'other' }), outcome: 'bad_authenticator' },
];

describe('RADIUS packet validation', () => {
  it.each(cases)('$name', ({ datagram, secret, outcome, reason }) => {
    const verdict = checkDatagram(datagram(), secret ?? SECRET);
    expect(verdict.outcome).toBe(outcome);
    if (reason) expect('reason' in verdict ? verdict.reason : '').toMatch(reason);
  });

  it('cuts the packet at Length, so padding is neither hashed nor decoded', () => {
    const padded = Buffer.concat([good(), Buffer.from([8, 6, 1, 2, 3, 4])]);
    const parsed = parsePacket(padded);
    expect(parsed.ok && parsed.packet.bytes.length).toBe(good().length);
    expect(parsed.ok && decodeAccountingAttributes(parsed.packet).framedIpAddress).toBe('10.64.0.5');
  });

  it('never throws on any datagram, and decodes whatever it accepts without throwing', () => {
    const arbitraryDatagram = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      // Mostly well-formed headers with random attribute octets reach the attribute walk and the decoder.
      fc.tuple(fc.constantFrom(4, 12, 5), fc.uint8Array({ minLength: 0, maxLength: 280 })).map(([code, body]) => {
        const packet = Buffer.concat([Buffer.alloc(20), Buffer.from(body)]);
        packet[0] = code;
        packet.writeUInt16BE(packet.length, 2);
        return resign(packet);
      }),
    );
    fc.assert(
      fc.property(arbitraryDatagram, (bytes) => {
        const datagram = Buffer.from(bytes);
        checkDatagram(datagram, SECRET);
        const parsed = parsePacket(datagram);
        if (parsed.ok) {
          decodeAccountingAttributes(parsed.packet);
          describeAttributes(parsed.packet);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
