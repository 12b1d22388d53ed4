/** TSIG (RFC 8945): request signatures, checked against independent HMACs and the real nsupdate, and response verification. */
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TSIG_ALGORITHMS, tsigKey, type TsigAlgorithm, type TsigKey } from '../../src/backends/dns-update/keyfile.js';
import { RR_TYPE, buildDeleteUpdate, encodeName } from '../../src/backends/dns-update/message.js';
import { parseMessage } from '../../src/backends/dns-update/response.js';
import { judgeAnswer } from '../../src/backends/dns-update/outcome.js';
import { TSIG_ERROR, requestMacOf, signTsig, tsigErrorName, tsigMacLength, verifyTsigResponse } from '../../src/backends/dns-update/tsig.js';
import { executable, havePeers, tempDir } from '../helpers/peers.js';

const ZONE = 'rbl.example.net';
const TIME = 1_700_000_000;
const ALGORITHMS = Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[];

function keyFor(algorithm: TsigAlgorithm, name = 'unlist-key'): TsigKey {
  // A secret derived from the algorithm so each key differs; its length does not matter to HMAC.
  return tsigKey(name, algorithm, createHash('sha256').update(algorithm).digest('base64'), 'test');
}

function update(id = 0x1234): Buffer {
  return buildDeleteUpdate({ id, zone: ZONE, names: [`2.0.64.10.${ZONE}`], types: [RR_TYPE.A, RR_TYPE.TXT] });
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function u48(value: number): Buffer {
  const out = Buffer.alloc(6);
  out.writeUIntBE(value, 0, 6);
  return out;
}

/** The TSIG variables of RFC 8945 §4.3.3, written out field by field. */
function variables(key: TsigKey, time: number, fudge: number, error = 0, other: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeName(key.name), u16(255), Buffer.alloc(4), encodeName(key.algorithm), u48(time), u16(fudge), u16(error), u16(other.length), other]);
}

/** A server's answer to a signed request: same ID, QR set, zone echoed, signed per RFC 8945 §5.3 unless told otherwise. */
function answer(request: Buffer, key: TsigKey, options: { rcode?: number; error?: number; unsigned?: boolean; time?: number; tamper?: boolean; macLength?: number; other?: Buffer } = {}): Buffer {
  const zoneEnd = 12 + encodeName(ZONE).length + 4;
  const body = Buffer.from(request.subarray(0, zoneEnd));
  body.writeUInt16BE(0x8000 | (5 << 11) | (options.rcode ?? 0), 2);
  body.writeUInt16BE(0, 8);
  body.writeUInt16BE(0, 10);
  const time = options.time ?? TIME;
  const error = options.error ?? 0;
  const requestMac = requestMacOf(request, key);
  let mac = options.unsigned
    ? Buffer.alloc(0)
    : createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret).update(Buffer.concat([u16(requestMac.length), requestMac, body, variables(key, time, 300, error, options.other)])).digest();
  if (options.macLength !== undefined) mac = mac.subarray(0, options.macLength);
  const rdata = Buffer.concat([encodeName(key.algorithm), u48(time), u16(300), u16(mac.length), mac, body.subarray(0, 2), u16(error), u16(options.other?.length ?? 0), options.other ?? Buffer.alloc(0)]);
  const tsig = Buffer.concat([encodeName(key.name), u16(RR_TYPE.TSIG), u16(255), Buffer.alloc(4), u16(rdata.length), rdata]);
  const out = Buffer.concat([body, tsig]);
  out.writeUInt16BE(1, 10);
  if (options.tamper) out[zoneEnd - 6]! ^= 0x20; // "net" becomes "neT" in the zone name
  return out;
}

