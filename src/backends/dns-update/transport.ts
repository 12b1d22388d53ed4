/**
 * Sending one DNS message and receiving its answer: UDP for messages up to 512 bytes, TCP with
 * 2-byte length framing (RFC 1035 §4.2.2) for larger ones or when the UDP answer is truncated (TC);
 * over TCP on a connection of the caller's pool when it gives one, kept for the next message
 * (tcp-pool.ts). Answers that are not ours (another ID, source, or question) are ignored, as RFC
 * 5452 §9.1 asks; answers the caller does not believe (RFC 8945 §5.4.1: TSIG that does not verify)
 * are discarded and the wait goes on, on the same socket, for the real one.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Endpoint } from '../../config/load.js';
import { RblError } from '../../errors.js';
import { sameAddress } from '../../net/address.js';
import { answersRequest } from './answer-match.js';
import { connectionError, DiscardedAnswers, timeoutError, type AnswerJudge } from './exchange-errors.js';
import { parseHeader } from './response.js';
import { TcpConnectionPool } from './tcp-pool.js';

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
  readonly judge?: AnswerJudge;
  /** TCP connections to the server to use and keep; without it each TCP message gets a connection of its own. */
  readonly pool?: TcpConnectionPool;
}

/** Sends a message to the server and resolves with its answer; RBL_DNS_TIMEOUT / RBL_DNS_CONNECTION (transient) otherwise. */
export async function exchange(server: Endpoint, message: Buffer, options: ExchangeOptions): Promise<Buffer> {
  if (options.tcp || message.length > UDP_MAX_BYTES) return exchangeTcp(server, message, options);
  const response = await exchangeUdp(server, message, options.timeoutMs, options.judge);
  // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated answer is retried over TCP. A forged TC only moves
  // the exchange to TCP, where the answer is judged as well.
  if (parseHeader(response).tc) return exchangeTcp(server, message, options);
  return response;
}

/**
 * One message over UDP from a fresh socket (a fresh source port per message, RFC 5452 §4.5); a
 * truncated answer is returned unjudged, for the caller to ask again over TCP.
 */
function exchangeUdp(server: Endpoint, message: Buffer, timeoutMs: number, judge: AnswerJudge | undefined): Promise<Buffer> {
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
    const discarded = new DiscardedAnswers();
    const timer = setTimeout(() => finish(discarded.error(server, 'UDP', `within ${timeoutMs} ms`, timeoutError(server, timeoutMs, 'UDP'))), timeoutMs);
    socket.on('error', (error) => finish(connectionError(server, 'UDP', error)));
    socket.on('message', (response, remote) => {
      // The kernel names the source in its own form (::1, ::ffff:127.0.0.1), not as the config
      // wrote the server: compared as bytes.
      if (remote.port !== server.port || !sameAddress(remote.address, server.host)) return;
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

/** One message over TCP: on a connection of the pool, or on one of its own closed after the answer. */
function exchangeTcp(server: Endpoint, message: Buffer, options: ExchangeOptions): Promise<Buffer> {
  if (message.length > TCP_MAX_BYTES) {
    return Promise.reject(new RblError('RBL_DNS_FORMERR', `a ${message.length}-byte DNS message does not fit TCP framing (65535 bytes); this is a bug`));
  }
  const pool = options.pool ?? new TcpConnectionPool(server, { maxIdle: 0, idleMs: 0 });
  return pool.exchange(message, options.timeoutMs, options.judge);
}
