/**
 * RFC 6613 §2.6.4 over RadSec (RFC 6614 §2.5): the packets RADIUS says to "silently discard" are
 * discarded and their connection closed (an authenticator that fails validation, attribute lengths
 * of 0 or 1, attributes that do not fill the packet), while an invalid Code or a stray response is
 * discarded and the connection kept. Real TLS connections, the real request handler.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRequestHandler, type PacketOutcome } from '../../src/radius/handler.js';
import { closingDiscard } from '../../src/radius/transports/tls/discard.js';
import { havePeers } from '../helpers/peers.js';
import { buildAccountingRequest, buildStatusServer } from '../helpers/radius-packets.js';
import { RADSEC_SECRET, radsecClient, radsecStop, useRadsecTransport } from '../helpers/radsec-harness.js';

/** The packet with `extra` octets appended, its Length and Request Authenticator made right again: only the attributes are wrong. */
function withTrailingOctets(packet: Buffer, extra: number[]): Buffer {
  const out = Buffer.concat([packet, Buffer.from(extra)]);
  out.writeUInt16BE(out.length, 2);
  return signRequest(out);
}

/** RFC 2866 §3: the Request Authenticator computed over the packet as it now is. */
function signRequest(packet: Buffer): Buffer {
  packet.fill(0, 4, 20);
  createHash('md5').update(packet).update(RADSEC_SECRET).digest().copy(packet, 4);
  return packet;
}