describe('signTsig', () => {
  test.each(ALGORITHMS)('signs with %s: the MAC is the HMAC of the message and the TSIG variables', (algorithm) => {
    const key = keyFor(algorithm);
    const message = update();
    const signed = signTsig(message, key, { time: TIME, fudge: 300 });
    const expectedMac = createHmac(TSIG_ALGORITHMS[algorithm], key.secret).update(Buffer.concat([message, variables(key, TIME, 300)])).digest();
    expect(expectedMac.length).toBe(tsigMacLength(key));
    const rdata = Buffer.concat([encodeName(key.algorithm), u48(TIME), u16(300), u16(expectedMac.length), expectedMac, u16(0x1234), u16(0), u16(0)]);
    const tsigRecord = Buffer.concat([encodeName('unlist-key'), u16(250), u16(255), Buffer.alloc(4), u16(rdata.length), rdata]);
    const expected = Buffer.concat([message, tsigRecord]);
    expected.writeUInt16BE(1, 10);
    expect(signed.toString('hex')).toBe(expected.toString('hex'));
    expect(requestMacOf(signed, key)).toEqual(expectedMac);
  });

  test('matches a published value: HMAC-SHA256 over a fixed message and key', () => {
    // Fixed inputs so a change in the wire layout shows up as a different MAC.
    const key = tsigKey('unlist-key', 'hmac-sha256', Buffer.alloc(32, 0x42).toString('base64'), 'test');
    const signed = signTsig(update(1), key, { time: TIME, fudge: 300 });
    const parsed = parseMessage(signed);
    expect(parsed.header.arcount).toBe(1);
    expect(parsed.tsig).toMatchObject({ keyName: 'unlist-key', algorithm: 'hmac-sha256', timeSigned: TIME, fudge: 300, originalId: 1, error: 0 });
    expect(parsed.tsig?.mac.toString('hex')).toBe(
      createHmac('sha256', Buffer.alloc(32, 0x42)).update(Buffer.concat([update(1), variables(key, TIME, 300)])).digest('hex'),
    );
  });

  test('signs with the current time and a fudge of 300 s unless told otherwise', () => {
    const key = keyFor('hmac-sha256');
    const before = Math.floor(Date.now() / 1000);
    const tsig = parseMessage(signTsig(update(), key)).tsig!;
    const after = Math.floor(Date.now() / 1000);
    expect(tsig.timeSigned).toBeGreaterThanOrEqual(before);
    expect(tsig.timeSigned).toBeLessThanOrEqual(after);
    expect(tsig.fudge).toBe(300);
    expect(tsig.originalId).toBe(0x1234);
  });

  test('checks an answer against the current time unless told otherwise', () => {
    const key = keyFor('hmac-sha256');
    const request = signTsig(update(), key, { time: TIME });
    const now = Math.floor(Date.now() / 1000);
    expect(verifyTsigResponse(answer(request, key, { time: now }), requestMacOf(request, key), key).valid).toBe(true);
    expect(verifyTsigResponse(answer(request, key, { time: now - 3600 }), requestMacOf(request, key), key).problem).toBe('time');
  });

  test('signs over the original ID when it differs from the message ID', () => {
    const key = keyFor('hmac-sha256');
    const signed = signTsig(update(0x1111), key, { time: TIME, originalId: 0x2222 });
    const mac = createHmac('sha256', key.secret).update(Buffer.concat([update(0x2222), variables(key, TIME, 300)])).digest();
    expect(requestMacOf(signed, key)).toEqual(mac);
    expect(signed.readUInt16BE(0)).toBe(0x1111);
    expect(parseMessage(signed).tsig?.originalId).toBe(0x2222);
  });
});

