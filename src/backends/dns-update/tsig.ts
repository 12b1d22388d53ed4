/**
 * TSIG (RFC 8945): signing requests and verifying the server's signed answer with the shared key.
 * Pure code over node:crypto HMAC, no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS_ANY, RR_TYPE, encodeName } from './message.js';
import { TSIG_ALGORITHMS, type TsigAlgorithm, type TsigKey } from './keyfile.js';
import { parseMessage, type DnsMessage, type TsigRecord } from './response.js';

/** TSIG error codes (RFC 8945 §3, the TSIG RR's Error field). */
export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** The name of a TSIG error code for messages ("BADSIG"), or its number. */
export function tsigErrorName(error: number): string {
  for (const [name, value] of Object.entries(TSIG_ERROR)) if (value === error) return name;
  return String(error);
}

/** RFC 8945 §10: 300 seconds of clock difference is the recommended fudge. */
export const DEFAULT_FUDGE = 300;

const DIGEST_LENGTH: Readonly<Record<TsigAlgorithm, number>> = {
  'hmac-md5.sig-alg.reg.int': 16,
  'hmac-sha1': 20,
  'hmac-sha224': 28,
  'hmac-sha256': 32,
  'hmac-sha384': 48,
  'hmac-sha512': 64,
};

interface KeyWire {
  readonly name: Buffer;
  readonly algorithm: Buffer;
}

const wireCache = new WeakMap<TsigKey, KeyWire>();

/** The key and algorithm names in canonical wire form (RFC 8945 §4.3.3: lower case, uncompressed). */
function keyWire(key: TsigKey): KeyWire {
  let wire = wireCache.get(key);
  if (!wire) {
    wire = { name: encodeName(key.name), algorithm: encodeName(key.algorithm) };
    wireCache.set(key, wire);
  }
  return wire;
}

/** The number of MAC bytes a full (untruncated) signature with this key has. */
export function tsigMacLength(key: TsigKey): number {
  return DIGEST_LENGTH[key.algorithm];
}

export interface SignOptions {
  /** Seconds since the epoch; defaults to now. */
  readonly time?: number;
  readonly fudge?: number;
  /** The ID the MAC covers; defaults to the message's own ID (RFC 8945 §4.2 Original ID). */
  readonly originalId?: number;
}

/** The TSIG variables (RFC 8945 §4.3.3) that follow the message in the digest. */
function tsigVariables(wire: KeyWire, time: number, fudge: number, error: number, otherData: Buffer): Buffer {
  const out = Buffer.alloc(wire.name.length + 2 + 4 + wire.algorithm.length + 6 + 2 + 2 + 2 + otherData.length);
  let at = wire.name.copy(out, 0);
  at = out.writeUInt16BE(CLASS_ANY, at);
  at = out.writeUInt32BE(0, at); // TTL
  at += wire.algorithm.copy(out, at);
  at = out.writeUIntBE(time, at, 6);
  at = out.writeUInt16BE(fudge, at);
  at = out.writeUInt16BE(error, at);
  at = out.writeUInt16BE(otherData.length, at);
  otherData.copy(out, at);
  return out;
}

function hmac(key: TsigKey): ReturnType<typeof createHmac> {
  return createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret);
}

/** Appends a TSIG RR signing the whole message (RFC 8945 §5.1) and increments ARCOUNT; returns the signed message. */
export function signTsig(message: Buffer, key: TsigKey, options: SignOptions = {}): Buffer {
  const wire = keyWire(key);
  const time = options.time ?? Math.floor(Date.now() / 1000);
  const fudge = options.fudge ?? DEFAULT_FUDGE;
  const id = message.readUInt16BE(0);
  const originalId = options.originalId ?? id;
  const covered = originalId === id ? message : withHeader(message, originalId, message.readUInt16BE(10));
  const mac = hmac(key).update(covered).update(tsigVariables(wire, time, fudge, 0, Buffer.alloc(0))).digest();

  const rdataLength = wire.algorithm.length + 6 + 2 + 2 + mac.length + 2 + 2 + 2;
  const out = Buffer.allocUnsafe(message.length + wire.name.length + 10 + rdataLength);
  message.copy(out, 0);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  let at = message.length;
  at += wire.name.copy(out, at);
  at = out.writeUInt16BE(RR_TYPE.TSIG, at);
  at = out.writeUInt16BE(CLASS_ANY, at);
  at = out.writeUInt32BE(0, at);
  at = out.writeUInt16BE(rdataLength, at);
  at += wire.algorithm.copy(out, at);
  at = out.writeUIntBE(time, at, 6);
  at = out.writeUInt16BE(fudge, at);
  at = out.writeUInt16BE(mac.length, at);
  at += mac.copy(out, at);
  at = out.writeUInt16BE(originalId, at);
  at = out.writeUInt16BE(0, at); // Error
  out.writeUInt16BE(0, at); // Other Len
  return out;
}

