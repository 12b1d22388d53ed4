/**
 * Raw RADIUS packets for tests: correct Accounting-Requests and Status-Servers built octet by
 * octet (RFC 2865 §3, RFC 2866 §3, RFC 3579 §3.2, RFC 5997 §3), a one-shot UDP client, and an
 * Accounting-Response check written independently of src/radius so each cross-checks the other.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parseIPv4Bytes, parseIPv6Bytes } from '../../src/net/address.js';

/** Acct-Status-Type by name (RFC 2866 §5.1) or number. */
export type AcctStatusType = 'Start' | 'Stop' | 'Interim-Update' | 'Accounting-On' | 'Accounting-Off' | number;

/** The attributes tests use most, by their dictionary names; list-valued ones may repeat. */
export interface FriendlyAttributes {
  'Acct-Status-Type'?: AcctStatusType;
  'Acct-Session-Id'?: string;
  'User-Name'?: string;
  'NAS-IP-Address'?: string;
  'NAS-IPv6-Address'?: string;
  'NAS-Identifier'?: string;
  'Framed-IP-Address'?: string;
  'Framed-IPv6-Address'?: string | readonly string[];
  'Framed-IPv6-Prefix'?: string | readonly string[];
  'Delegated-IPv6-Prefix'?: string | readonly string[];
  /** Seconds since the epoch. */
  'Event-Timestamp'?: number;
}

/** One attribute: a friendly name and value, or a raw type and value octets (for Vendor-Specific, broken ones...). */
export type AttributeEntry =
  | { readonly [K in keyof FriendlyAttributes]-?: readonly [K, Exclude<FriendlyAttributes[K], undefined>] }[keyof FriendlyAttributes]
  | readonly [type: number, value: Buffer];

export interface AccountingRequestOptions {
  readonly identifier: number;
  readonly secret: string | Buffer;
  /** An object (in the order of its keys) or a list, which may mix friendly and raw entries. */
  readonly attributes?: FriendlyAttributes | readonly AttributeEntry[];
  /** The packet code; default 4 (Accounting-Request). The authenticator is computed the same way for any code. */
  readonly code?: number;
  /** Adds a Message-Authenticator (RFC 3579 §3.2), computed as FreeRADIUS does for Accounting-Request. */
  readonly messageAuthenticator?: boolean;
}

const STATUS_TYPES: Record<string, number> = { Start: 1, Stop: 2, 'Interim-Update': 3, 'Accounting-On': 7, 'Accounting-Off': 8 };
const ATTRIBUTE_TYPES: Record<keyof FriendlyAttributes, number> = {
  'User-Name': 1,
  'NAS-IP-Address': 4,
  'Framed-IP-Address': 8,
  'NAS-Identifier': 32,
  'Acct-Status-Type': 40,
  'Acct-Session-Id': 44,
  'Event-Timestamp': 55,
  'NAS-IPv6-Address': 95,
  'Framed-IPv6-Prefix': 97,
  'Delegated-IPv6-Prefix': 123,
  'Framed-IPv6-Address': 168,
};
const MESSAGE_AUTHENTICATOR = 80;
const ZERO16 = Buffer.alloc(16);

/** A correct raw Accounting-Request: Request Authenticator per RFC 2866 §3, optional Message-Authenticator. */
export function buildAccountingRequest(options: AccountingRequestOptions): Buffer {
  const secret = Buffer.from(options.secret);
  const attributes = encodeAttributes(options.attributes ?? []);
  const parts = [...attributes];
  if (options.messageAuthenticator) parts.push(Buffer.concat([Buffer.from([MESSAGE_AUTHENTICATOR, 18]), ZERO16]));
  const packet = header(options.code ?? 4, options.identifier, Buffer.concat(parts));
  if (options.messageAuthenticator) {
    // FreeRADIUS rad_sign(): HMAC-MD5 with the authenticator field zeroed, before the Request Authenticator.
    createHmac('md5', secret).update(packet).digest().copy(packet, packet.length - 16);
  }
  createHash('md5').update(packet).update(secret).digest().copy(packet, 4);
  return packet;
}