describe.skipIf(!havePeers('nsupdate'))('signTsig against the real nsupdate', () => {
  // Made when the tests run, not when the file is collected, so a skipped or filtered run leaves no folder behind.
  let temp: { dir: string; remove: () => void };
  beforeAll(() => {
    temp = tempDir('tsig');
  });
  afterAll(() => temp.remove());

  test.each(['hmac-sha256', 'hmac-sha1', 'hmac-sha512', 'hmac-md5'])('produces the same bytes as nsupdate -k for an %s key', async (algorithm) => {
    const secret = createHash('sha512').update(algorithm).digest().subarray(0, 32).toString('base64');
    const keyFile = join(temp.dir, `${algorithm}.key`);
    writeFileSync(keyFile, `key "unlist-key" {\n\talgorithm ${algorithm};\n\tsecret "${secret}";\n};\n`);
    const key = tsigKey('unlist-key', algorithm, secret, keyFile);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = socket.address().port;
    const captured = new Promise<Buffer>((resolve) => socket.once('message', (message) => resolve(message)));
    const nsupdate = spawn(executable('nsupdate'), ['-k', keyFile, '-t', '3'], { stdio: ['pipe', 'ignore', 'ignore'] });
    nsupdate.stdin.end(`server 127.0.0.1 ${port}\nzone ${ZONE}.\nupdate delete 2.0.64.10.${ZONE}. A\nupdate delete 2.0.64.10.${ZONE}. TXT\nsend\n`);
    try {
      const request = await captured;
      const tsig = parseMessage(request).tsig!;
      expect(tsig.keyName).toBe('unlist-key');
      // Re-sign what nsupdate signed, with its time and fudge: the bytes must be identical.
      const unsigned = Buffer.from(request.subarray(0, tsig.offset));
      unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
      expect(signTsig(unsigned, key, { time: tsig.timeSigned, fudge: tsig.fudge }).toString('hex')).toBe(request.toString('hex'));
      // And our encoder writes the same update nsupdate did (nsupdate does not compress the first owner name).
      const ours = buildDeleteUpdate({ id: request.readUInt16BE(0), zone: ZONE, names: [`2.0.64.10.${ZONE}`], types: [RR_TYPE.A, RR_TYPE.TXT] });
      const records = (message: Buffer) => parseMessage(message).authorities.map(({ name, type, class: rrClass, ttl, rdata }) => [name, type, rrClass, ttl, rdata.length]);
      expect(records(ours)).toEqual(records(unsigned));
      expect(ours.subarray(0, 12 + encodeName(ZONE).length + 4)).toEqual(unsigned.subarray(0, 12 + encodeName(ZONE).length + 4));
    } finally {
      nsupdate.kill();
      socket.close();
    }
  });
});