/** The MAC of a message signTsig produced with this key (what the response MAC covers first). */
export function requestMacOf(signed: Buffer, key: TsigKey): Buffer {
  const length = tsigMacLength(key);
  // The signed message ends in MAC, Original ID, Error, Other Len (0).
  return signed.subarray(signed.length - 6 - length, signed.length - 6);
}

/** A copy of the first bytes of a message with another ID and ARCOUNT. */
function withHeader(message: Buffer, id: number, arcount: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  copy.writeUInt16BE(arcount, 10);
  return copy;
}

export type TsigProblem = 'unsigned' | 'key' | 'algorithm' | 'truncated' | 'mac' | 'time';

/** The outcome of checking a response's TSIG. */
export interface TsigVerification {
  /** True when the response carries a TSIG RR by our key whose MAC and time check out. */
  readonly valid: boolean;
  /** The TSIG RR's Error field (BADSIG, BADKEY, BADTIME, BADTRUNC), 0 when none or no TSIG RR. */
  readonly tsigError: number;
  /** Why the response is not valid; undefined when it is. */
  readonly problem: TsigProblem | undefined;
  /** The server's clock (Time Signed, or Other Data of a BADTIME answer), when the response had a TSIG RR. */
  readonly serverTime: number | undefined;
}

export interface VerifyOptions {
  /** Seconds since the epoch; defaults to now. */
  readonly now?: number;
  /** The response already parsed, to save parsing it twice. */
  readonly parsed?: DnsMessage;
}

function result(tsig: TsigRecord | undefined, problem: TsigProblem | undefined): TsigVerification {
  return { valid: problem === undefined, tsigError: tsig?.error ?? 0, problem, serverTime: tsig && serverClock(tsig) };
}

/** A BADTIME answer echoes our Time Signed and carries the server's clock in Other Data (RFC 8945 §5.2.3). */
function serverClock(tsig: TsigRecord): number {
  return tsig.error === TSIG_ERROR.BADTIME && tsig.otherData.length === 6 ? tsig.otherData.readUIntBE(0, 6) : tsig.timeSigned;
}

/**
 * Checks the TSIG of a response to a request signed with `requestMac` (RFC 8945 §5.3): the MAC
 * covers the request MAC (length and bytes), the response without its TSIG RR, with the original
 * ID and ARCOUNT less one, then the TSIG variables. Only a full-length MAC is accepted. A BADKEY or
 * BADSIG answer comes back with an empty MAC (§5.3.2); it is reported as not valid ('unsigned'), with
 * its tsigError, for the caller to judge (outcome.ts).
 */
export function verifyTsigResponse(response: Buffer, requestMac: Buffer, key: TsigKey, options: VerifyOptions = {}): TsigVerification {
  const tsig = (options.parsed ?? parseMessage(response)).tsig;
  if (!tsig) return result(undefined, 'unsigned');
  if (tsig.keyName !== key.name) return result(tsig, 'key');
  const algorithm = tsig.algorithm === 'hmac-md5' ? 'hmac-md5.sig-alg.reg.int' : tsig.algorithm;
  if (algorithm !== key.algorithm) return result(tsig, 'algorithm');
  if (tsig.mac.length === 0) return result(tsig, 'unsigned');
  // RFC 8945 §5.2.2.1 lets a MAC be truncated, but only by agreement ("the RECOMMENDED default is
  // not to truncate"), and we never ask for it: our requests carry full MACs, and §5.3 answers a
  // request with a MAC of the same length. A shorter MAC is fewer bits for a forger to guess.
  if (tsig.mac.length !== tsigMacLength(key)) return result(tsig, 'truncated');

  const wire = keyWire(key);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(requestMac.length, 0);
  const body = withHeader(response.subarray(0, tsig.offset), tsig.originalId, response.readUInt16BE(10) - 1);
  const expected = hmac(key)
    .update(prefix)
    .update(requestMac)
    .update(body)
    .update(tsigVariables(wire, tsig.timeSigned, tsig.fudge, tsig.error, tsig.otherData))
    .digest()
    .subarray(0, tsig.mac.length);
  if (!timingSafeEqual(expected, tsig.mac)) return result(tsig, 'mac');
  // RFC 8945 §5.4.1: the client checks the time as the server does.
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - tsig.timeSigned) > tsig.fudge && tsig.error !== TSIG_ERROR.BADTIME) return result(tsig, 'time');
  return result(tsig, undefined);
}