/** A Status-Server (RFC 5997): random Request Authenticator, Message-Authenticator over the whole packet. */
export function buildStatusServer(options: {
  identifier: number;
  secret: string | Buffer;
  messageAuthenticator?: boolean;
  /** Attributes before the Message-Authenticator, e.g. Proxy-States as raw [33, value] entries. */
  attributes?: readonly AttributeEntry[];
}): Buffer {
  const withMessageAuthenticator = options.messageAuthenticator ?? true;
  const attributes = encodeAttributes(options.attributes ?? []);
  const body = Buffer.concat([...attributes, ...(withMessageAuthenticator ? [Buffer.from([MESSAGE_AUTHENTICATOR, 18]), ZERO16] : [])]);
  const packet = header(12, options.identifier, body);
  randomBytes(16).copy(packet, 4);
  if (withMessageAuthenticator) {
    createHmac('md5', Buffer.from(options.secret)).update(packet).digest().copy(packet, packet.length - 16);
  }
  return packet;
}

/**
 * Whether `response` is a correct Accounting-Response to `request`: code 5, same Identifier, sane
 * Length, Response Authenticator per RFC 2866 §4, and when it carries a Message-Authenticator, that
 * HMAC-MD5 taken with the request's authenticator in place (RFC 5997 §3).
 */
export function verifyAccountingResponse(response: Buffer, request: Buffer, secret: string | Buffer): boolean {
  const key = Buffer.from(secret);
  if (response.length < 20 || response[0] !== 5 || response[1] !== request[1]) return false;
  const length = response.readUInt16BE(2);
  if (length < 20 || length > response.length) return false;
  const copy = Buffer.from(response.subarray(0, length));
  request.copy(copy, 4, 4, 20);
  const expected = createHash('md5').update(copy).update(key).digest();
  if (!expected.equals(response.subarray(4, 20))) return false;
  for (let offset = 20; offset + 2 <= length; offset += copy[offset + 1]!) {
    if (copy[offset + 1]! < 2) return false;
    if (copy[offset] !== MESSAGE_AUTHENTICATOR) continue;
    const got = Buffer.from(copy.subarray(offset + 2, offset + 18));
    ZERO16.copy(copy, offset + 2);
    if (!createHmac('md5', key).update(copy).digest().equals(got)) return false;
  }
  return true;
}

/** A Vendor-Specific value (RFC 2865 §5.26) with vendor sub-attributes in the usual format=1,1. */
export function vendorSpecific(vendorId: number, ...subAttributes: readonly (readonly [type: number, value: Buffer])[]): readonly [26, Buffer] {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(vendorId);
  const subs = subAttributes.map(([type, value]) => Buffer.concat([Buffer.from([type, value.length + 2]), value]));
  return [26, Buffer.concat([id, ...subs])];
}

/** Sends one datagram from an ephemeral port and resolves with the first answer, or undefined after timeoutMs. */
export function sendRadius(packet: Buffer, port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const finish = (answer: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('message', (message) => finish(message));
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send(packet, port, host);
  });
}