describe('verifyTsigResponse', () => {
  test.each(ALGORITHMS)('accepts a correctly signed %s answer', (algorithm) => {
    const key = keyFor(algorithm);
    const request = signTsig(update(), key, { time: TIME });
    expect(verifyTsigResponse(answer(request, key), requestMacOf(request, key), key, { now: TIME + 1 })).toEqual({
      valid: true,
      tsigError: 0,
      problem: undefined,
      serverTime: TIME,
    });
  });

  const key = keyFor('hmac-sha256');
  const request = signTsig(update(), key, { time: TIME });
  const mac = requestMacOf(request, key);
  const otherRequest = signTsig(update(0x9999), key, { time: TIME });

  test.each([
    ['a tampered answer', answer(request, key, { tamper: true }), mac, 'mac'],
    ['an answer signed for another request', answer(otherRequest, key), mac, 'mac'],
    ['an answer signed with another secret', answer(request, { ...key, secret: Buffer.alloc(32, 9) }), mac, 'mac'],
    ['an answer signed by another key name', answer(request, { ...key, name: 'other-key' }), mac, 'key'],
    ['an answer signed with another algorithm', answer(request, keyFor('hmac-sha1')), mac, 'algorithm'],
    ['an answer without a TSIG record', answer(request, key).subarray(0, 12 + encodeName(ZONE).length + 4), mac, 'unsigned'],
    ['an answer whose MAC is cut to 8 bytes', answer(request, key, { macLength: 8 }), mac, 'truncated'],
    ['an answer signed an hour ago', answer(request, key, { time: TIME - 3600 }), mac, 'time'],
  ])('rejects %s', (_case, response, requestMac, problem) => {
    const header = Buffer.from(response);
    if (problem === 'unsigned') header.writeUInt16BE(0, 10);
    const result = verifyTsigResponse(header, requestMac, key, { now: TIME });
    expect(result.valid).toBe(false);
    expect(result.problem).toBe(problem);
  });

  test('rejects a correct MAC truncated to half the digest, which RFC 8945 §5.2.2.1 would allow by agreement only', () => {
    expect(verifyTsigResponse(answer(request, key, { macLength: 16 }), mac, key, { now: TIME })).toMatchObject({ valid: false, problem: 'truncated' });
    expect(verifyTsigResponse(answer(request, key, { macLength: 31 }), mac, key, { now: TIME })).toMatchObject({ valid: false, problem: 'truncated' });
  });

  test.each([
    ['BADSIG', TSIG_ERROR.BADSIG],
    ['BADKEY', TSIG_ERROR.BADKEY],
  ])('reports an unsigned NOTAUTH/%s answer (RFC 8945 §5.3.2) with its TSIG error', (_name, error) => {
    const result = verifyTsigResponse(answer(request, key, { rcode: 9, error, unsigned: true }), mac, key, { now: TIME });
    expect(result).toEqual({ valid: false, tsigError: error, problem: 'unsigned', serverTime: TIME });
  });

  test.each([
    ['exactly the fudge behind', TIME + 300, true],
    ['one second past the fudge behind', TIME + 301, false],
    ['exactly the fudge ahead', TIME - 300, true],
    ['one second past the fudge ahead', TIME - 301, false],
  ])('checks the time against the fudge of 300 s: %s', (_case, now, valid) => {
    const result = verifyTsigResponse(answer(request, key), mac, key, { now });
    expect(result).toEqual({ valid, tsigError: 0, problem: valid ? undefined : 'time', serverTime: TIME });
  });

  test.each([
    ['hmac-sha256', 15, 'truncated'],
    ['hmac-sha256', 16, 'truncated'],
    ['hmac-sha256', 31, 'truncated'],
    ['hmac-sha256', 32, undefined],
    ['hmac-md5.sig-alg.reg.int', 10, 'truncated'],
    ['hmac-md5.sig-alg.reg.int', 16, undefined],
    ['hmac-sha512', 32, 'truncated'],
    ['hmac-sha512', 63, 'truncated'],
    ['hmac-sha512', 64, undefined],
  ] as const)('takes a %s MAC of %i octets as %s: only the full digest is believed, truncation (RFC 8945 §5.2.2.1) is by agreement only', (algorithm, length, problem) => {
    const algorithmKey = keyFor(algorithm);
    const signedRequest = signTsig(update(), algorithmKey, { time: TIME });
    const result = verifyTsigResponse(answer(signedRequest, algorithmKey, { macLength: length }), requestMacOf(signedRequest, algorithmKey), algorithmKey, { now: TIME });
    expect(result.problem).toBe(problem);
    expect(result.valid).toBe(problem === undefined);
  });

  test('takes a MAC longer than the digest as truncated, not as signed', () => {
    const response = answer(request, key);
    const parsed = parseMessage(response);
    const longer = { ...parsed, tsig: { ...parsed.tsig!, mac: Buffer.concat([parsed.tsig!.mac, Buffer.alloc(1)]) } };
    expect(verifyTsigResponse(response, mac, key, { now: TIME, parsed: longer }).problem).toBe('truncated');
  });

  test('accepts an answer naming the algorithm hmac-md5 for a hmac-md5.sig-alg.reg.int key', () => {
    const md5 = keyFor('hmac-md5.sig-alg.reg.int');
    const signedRequest = signTsig(update(), md5, { time: TIME });
    const response = answer(signedRequest, md5);
    const parsed = parseMessage(response);
    const shortName = { ...parsed, tsig: { ...parsed.tsig!, algorithm: 'hmac-md5' } };
    expect(verifyTsigResponse(response, requestMacOf(signedRequest, md5), md5, { now: TIME, parsed: shortName }).valid).toBe(true);
    const otherName = { ...parsed, tsig: { ...parsed.tsig!, algorithm: 'hmac-md4' } };
    expect(verifyTsigResponse(response, requestMacOf(signedRequest, md5), md5, { now: TIME, parsed: otherName }).problem).toBe('algorithm');
  });

  test('names the TSIG errors it knows, and gives the number of others', () => {
    expect([16, 17, 18, 22, 19].map(tsigErrorName)).toEqual(['BADSIG', 'BADKEY', 'BADTIME', 'BADTRUNC', '19']);
  });

  test('takes a signed BADTIME answer as valid however far its clock is from ours (RFC 8945 §5.2.3)', () => {
    const result = verifyTsigResponse(answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTIME, time: TIME - 7200, other: u48(TIME - 7200) }), mac, key, { now: TIME });
    expect(result).toEqual({ valid: true, tsigError: TSIG_ERROR.BADTIME, problem: undefined, serverTime: TIME - 7200 });
  });

  test('reads the server clock from Time Signed when the answer is not BADTIME, whatever Other Data holds', () => {
    const result = verifyTsigResponse(answer(request, key, { other: u48(TIME + 99) }), mac, key, { now: TIME });
    expect(result.serverTime).toBe(TIME);
  });

  test('reads the server clock from a BADTIME answer only when Other Data holds 6 octets', () => {
    const result = verifyTsigResponse(answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTIME, other: Buffer.alloc(4, 1) }), mac, key, { now: TIME });
    expect(result.serverTime).toBe(TIME);
  });

  test('reports a signed BADTIME answer as valid with the server clock from Other Data (RFC 8945 §5.2.3)', () => {
    const result = verifyTsigResponse(answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTIME, time: TIME - 7200, other: u48(TIME) }), mac, key, { now: TIME - 7200 });
    expect(result).toEqual({ valid: true, tsigError: TSIG_ERROR.BADTIME, problem: undefined, serverTime: TIME });
  });
});

