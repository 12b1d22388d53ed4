/**
 * Whether a RadSec connection is read. More than one thing can stop the reading of a connection
 * (answers its peer leaves unread, ./answers.ts; requests waiting for the journal, ./requests.ts),
 * and each lifts only its own stop: the connection is read again once none is left, so one reason
 * ending never resumes a connection another still holds. Stopping is socket.pause(), so the
 * socket's buffer fills and TCP's flow control holds the peer back, losing nothing.
 */
import type { Socket } from 'node:net';

/** What stopped reading a connection. */
export type ReadingStop = 'answers_unsent' | 'requests_in_flight';

export interface ReadingGate {
  /** Stops reading for `reason` (again: no effect). */
  stop(reason: ReadingStop): void;
  /** Lifts the stop for `reason`; reading resumes once no other reason holds it. */
  allow(reason: ReadingStop): void;
}

/** The reading gate of one established connection. */
export function readingGate(socket: Socket): ReadingGate {
  const stops = new Set<ReadingStop>();
  return {
    stop(reason) {
      stops.add(reason);
      socket.pause();
    },
    allow(reason) {
      if (!stops.delete(reason) || stops.size > 0) return;
      // A closing connection reads (and drops) what comes, so the peer's close_notify can finish the close.
      if (!socket.destroyed) socket.resume();
    },
  };
}