/** A NAS's UDP socket: sends from one source port and keeps every answer it gets, in arrival order. */
export interface NasSocket {
  readonly answers: readonly Buffer[];
  send(packet: Buffer): void;
  /** Resolves with the first answer carrying the request's Identifier; rejects after timeoutMs. */
  answerTo(request: Buffer, timeoutMs?: number): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * Opens a NAS socket from `source` (another loopback address plays an unknown NAS) towards
 * host:port. A later request's answer is the positive sign that the earlier ones were handled: the
 * service reads one socket in order, so once that answer is in, `answers` holds whatever it sent
 * for them.
 */
export async function openNasSocket(port: number, host = '127.0.0.1', source = isIPv6(host) ? '::1' : '127.0.0.1'): Promise<NasSocket> {
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  const answers: Buffer[] = [];
  const waiting = new Set<() => void>();
  socket.on('message', (message) => {
    answers.push(message);
    for (const wake of [...waiting]) wake();
  });
  await new Promise<void>((resolve) => socket.bind(0, source, resolve));
  return {
    answers,
    send: (packet) => socket.send(packet, port, host),
    answerTo: (request, timeoutMs = 5000) =>
      new Promise<Buffer>((resolve, reject) => {
        const check = (): void => {
          const answer = answers.find((candidate) => candidate[1] === request[1]);
          if (!answer) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve(answer);
        };
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`no answer to Identifier ${request[1]} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.add(check);
        check();
      }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * Sends an Accounting-Request from an ephemeral port on `source` (default 127.0.0.1) to 127.0.0.1:port,
 * `tries` times (default 1) `intervalMs` apart (default 5000) like a NAS retransmitting the same
 * datagram, and resolves with whether the first answer is a correct Accounting-Response.
 */
export function accountingAnswered(request: Buffer, port: number, secret: string | Buffer, options: { source?: string; tries?: number; intervalMs?: number } = {}): Promise<boolean> {
  const tries = options.tries ?? 1;
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let sent = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (answered: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const send = (): void => {
      if (sent === tries) return finish(false);
      sent++;
      socket.send(request, port, '127.0.0.1');
      timer = setTimeout(send, options.intervalMs ?? 5000);
    };
    socket.on('message', (message) => finish(verifyAccountingResponse(message, request, secret)));
    socket.bind(0, options.source ?? '127.0.0.1', send);
  });
}

function header(code: number, identifier: number, attributes: Buffer): Buffer {
  const packet = Buffer.concat([Buffer.alloc(20), attributes]);
  packet[0] = code;
  packet[1] = identifier;
  packet.writeUInt16BE(packet.length, 2);
  return packet;
}

function encodeAttributes(input: FriendlyAttributes | readonly AttributeEntry[]): Buffer[] {
  const entries: (readonly [string | number, unknown])[] = Array.isArray(input) ? [...(input as readonly AttributeEntry[])] : [];
  if (!Array.isArray(input)) {
    for (const [name, value] of Object.entries(input as FriendlyAttributes)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) entries.push([name, one]);
    }
  }
  return entries.map(([name, value]) => {
    const type = typeof name === 'number' ? name : ATTRIBUTE_TYPES[name as keyof FriendlyAttributes];
    if (type === undefined) throw new Error(`radius-packets: unknown attribute ${String(name)}`);
    const octets = typeof name === 'number' ? (value as Buffer) : encodeValue(name as keyof FriendlyAttributes, value);
    if (octets.length > 253) throw new Error(`radius-packets: ${String(name)} value of ${octets.length} octets is over 253`);
    return Buffer.concat([Buffer.from([type, octets.length + 2]), octets]);
  });
}

function encodeValue(name: keyof FriendlyAttributes, value: unknown): Buffer {
  switch (name) {
    case 'Acct-Status-Type':
    case 'Event-Timestamp': {
      const number = typeof value === 'string' ? STATUS_TYPES[value] : (value as number);
      if (number === undefined) throw new Error(`radius-packets: unknown Acct-Status-Type ${String(value)}`);
      const out = Buffer.alloc(4);
      out.writeUInt32BE(number);
      return out;
    }
    case 'NAS-IP-Address':
    case 'Framed-IP-Address':
      return ipv4(value as string);
    case 'NAS-IPv6-Address':
    case 'Framed-IPv6-Address':
      return ipv6(value as string);
    case 'Framed-IPv6-Prefix':
    case 'Delegated-IPv6-Prefix': {
      // RFC 3162 §2.3: reserved octet, prefix length, then only the octets the length needs.
      const [address, lengthText] = (value as string).split('/');
      const prefixLength = Number(lengthText ?? 128);
      return Buffer.concat([Buffer.from([0, prefixLength]), ipv6(address ?? '').subarray(0, Math.ceil(prefixLength / 8))]);
    }
    default:
      return Buffer.from(value as string, 'utf8');
  }
}

function ipv4(text: string): Buffer {
  const bytes = parseIPv4Bytes(text);
  if (!bytes) throw new Error(`radius-packets: "${text}" is not an IPv4 address`);
  return bytes;
}

function ipv6(text: string): Buffer {
  const bytes = parseIPv6Bytes(text);
  if (!bytes) throw new Error(`radius-packets: "${text}" is not an IPv6 address`);
  return bytes;
}