describe('judgeAnswer: which answers may be believed (RFC 8945 §5.3, §5.4.1)', () => {
  const key = keyFor('hmac-sha256');
  const now = Math.floor(Date.now() / 1000);
  const request = signTsig(update(), key, { time: now });
  const mac = requestMacOf(request, key);
  const withoutTsig = (response: Buffer): Buffer => {
    const cut = Buffer.from(response.subarray(0, 12 + encodeName(ZONE).length + 4));
    cut.writeUInt16BE(0, 10);
    return cut;
  };
  const stranger = { ...key, secret: Buffer.alloc(32, 7) };

  test.each([
    ['a signed NOERROR', true, answer(request, key, { time: now })],
    ['a signed REFUSED', true, answer(request, key, { rcode: 5, time: now })],
    ['an unsigned NOTAUTH/BADSIG with an empty MAC (§5.3.2)', true, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADSIG, unsigned: true, time: now })],
    ['an unsigned NOTAUTH/BADKEY with an empty MAC', true, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADKEY, unsigned: true, time: now })],
    ['an unsigned NOTAUTH/BADTIME with an empty MAC', true, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTIME, unsigned: true, time: now })],
    ['an unsigned REFUSED', false, withoutTsig(answer(request, key, { rcode: 5, time: now }))],
    ['an unsigned FORMERR', false, withoutTsig(answer(request, key, { rcode: 1, time: now }))],
    ['an unsigned NOTZONE', false, withoutTsig(answer(request, key, { rcode: 10, time: now }))],
    ['an unsigned NOTAUTH without a TSIG record', false, withoutTsig(answer(request, key, { rcode: 9, time: now }))],
    ['a NOERROR with a wrong MAC', false, answer(request, stranger, { time: now })],
    ['a NOERROR with a correct MAC cut to half', false, answer(request, key, { time: now, macLength: 16 })],
    ['a NOTAUTH/BADSIG with a MAC', false, answer(request, stranger, { rcode: 9, error: TSIG_ERROR.BADSIG, time: now })],
    ['a NOTAUTH/BADKEY with a MAC, even a correct one', false, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADKEY, time: now })],
    ['a REFUSED with an empty MAC and TSIG error BADSIG', false, answer(request, key, { rcode: 5, error: TSIG_ERROR.BADSIG, unsigned: true, time: now })],
    ['an unsigned NOTAUTH/BADTRUNC', false, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTRUNC, unsigned: true, time: now })],
    ['a malformed answer', false, Buffer.from([0, 1, 0x80, 0])],
    ['a NOTAUTH/BADTIME with a wrong MAC (only an empty MAC may go unchecked)', false, answer(request, stranger, { rcode: 9, error: TSIG_ERROR.BADTIME, time: now })],
    ['a signed NOTAUTH/BADTIME', true, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTIME, time: now - 3600 })],
    ['a REFUSED with an empty MAC and TSIG error BADTIME', false, answer(request, key, { rcode: 5, error: TSIG_ERROR.BADTIME, unsigned: true, time: now })],
    ['a NOERROR/BADSIG with a correct MAC', false, answer(request, key, { error: TSIG_ERROR.BADSIG, time: now })],
    ['a NOTAUTH/BADTRUNC with a correct MAC', true, answer(request, key, { rcode: 9, error: TSIG_ERROR.BADTRUNC, time: now })],
  ] as const)('%s: believed %s', (_case, believed, response) => {
    const judged = judgeAnswer(response, mac, key);
    expect('reason' in judged ? judged.reason : 'believed').toEqual(believed ? 'believed' : expect.any(String));
    expect('reason' in judged).toBe(!believed);
  });

  test('names what it did not believe', () => {
    expect(judgeAnswer(withoutTsig(answer(request, key, { rcode: 5, time: now })), mac, key)).toEqual({ reason: 'a REFUSED answer not signed' });
    expect(judgeAnswer(answer(request, stranger, { time: now }), mac, key)).toEqual({ reason: 'a NOERROR answer signed with a MAC that does not match' });
    expect(judgeAnswer(Buffer.from([0, 1, 0x80, 0]), mac, key)).toEqual({ reason: 'a malformed answer (malformed DNS response: 4 bytes, shorter than a header)' });
    expect(judgeAnswer(answer(request, key, { error: TSIG_ERROR.BADKEY, time: now }), mac, key)).toEqual({
      reason: 'a NOERROR/BADKEY answer, which RFC 8945 §5.3.2 allows only as a NOTAUTH with an empty MAC',
    });
    expect(judgeAnswer(answer(request, key, { rcode: 5, error: TSIG_ERROR.BADSIG, unsigned: true, time: now }), mac, key)).toEqual({
      reason: 'a REFUSED/BADSIG answer, which RFC 8945 §5.3.2 allows only as a NOTAUTH with an empty MAC',
    });
    expect(judgeAnswer(answer(request, stranger, { rcode: 9, error: TSIG_ERROR.BADTIME, time: now }), mac, key)).toEqual({
      reason: 'a NOTAUTH/BADTIME answer signed with a MAC that does not match',
    });
    expect(judgeAnswer(answer(request, key, { rcode: 12, time: now - 3600 }), mac, key)).toEqual({ reason: 'a RCODE 12 answer signed at a time outside the fudge' });
    expect(judgeAnswer(answer(request, key, { time: now, macLength: 31 }), mac, key)).toEqual({ reason: 'a NOERROR answer signed with a truncated MAC' });
  });

  test('hands back the parsed answer and its verification when it believes it', () => {
    const believed = judgeAnswer(answer(request, key, { rcode: 5, time: now }), mac, key);
    expect(believed).toMatchObject({ message: { header: { rcode: 5, id: 0x1234 } }, verification: { valid: true, tsigError: 0, serverTime: now } });
    const rejection = judgeAnswer(answer(request, key, { rcode: 9, error: TSIG_ERROR.BADKEY, unsigned: true, time: now }), mac, key);
    expect(rejection).toMatchObject({ message: { header: { rcode: 9 } }, verification: { valid: false, tsigError: TSIG_ERROR.BADKEY, problem: 'unsigned' } });
  });
});
