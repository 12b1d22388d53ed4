/**
 * Sending one DNS message and receiving its answer: UDP for messages up to 512 bytes, TCP with
 * 2-byte length framing (RFC 1035 §4.2.2) for larger ones or when the UDP answer is truncated (TC).
 * Answers that are not ours (another ID, source, or question) are ignored, as RFC 5452 §9.1 asks;
 * answers the caller does not believe (RFC 8945 §5.4.1: TSIG that does not verify) are discarded
 * and the wait goes on, on the same socket, for the real one.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Endpoint } from '../../config/load.js';
import { RblError } from '../../errors.js';
import { parseHeader, readName } from './response.js';

/** RFC 1035 §4.2.1: a UDP message without EDNS is at most 512 bytes. */
export const UDP_MAX_BYTES = 512;
/** TCP framing holds 65535 bytes. */
export const TCP_MAX_BYTES = 0xffff;

/** A fresh 16-bit message ID from the CSPRNG (RFC 5452 §4.3). */
export function randomMessageId(): number {
  return randomInt(0x10000);
}

export interface ExchangeOptions {
  readonly timeoutMs: number;
  /** Use TCP even for a small message. */
  readonly tcp?: boolean;
  /**
   * Judges each answer that matches the request: undefined takes it, a reason discards it and keeps
   * waiting until the timeout. Without it, the first matching answer is taken.
   */
  readonly judge?: (response: Buffer) => string | undefined;
}

/** Answers discarded by `judge` during one exchange, for the error when no believable one came. */
class Discarded {
  count = 0;
  last = '';

  /** Whether `judge` takes the answer; counts and remembers it otherwise. */
  takes(response: Buffer, judge: ExchangeOptions['judge']): boolean {
    const reason = judge?.(response);
    if (reason === undefined) return true;
    this.count++;
    this.last = reason;
    return false;
  }

  /** RBL_DNS_BAD_RESPONSE when answers were discarded, else `otherwise`: both transient. */
  error(server: Endpoint, protocol: string, ending: string, otherwise: RblError): RblError {
    if (this.count === 0) return otherwise;
    return new RblError(
      'RBL_DNS_BAD_RESPONSE',
      `${endpointText(server)} sent no answer that verifies over ${protocol} ${ending}; ${this.count} discarded, the last ${this.last}: check the TSIG key and that nothing else answers on that address; it is retried`,
      { transient: true },
    );
  }
}

/** `host:port`, with brackets around an IPv6 host, for messages. */
export function endpointText(server: Endpoint): string {
  return server.family === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** The question (or UPDATE zone) section bytes, for matching a response to its request. */
function firstQuestion(message: Buffer): string | undefined {
  if (message.length < 12 || message.readUInt16BE(4) === 0) return undefined;
  const { name, end } = readName(message, 12);
  if (end + 4 > message.length) return undefined;
  return `${name}/${message.readUInt16BE(end)}/${message.readUInt16BE(end + 2)}`;
}

/**
 * Whether `response` answers `request`: same ID, QR set, same opcode, and the same question, or
 * no question at all in an error answer (a FORMERR may come back with the header only).
 */
export function answersRequest(request: Buffer, response: Buffer): boolean {
  try {
    const asked = parseHeader(request);
    const answered = parseHeader(response);
    if (answered.id !== asked.id || !answered.qr || answered.opcode !== asked.opcode) return false;
    if (answered.qdcount === 0) return answered.rcode !== 0;
    return firstQuestion(response) === firstQuestion(request);
  } catch {
    return false;
  }
}

function timeoutError(server: Endpoint, timeoutMs: number, protocol: string): RblError {
  return new RblError('RBL_DNS_TIMEOUT', `${endpointText(server)} did not answer over ${protocol} within ${timeoutMs} ms: check that the DNS server runs and listens there`, { transient: true });
}

function connectionError(server: Endpoint, protocol: string, cause: unknown): RblError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
  return new RblError('RBL_DNS_CONNECTION', `${endpointText(server)} refused or dropped the ${protocol} connection (${code}): check that the DNS server runs and listens on that address and port`, {
    cause,
    transient: true,
  });
}

/** Sends a message to the server and resolves with its answer; RBL_DNS_TIMEOUT / RBL_DNS_CONNECTION (transient) otherwise. */
export async function exchange(server: Endpoint, message: Buffer, options: ExchangeOptions): Promise<Buffer> {
  if (options.tcp || message.length > UDP_MAX_BYTES) return exchangeTcp(server, message, options.timeoutMs, options.judge);
  const response = await exchangeUdp(server, message, options.timeoutMs, options.judge);
  // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated answer is retried over TCP. A forged TC only moves
  // the exchange to TCP, where the answer is judged as well.
  if (parseHeader(response).tc) return exchangeTcp(server, message, options.timeoutMs, options.judge);
  return response;
}

/**
 * One message over UDP from a fresh socket (a fresh source port per message, RFC 5452 §4.5); a
 * truncated answer is returned unjudged, for the caller to ask again over TCP.
 */
export function exchangeUdp(server: Endpoint, message: Buffer, timeoutMs: number, judge?: ExchangeOptions['judge']): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (error: RblError | undefined, response?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(response!);
    };
    const discarded = new Discarded();
    const timer = setTimeout(() => finish(discarded.error(server, 'UDP', `within ${timeoutMs} ms`, timeoutError(server, timeoutMs, 'UDP'))), timeoutMs);
    socket.on('error', (error) => finish(connectionError(server, 'UDP', error)));
    socket.on('message', (response, remote) => {
      if (remote.port !== server.port || !sameHost(remote.address, server.host)) return;
      if (!answersRequest(message, response)) return;
      if (!parseHeader(response).tc && !discarded.takes(response, judge)) return;
      finish(undefined, response);
    });
    // A connected socket only accepts datagrams from the server, and a closed port is reported
    // at once (ICMP port unreachable) instead of waiting out the timeout.
    socket.connect(server.port, server.host, () => {
      socket.send(message, (error) => {
        if (error) finish(connectionError(server, 'UDP', error));
      });
    });
  });
}

function sameHost(a: string, b: string): boolean {
  const strip = (host: string): string => host.toLowerCase().replace(/^::ffff:/, '');
  return strip(a) === strip(b);
}

/** One message over a fresh TCP connection with 2-byte length framing. */
export function exchangeTcp(server: Endpoint, message: Buffer, timeoutMs: number, judge?: ExchangeOptions['judge']): Promise<Buffer> {
  if (message.length > TCP_MAX_BYTES) {
    return Promise.reject(new RblError('RBL_DNS_FORMERR', `a ${message.length}-byte DNS message does not fit TCP framing (65535 bytes); this is a bug`));
  }
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port, noDelay: true });
    let settled = false;
    let received: Buffer = Buffer.alloc(0);
    const finish = (error: RblError | undefined, response?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response!);
    };
    const discarded = new Discarded();
    const timer = setTimeout(() => finish(discarded.error(server, 'TCP', `within ${timeoutMs} ms`, timeoutError(server, timeoutMs, 'TCP'))), timeoutMs);
    socket.on('error', (error) => finish(connectionError(server, 'TCP', error)));
    socket.on('close', () => finish(discarded.error(server, 'TCP', 'before it closed the connection', connectionError(server, 'TCP', new Error('connection closed before the answer')))));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length, 0);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      while (received.length >= 2) {
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return;
        const response = received.subarray(2, 2 + length);
        received = received.subarray(2 + length);
        if (answersRequest(message, response) && discarded.takes(response, judge)) {
          finish(undefined, response);
          return;
        }
      }
    });
  });
}
