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

/** Class (25) attributes of at most 255 octets filling exactly `total` octets. */
function paddingAttributes(total: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let left = total; left > 0; ) {
    const size = left > 255 ? (left - 255 >= 2 ? 255 : 253) : left;
    parts.push(Buffer.concat([Buffer.from([25, size]), Buffer.alloc(size - 2)]));
    left -= size;
  }
  return parts;
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
  ...[4, 19].map((octet) => ({
    name: `discards a request whose Request Authenticator differs only in octet ${octet}`,
    datagram: () => {
      const p = good();
      p[octet]! ^= 0x80;
      return p;
    },
    outcome: 'bad_authenticator' as const,
  })),
  {
    name: 'checks a 4096-octet request signed with a 200-octet secret',
    datagram: () => {
      const padding = paddingAttributes(4096 - good().length).map((attribute) => [25, attribute.subarray(2)] as const);
      return buildAccountingRequest({ identifier: 9, secret: Buffer.alloc(200, 0x73), attributes: [['Acct-Status-Type', 'Stop'], ['Acct-Session-Id', 'abc'], ['Framed-IP-Address', '10.64.0.5'], ...padding] });
    },
    secret: Buffer.alloc(200, 0x73),
    outcome: 'accounting',
  },
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
  {
    name: 'discards a second Message-Authenticator',
    datagram: () => resign(Buffer.concat([withLength(good(), good().length + 36), Buffer.from([80, 18, ...Buffer.alloc(16), 80, 18, ...Buffer.alloc(16)])])),
    outcome: 'malformed',
    reason: /more than one Message-Authenticator/,
  },
  { name: 'accepts a Length of exactly 20, no attributes', datagram: () => resign(withLength(good().subarray(0, 20), 20)), outcome: 'accounting' },
  { name: 'accepts a Length of exactly 4096', datagram: () => resign(Buffer.concat([withLength(good(), 4096), Buffer.from([44, 255]), Buffer.alloc(253), ...paddingAttributes(4096 - good().length - 255)])), outcome: 'accounting' },
  { name: 'accepts a 2-octet attribute that ends exactly at Length', datagram: () => resign(Buffer.concat([withLength(good(), good().length + 2), Buffer.from([44, 2])])), outcome: 'accounting' },
  { name: 'accepts a Status-Server with a correct Message-Authenticator', datagram: () => buildStatusServer({ identifier: 3, secret: SECRET }), outcome: 'status_server' },
  { name: 'discards a Status-Server without Message-Authenticator', datagram: () => buildStatusServer({ identifier: 3, secret: SECRET, messageAuthenticator: false }), outcome: 'malformed', reason: /without Message-Authenticator/ },
  { name: 'discards a Status-Server signed with another secret, naming its Message-Authenticator', datagram: () => buildStatusServer({ identifier: 3, secret: 'other' }), outcome: 'bad_authenticator', reason: /^Message-Authenticator does not match/ },
];

describe('RADIUS packet validation', () => {
  it.each(cases)('$name', ({ datagram, secret, outcome, reason }) => {
    const verdict = checkDatagram(datagram(), secret ?? SECRET);
    expect(verdict.outcome).toBe(outcome);
    if (reason) expect('reason' in verdict ? verdict.reason : '').toMatch(reason);
  });

  it('reads the header fields and where the Message-Authenticator value lies', () => {
    const request = buildAccountingRequest({ identifier: 200, secret: SECRET, attributes: stop, messageAuthenticator: true });
    const parsed = parsePacket(request);
    expect(parsed).toEqual({
      ok: true,
      packet: { code: 4, identifier: 200, length: request.length, bytes: request, authenticator: request.subarray(4, 20), messageAuthenticatorOffset: request.length - 16 },
    });
    const plain = parsePacket(good());
    expect(plain.ok && plain.packet.messageAuthenticatorOffset).toBe(-1);
  });

  it.each([
    ['a short datagram', Buffer.alloc(19), 'datagram of 19 octets is shorter than the 20-octet header'],
    ['a Length below 20', withLength(Buffer.alloc(20), 19), 'Length 19 is below the 20-octet minimum'],
    ['a Length above 4096', withLength(Buffer.alloc(4100), 4097), 'Length 4097 is above the 4096-octet maximum'],
    ['a Length past the datagram', withLength(Buffer.alloc(20), 21), 'Length 21 is longer than the 20-octet datagram'],
    ['an Access-Accept', Buffer.from([2, 1, 0, 20, ...Buffer.alloc(16)]), 'code 2 is neither Accounting-Request (4) nor Status-Server (12)'],
    ['an attribute without its length octet', Buffer.from([4, 1, 0, 21, ...Buffer.alloc(16), 8]), 'attribute at octet 20 has no room for its type and length'],
    ['an attribute of length 1', Buffer.from([4, 1, 0, 22, ...Buffer.alloc(16), 8, 1]), 'attribute 8 at octet 20 has length 1, below 2'],
    ['an attribute past Length', Buffer.from([4, 1, 0, 22, ...Buffer.alloc(16), 8, 6]), 'attribute 8 at octet 20 runs past Length 22'],
    ['a short Message-Authenticator', Buffer.from([4, 1, 0, 22, ...Buffer.alloc(16), 80, 2]), 'Message-Authenticator has length 2, not 18'],
  ])('says what is wrong with %s', (_what, datagram, reason) => {
    expect(parsePacket(datagram)).toEqual({ ok: false, reason });
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
