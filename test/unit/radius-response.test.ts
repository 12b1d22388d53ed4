import { createHash, createHmac } from 'node:crypto';
import radius from 'radius';
import { describe, expect, it } from 'vitest';
import { messageAuthenticatorMatches } from '../../src/radius/authenticator.js';
import { parsePacket, type RadiusPacket } from '../../src/radius/packet.js';
import { buildAccountingResponse } from '../../src/radius/response.js';
import { buildAccountingRequest, buildStatusServer, verifyAccountingResponse } from '../helpers/radius-packets.js';

const SECRET = 'xyzzy5461';

function parsed(datagram: Buffer): RadiusPacket {
  const result = parsePacket(datagram);
  if (!result.ok) throw new Error(result.reason);
  return result.packet;
}

describe('Accounting-Response', () => {
  const request = buildAccountingRequest({ identifier: 201, secret: SECRET, attributes: { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's1' } });
  const response = buildAccountingResponse(parsed(request), Buffer.from(SECRET), false);

  it('is 20 octets of code 5 with the request Identifier', () => {
    expect(response.length).toBe(20);
    expect([response[0], response[1], response.readUInt16BE(2)]).toEqual([5, 201, 20]);
  });

  it('carries MD5(Code+Identifier+Length+Request Authenticator+secret) as Response Authenticator', () => {
    const expected = createHash('md5')
      .update(Buffer.from([5, 201, 0, 20]))
      .update(request.subarray(4, 20))
      .update(SECRET)
      .digest();
    expect(response.subarray(4, 20)).toEqual(expected);
  });

  it('is accepted by the test helper and by the radius package as a response to the request', () => {
    expect(verifyAccountingResponse(response, request, SECRET)).toBe(true);
    expect(radius.verify_response({ request: Buffer.from(request), response: Buffer.from(response), secret: SECRET })).toBe(true);
  });

  it('is rejected by the same checks under another secret or another request', () => {
    const other = buildAccountingRequest({ identifier: 201, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' } });
    expect(verifyAccountingResponse(response, request, 'wrong')).toBe(false);
    expect(verifyAccountingResponse(response, other, SECRET)).toBe(false);
  });
});

describe('Accounting-Response to a Status-Server', () => {
  const request = buildStatusServer({ identifier: 9, secret: SECRET });
  const response = buildAccountingResponse(parsed(request), Buffer.from(SECRET), true);

  it('carries a Message-Authenticator taken with the request authenticator in place (RFC 5997 §3)', () => {
    expect(response.length).toBe(38);
    expect([response[20], response[21]]).toEqual([80, 18]);
    const copy = Buffer.from(response);
    request.copy(copy, 4, 4, 20);
    copy.fill(0, 22, 38);
    expect(response.subarray(22, 38)).toEqual(createHmac('md5', SECRET).update(copy).digest());
  });

  it('has a Response Authenticator over the packet including the Message-Authenticator', () => {
    const copy = Buffer.from(response);
    request.copy(copy, 4, 4, 20);
    expect(response.subarray(4, 20)).toEqual(createHash('md5').update(copy).update(SECRET).digest());
    expect(verifyAccountingResponse(response, request, SECRET)).toBe(true);
  });
});

describe('Message-Authenticator of an Accounting-Request', () => {
  it('is the HMAC-MD5 with the Request Authenticator zeroed, as FreeRADIUS signs it', () => {
    const request = buildAccountingRequest({ identifier: 4, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' }, messageAuthenticator: true });
    const zeroed = Buffer.from(request);
    zeroed.fill(0, 4, 20);
    zeroed.fill(0, request.length - 16);
    expect(request.subarray(request.length - 16)).toEqual(createHmac('md5', SECRET).update(zeroed).digest());
    expect(messageAuthenticatorMatches(parsed(request), Buffer.from(SECRET))).toBe(true);
  });

  it('does not match a request that carries none', () => {
    const request = buildAccountingRequest({ identifier: 4, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' } });
    expect(messageAuthenticatorMatches(parsed(request), Buffer.from(SECRET))).toBe(false);
  });

  it('does not match another secret', () => {
    const request = buildAccountingRequest({ identifier: 4, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' }, messageAuthenticator: true });
    expect(messageAuthenticatorMatches(parsed(request), Buffer.from(`${SECRET}x`))).toBe(false);
  });

  it('does not match when computed over the Request Authenticator instead', () => {
    const request = buildAccountingRequest({ identifier: 4, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop' }, messageAuthenticator: true });
    const wrong = Buffer.from(request);
    const hashed = Buffer.from(request);
    hashed.fill(0, request.length - 16);
    createHmac('md5', SECRET).update(hashed).digest().copy(wrong, request.length - 16);
    expect(messageAuthenticatorMatches(parsed(wrong), Buffer.from(SECRET))).toBe(false);
  });
});

/** The attributes of a response after the header, as [type, value] pairs in order. */
function attributesOf(response: Buffer): [number, Buffer][] {
  const found: [number, Buffer][] = [];
  for (let offset = 20; offset < response.readUInt16BE(2); offset += response[offset + 1]!) {
    found.push([response[offset]!, Buffer.from(response.subarray(offset + 2, offset + response[offset + 1]!))]);
  }
  return found;
}

describe('Proxy-State in the Accounting-Response (RFC 2865 §5.33, RFC 2866 §4.2)', () => {
  const first = Buffer.from([0x00, 0x01, 0xff, 0x7f]);
  const second = Buffer.from('proxy-hop-2');
  const request = buildAccountingRequest({
    identifier: 77,
    secret: SECRET,
    attributes: [['Acct-Status-Type', 'Stop'], [33, first], ['Framed-IP-Address', '10.64.0.5'], [33, second], ['Acct-Session-Id', 's7']],
  });
  const response = buildAccountingResponse(parsed(request), Buffer.from(SECRET), false);

  it('copies every Proxy-State of the request unmodified and in order, and nothing else', () => {
    expect(attributesOf(response)).toEqual([[33, first], [33, second]]);
    expect(response.readUInt16BE(2)).toBe(response.length);
    expect(response.length).toBe(20 + 2 + first.length + 2 + second.length);
  });

  it('covers the Proxy-States with the Response Authenticator', () => {
    expect(verifyAccountingResponse(response, request, SECRET)).toBe(true);
    expect(radius.verify_response({ request: Buffer.from(request), response: Buffer.from(response), secret: SECRET })).toBe(true);
    const tampered = Buffer.from(response);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    expect(verifyAccountingResponse(tampered, request, SECRET)).toBe(false);
  });

  it('keeps a Proxy-State of the maximum 253 octets and one of a single octet', () => {
    const long = Buffer.alloc(253, 0xab);
    const single = Buffer.from([0]);
    const edge = buildAccountingRequest({ identifier: 3, secret: SECRET, attributes: [[33, long], ['Acct-Status-Type', 'Start'], [33, single]] });
    const answer = buildAccountingResponse(parsed(edge), Buffer.from(SECRET), false);
    expect(attributesOf(answer)).toEqual([[33, long], [33, single]]);
    expect(verifyAccountingResponse(answer, edge, SECRET)).toBe(true);
  });

  it('is also carried by the answer to a Status-Server, under both authenticators', () => {
    const status = buildStatusServer({ identifier: 12, secret: SECRET, attributes: [[33, first], [33, second]] });
    const answer = buildAccountingResponse(parsed(status), Buffer.from(SECRET), true);
    const attributes = attributesOf(answer);
    expect(attributes.map(([type]) => type)).toEqual([80, 33, 33]);
    expect(attributes.slice(1)).toEqual([[33, first], [33, second]]);
    expect(answer.length).toBeLessThanOrEqual(status.length);
    expect(verifyAccountingResponse(answer, status, SECRET)).toBe(true);
    const tampered = Buffer.from(answer);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    expect(verifyAccountingResponse(tampered, status, SECRET)).toBe(false);
  });
});
