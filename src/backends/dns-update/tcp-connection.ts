/**
 * One TCP connection to a DNS server, with 2-byte length framing (RFC 1035 §4.2.2), carrying one
 * exchange at a time. Answers that are not ours are ignored and answers the judge does not believe
 * discarded, as over UDP, and the wait goes on for the real one; either makes the connection
 * unfit to carry another message. Bytes that come while no exchange waits, the server closing the
 * connection, a socket error or a time-out end it. While idle its socket is unref'd: a connection
 * kept for later never holds the process open.
 */
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '../../config/load.js';
import type { RblError } from '../../errors.js';
import { answersRequest } from './answer-match.js';
import { connectionError, DiscardedAnswers, timeoutError, type AnswerJudge } from './exchange-errors.js';

/** How one exchange on a connection ended. */
export type TcpOutcome =
  | {
      readonly ok: true;
      readonly response: Buffer;
      /** Nothing but the answer came on the connection: it may carry another message. */
      readonly clean: boolean;
    }
  | {
      readonly ok: false;
      readonly error: RblError;
      /** The connection closed or failed before any byte came back: the server may never have read the message. */
      readonly unanswered: boolean;
    };

/** The exchange under way. */
interface Pending {
  readonly message: Buffer;
  readonly judge: AnswerJudge | undefined;
  readonly discarded: DiscardedAnswers;
  readonly resolve: (outcome: TcpOutcome) => void;
  timer: NodeJS.Timeout | undefined;
  /** Bytes received since the message was written. */
  bytes: number;
  /** Whole messages received that are not an answer to ours. */
  ignored: number;
}

/** A connection to `server`, opened at once; `onEnd` is called once when it ends, whoever ends it. */
export class DnsTcpConnection {
  readonly #server: Endpoint;
  readonly #socket: Socket;
  readonly #onEnd: ((connection: DnsTcpConnection) => void) | undefined;
  #received: Buffer = Buffer.alloc(0);
  #pending: Pending | undefined;
  #ended = false;

  constructor(server: Endpoint, onEnd?: (connection: DnsTcpConnection) => void) {
    this.#server = server;
    this.#onEnd = onEnd;
    this.#socket = connect({ host: server.host, port: server.port, noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => this.#data(chunk));
    this.#socket.on('error', (error) => this.#end(connectionError(server, 'TCP', error)));
    // With allowHalfOpen off, the server's FIN ends our side too: nothing more can be asked here.
    this.#socket.on('end', () => this.#end(undefined));
    this.#socket.on('close', () => this.#end(undefined));
  }

  /** Whether it can carry a message: not closed by either side, not failed. */
  get open(): boolean {
    return !this.#ended;
  }

  /** Writes the message and resolves with the outcome once an answer is believed, the connection ends, or timeoutMs passes. */
  exchange(message: Buffer, timeoutMs: number, judge: AnswerJudge | undefined): Promise<TcpOutcome> {
    if (this.#pending) throw new Error('a DNS TCP connection carries one exchange at a time; this is a bug');
    if (this.#ended) return Promise.resolve({ ok: false, error: this.#closedError(), unanswered: true });
    return new Promise((resolve) => {
      const pending: Pending = { message, judge, discarded: new DiscardedAnswers(), resolve, timer: undefined, bytes: 0, ignored: 0 };
      this.#pending = pending;
      pending.timer = setTimeout(() => {
        this.#settle({ ok: false, error: pending.discarded.error(this.#server, 'TCP', `within ${timeoutMs} ms`, timeoutError(this.#server, timeoutMs, 'TCP')), unanswered: false });
        this.close();
      }, timeoutMs);
      this.#socket.ref();
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length, 0);
      // Before the connection is up, the socket keeps the bytes and writes them once it is.
      this.#socket.write(Buffer.concat([length, message]));
    });
  }

  /** Closes the connection; an exchange under way fails as if the server had closed it. */
  close(): void {
    this.#end(undefined);
  }

  #data(chunk: Buffer): void {
    const pending = this.#pending;
    // Bytes nobody asked for: whatever they are, this connection is not trusted with another message.
    if (!pending) {
      this.close();
      return;
    }
    pending.bytes += chunk.length;
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    while (this.#received.length >= 2) {
      const length = this.#received.readUInt16BE(0);
      if (this.#received.length < 2 + length) return;
      const response = this.#received.subarray(2, 2 + length);
      this.#received = this.#received.subarray(2 + length);
      if (!answersRequest(pending.message, response)) {
        pending.ignored++;
        continue;
      }
      if (!pending.discarded.takes(response, pending.judge)) continue;
      const clean = pending.ignored === 0 && pending.discarded.count === 0 && this.#received.length === 0;
      this.#settle({ ok: true, response, clean });
      if (!clean) this.close();
      return;
    }
  }

  /** RBL_DNS_CONNECTION for a connection that closed before the answer came. */
  #closedError(): RblError {
    return connectionError(this.#server, 'TCP', new Error('connection closed before the answer'));
  }

  #settle(outcome: TcpOutcome): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    clearTimeout(pending.timer);
    if (!this.#ended) this.#socket.unref();
    pending.resolve(outcome);
  }

  /** Ends the connection once: fails the exchange under way with `error`, or with "closed before the answer". */
  #end(error: RblError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.destroy();
    const pending = this.#pending;
    if (pending) {
      const closed = pending.discarded.error(this.#server, 'TCP', 'before it closed the connection', this.#closedError());
      this.#settle({ ok: false, error: error ?? closed, unanswered: pending.bytes === 0 });
    }
    this.#onEnd?.(this);
  }
}
