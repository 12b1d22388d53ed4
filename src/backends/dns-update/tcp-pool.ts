/**
 * TCP connections to one DNS server, kept open between messages: RFC 7766 §6.2.1 says clients
 * SHOULD reuse a connection for further messages, and an UPDATE of hundreds of names always goes
 * over TCP, so without reuse every UPDATE would pay a connect and the server an accept.
 *
 * A connection carries one exchange at a time (no pipelining). It goes back to the pool only after
 * a believed answer with nothing else on the wire; anything odd (an answer not ours, one discarded
 * as unverified, bytes after the answer) closes it. The pool keeps at most `maxIdle` idle
 * connections, the most recently used taken first (the least likely to have met the server's idle
 * timeout), and closes each after `idleMs` unused (RFC 7766 §6.2.3: clients close idle
 * connections; well before the server does: BIND's tcp-idle-timeout is 30 s).
 */
import type { Endpoint } from '../../config/load.js';
import type { AnswerJudge } from './exchange-errors.js';
import { DnsTcpConnection, type TcpOutcome } from './tcp-connection.js';

export interface TcpPoolOptions {
  /** Most connections kept open while unused; 0 closes each connection after its exchange. */
  readonly maxIdle: number;
  /** An unused connection is closed after this long. */
  readonly idleMs: number;
}

interface IdleConnection {
  readonly connection: DnsTcpConnection;
  readonly timer: NodeJS.Timeout;
}

/** The reusable TCP connections to one server. */
export class TcpConnectionPool {
  readonly #server: Endpoint;
  readonly #options: TcpPoolOptions;
  /** Unused connections, the most recently used last. */
  readonly #idle: IdleConnection[] = [];
  #closed = false;

  constructor(server: Endpoint, options: TcpPoolOptions) {
    this.#server = server;
    this.#options = options;
  }

  /**
   * Sends the message on an idle connection, or a new one, and resolves with the believed answer;
   * rejects with the transient RblError of exchange-errors.ts (RBL_DNS_TIMEOUT, RBL_DNS_CONNECTION,
   * RBL_DNS_BAD_RESPONSE) otherwise.
   */
  async exchange(message: Buffer, timeoutMs: number, judge: AnswerJudge | undefined): Promise<Buffer> {
    const reused = this.#takeIdle();
    if (reused) {
      const outcome = await reused.exchange(message, timeoutMs, judge);
      // RFC 7766 §6.2.4: a server may close an idle connection at any time, and our message can
      // cross its close; clients SHOULD then send unanswered messages again. Once, on a new
      // connection: the same signed bytes, seconds old, well within the TSIG fudge (RFC 8945
      // §5.2.3), and a delete applied twice deletes nothing more.
      if (outcome.ok || !outcome.unanswered) return this.#finished(reused, outcome);
    }
    const fresh = new DnsTcpConnection(this.#server, (connection) => this.#forget(connection));
    return this.#finished(fresh, await fresh.exchange(message, timeoutMs, judge));
  }

  /** Closes the idle connections; those carrying a message are closed when its exchange ends. */
  close(): void {
    this.#closed = true;
    for (const { connection, timer } of this.#idle.splice(0)) {
      clearTimeout(timer);
      connection.close();
    }
  }

  /** The answer of a finished exchange, its connection kept for later when it may carry another; throws its error. */
  #finished(connection: DnsTcpConnection, outcome: TcpOutcome): Buffer {
    if (!outcome.ok) throw outcome.error;
    if (outcome.clean && connection.open && !this.#closed && this.#idle.length < this.#options.maxIdle) {
      const timer = setTimeout(() => connection.close(), this.#options.idleMs);
      timer.unref();
      this.#idle.push({ connection, timer });
    } else {
      connection.close();
    }
    return outcome.response;
  }

  /** The most recently used idle connection that is still open. */
  #takeIdle(): DnsTcpConnection | undefined {
    for (let entry = this.#idle.pop(); entry; entry = this.#idle.pop()) {
      clearTimeout(entry.timer);
      if (entry.connection.open) return entry.connection;
    }
    return undefined;
  }

  /** Drops a connection that ended (closed by the server, failed, idle too long) from the idle list. */
  #forget(connection: DnsTcpConnection): void {
    const index = this.#idle.findIndex((entry) => entry.connection === connection);
    if (index < 0) return;
    clearTimeout(this.#idle[index]!.timer);
    this.#idle.splice(index, 1);
  }
}