/** A Stop whose Message-Authenticator is wrong while its Request Authenticator is right. */
function wrongMessageAuthenticator(identifier: number): Buffer {
  const packet = buildAccountingRequest({ identifier, secret: RADSEC_SECRET, messageAuthenticator: true, attributes: { 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': '10.64.0.9' } });
  createHmac('md5', 'not the secret').update('x').digest().copy(packet, packet.length - 16);
  return signRequest(packet);
}

const closing: [string, () => Buffer, PacketOutcome, RegExp][] = [
  ['a Stop signed with another secret', () => radsecStop(80, 's80', 'wrong secret'), 'bad_authenticator', /Request Authenticator does not match/],
  ['a Stop whose Message-Authenticator fails validation', () => wrongMessageAuthenticator(81), 'bad_authenticator', /Message-Authenticator does not match/],
  ['an attribute of length 0', () => withTrailingOctets(radsecStop(82), [44, 0]), 'malformed', /has length 0, below 2/],
  ['an attribute of length 1', () => withTrailingOctets(radsecStop(83), [44, 1]), 'malformed', /has length 1, below 2/],
  ['attributes that do not exactly fill the packet', () => withTrailingOctets(radsecStop(84), [44]), 'malformed', /no room for its type and length/],
  ['a Status-Server without Message-Authenticator', () => buildStatusServer({ identifier: 85, secret: RADSEC_SECRET, messageAuthenticator: false }), 'malformed', /without Message-Authenticator/],
];

describe.runIf(havePeers('openssl'))('RadSec and RFC 6613 §2.6.4', () => {
  const { start, open, stillAnswers } = useRadsecTransport();

  it.each(closing)('%s is discarded and closes its connection, and another connection keeps working', async (_name, build, outcome, reason) => {
    const { port, outcomes, requests, notices } = await start();
    const good = await open(port);
    const bad = await open(port);
    // A valid Stop right behind it in the same write is never handled: the connection is gone.
    await bad.write(Buffer.concat([build(), radsecStop(90, 'behind-the-bad-one')]));
    await bad.waitForClose();
    expect(bad.answers).toEqual([]);
    expect(outcomes).toEqual([expect.objectContaining({ outcome, transport: 'tls', client: 'proxy1', reason: expect.stringMatching(reason) })]);
    expect(notices).toEqual([expect.stringMatching(/^RadSec connection closed: .+ \(RFC 6613 §2\.6\.4\)$/)]);
    expect(requests).toEqual([]);
    await stillAnswers(good, 91);
  });

  it.each([
    ['an invalid Code (Access-Request, 1)', 1],
    ['an Accounting-Response that answers no request of ours', 5],
    ['an unassigned Code (42)', 42],
  ])('%s is discarded and its connection stays open', async (_name, code) => {
    const { port, outcomes, notices } = await start();
    const connection = await open(port);
    await connection.write(buildAccountingRequest({ identifier: 92, code, secret: RADSEC_SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Framed-IP-Address': '10.64.0.9' } }));
    // The Stop after it on the same connection is answered: the discarded packet was handled and the connection kept.
    await stillAnswers(connection, 93);
    expect(connection.closed()).toBe(false);
    expect(outcomes.map((o) => o.outcome)).toEqual(['malformed', 'accepted']);
    expect(outcomes[0]!.reason).toMatch(new RegExp(`^code ${code} is neither`));
    expect(connection.answers).toHaveLength(1);
    expect(notices).toEqual([]);
  });

  it('keeps the connection after a retransmission answered from the duplicate cache and after a Status-Server', async () => {
    const { port, outcomes } = await start();
    const connection = await open(port);
    const request = radsecStop(94);
    await connection.write(request);
    await connection.waitForAnswers(1);
    await connection.write(Buffer.concat([request, buildStatusServer({ identifier: 95, secret: RADSEC_SECRET })]));
    await connection.waitForAnswers(3);
    await stillAnswers(connection, 96);
    expect(outcomes.map((o) => o.outcome)).toEqual(['accepted', 'duplicate', 'status_server', 'accepted']);
  });
});

describe('which handler outcomes close a RadSec connection', () => {
  const stop = radsecStop(97);

  it.each([
    ['bad_authenticator', stop, 'an authenticator failed validation'],
    ['unknown_client', stop, 'the packet is from an unknown client'],
    ['malformed', withTrailingOctets(radsecStop(98), [44, 1]), 'the packet is malformed (attribute 44 at octet 37 has length 1, below 2)'],
  ] as const)('%s closes it', (outcome, packet, why) => {
    expect(closingDiscard(outcome, packet)).toBe(why);
  });

  it.each([undefined, 'accepted', 'duplicate', 'in_progress', 'status_server', 'not_acknowledged', 'bad_certificate', 'too_many_connections'] as const)('%s keeps it', (outcome) => {
    expect(closingDiscard(outcome, stop)).toBeUndefined();
  });

  it('keeps it for a well-formed Accounting-Request the handler failed on by its own error', () => {
    expect(closingDiscard('malformed', stop)).toBeUndefined();
  });
});

describe('the outcome the request handler gives its transport at once', () => {
  const client = radsecClient('proxy1');
  const handler = createRequestHandler({ clients: () => [client], onAccounting: () => Promise.resolve() });
  const source = { transport: 'tls', address: '127.0.0.1', port: 2083, client } as const;
  const ignore = (): void => undefined;

  // The outcome goes second: the test's name is made of the first two, and a packet's random
  // authenticator in it would make a new test name on every run (and Stryker re-test its mutants).
  it.each([
    ['a wrong secret', 'bad_authenticator', radsecStop(99, 's99', 'wrong secret')],
    ['an attribute of length 1', 'malformed', withTrailingOctets(radsecStop(100), [44, 1])],
    ['an invalid Code', 'malformed', buildAccountingRequest({ identifier: 101, code: 1, secret: RADSEC_SECRET })],
    ['a Status-Server', 'status_server', buildStatusServer({ identifier: 102, secret: RADSEC_SECRET })],
  ] as const)('for %s is %s', (_name, outcome, packet) => {
    expect(handler.receive(packet, source, ignore)).toBe(outcome);
  });

  it('is nothing for a request handed over, whose outcome comes when it settles, and a duplicate while it is in progress', () => {
    const request = radsecStop(103);
    expect(handler.receive(request, source, ignore)).toBeUndefined();
    expect(handler.receive(request, source, ignore)).toBe('in_progress');
  });
});
