/**
 * How a RadSec connection sends its answers to a peer that may not read them. A peer that keeps
 * sending requests (Status-Servers, retransmissions: answered at once) but never reads would make
 * the answers pile up in memory without bound. So, as node:stream backpressure asks, a connection
 * whose unsent answers pass the socket's high-water mark stops reading requests until they drain;
 * its peer gets MAX_BLOCKED_MS (at most idle_timeout) to drain them, and the answers it holds unsent
 * never pass MAX_UNSENT_OCTETS: past either, the connection is closed. radsecproxy, for one, drops
 * an answer it cannot write at once; here a peer that falls behind briefly loses nothing.
 */
import type { TLSSocket } from 'node:tls';
import type { ReadingGate } from './reading.js';

/**
 * The most answer octets one connection holds unsent: 256 answers of the 4096-octet maximum
 * (RFC 2865 §3). A client has at most 256 requests outstanding on a connection, one per Identifier
 * (RFC 6613 §2.6.5), so one that follows the RFC never loses an answer to this cap, however slowly
 * it reads; max_connections connections hold at most this much each.
 */
export const MAX_UNSENT_OCTETS = 256 * 4096;

/** The longest a peer may leave its answers unread (then its connection is closed): idle_timeout, at most this. */
export const MAX_BLOCKED_MS = 10_000;

export interface AnswerWriterOptions {
  /** The connection's reading, which requests waiting for the journal may also hold stopped. */
  readonly reading: ReadingGate;
  /** The connection's idle_timeout, read when the answers back up, so a reload applies. */
  readonly idleTimeoutMs: () => number;
  /** The peer does not read its answers: the connection must close, for `reason`. Called at most once. */
  readonly onUnread: (reason: string) => void;
}

export interface AnswerWriter {
  /** Sends one answer whole, or not at all when the connection is closing or the answer would pass the cap. */
  write(answer: Buffer): void;
  /** Whether reading is stopped until the peer drains its answers. */
  blocked(): boolean;
}

/** Sends the answers of one established connection, stopping its reads while they back up. */
export function answerWriter(socket: TLSSocket, options: AnswerWriterOptions): AnswerWriter {
  let blockedTimer: NodeJS.Timeout | undefined;
  let unread = false;

  const giveUp = (reason: string): void => {
    if (unread) return;
    unread = true;
    clearTimeout(blockedTimer);
    options.onUnread(reason);
  };

  const unblock = (): void => {
    clearTimeout(blockedTimer);
    blockedTimer = undefined;
    options.reading.allow('answers_unsent');
  };

  /** The peer stopped reading: so do we, until it drains what we sent, for a while. */
  const block = (): void => {
    options.reading.stop('answers_unsent');
    const limitMs = Math.min(options.idleTimeoutMs(), MAX_BLOCKED_MS);
    blockedTimer = setTimeout(() => giveUp(`its peer left its answers unread for ${limitMs / 1000} s (${socket.writableLength} octets unsent); connection closed`), limitMs);
    socket.once('drain', unblock);
  };

  socket.once('close', () => clearTimeout(blockedTimer));

  return {
    write(answer) {
      // After end() (a close under way) nothing more is written: the request goes unanswered, whole.
      if (socket.destroyed || !socket.writable || unread) return;
      // Answers already handed to the journal keep coming while reading is stopped; this bounds them.
      if (socket.writableLength + answer.length > MAX_UNSENT_OCTETS) {
        giveUp(`an answer of ${answer.length} octets would pass the ${MAX_UNSENT_OCTETS} octets of answers one connection may hold unsent (${socket.writableLength} unsent); connection closed`);
        return;
      }
      if (!socket.write(answer) && blockedTimer === undefined) block();
    },
    blocked: () => blockedTimer !== undefined,
  };
}
