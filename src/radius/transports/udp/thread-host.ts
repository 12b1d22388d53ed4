/**
 * The UDP transport run through its receive thread (receive-thread.ts): this side starts the
 * thread, hands each request it lets through to the request handler in the order it was read, and
 * tells the thread, in one message per turn of the event loop, which requests to answer (recorded)
 * and which to forget (not recorded: the NAS retransmits), and how much of what it sent was taken
 * (with those answers, or at once for outcomes it reported).
 * Outcomes the thread decided on its own are reported through the handler as the in-thread
 * transport reports them. A thread that stops is started again: until then the sockets are not
 * read, and /readyz says so.
 */
import { Worker } from 'node:worker_threads';
import type { ClientConfig } from '../../../config/load.js';
import { RblError } from '../../../errors.js';
import type { CheckState } from '../../../http/readiness.js';
import { hostPort } from '../../../net/host-port.js';
import { matchClient } from '../../clients.js';
import { parsePacket } from '../../packet.js';
import type { ListenerAddress, Transport } from '../types.js';
import { asBuffer, REQUEST_FIELDS, type BoundAddress, type FromThread, type ThreadStart, type ToThread } from './thread-messages.js';
import { bindFailure, DEFAULT_RECEIVE_BUFFER_BYTES, type UdpTransportOptions } from './socket-options.js';

/** How long close() waits for the thread to close its sockets before it is terminated. */
const CLOSE_WAIT_MS = 2000;
/** The longest a count of requests taken waits for an answer's message to go back with. */
const TAKEN_REPORT_MS = 50;
/** How long after a thread stopped, or failed to start again, the next one is started. */
const RESTART_MS = 1000;

/** The clients by name, made once per clients list (a reload makes a new list). */
const byName = new WeakMap<readonly ClientConfig[], ReadonlyMap<string, ClientConfig>>();

function clientNamed(clients: readonly ClientConfig[], name: string): ClientConfig | undefined {
  let names = byName.get(clients);
  if (!names) byName.set(clients, (names = new Map(clients.map((client) => [client.name, client]))));
  return names.get(name);
}

/**
 * One receive thread and what is owed to it. Its request ids are its own: the answers owed to a
 * thread that stopped are dropped with it, never sent to the next one, whose ids start again at 1.
 */
class ReceiveThread {
  readonly worker: Worker;
  /** Resolves when the thread has exited (recorded at once, so a close after a crash does not wait for an event that has passed). */
  readonly exited: Promise<void>;
  hasExited = false;
  #answered: number[] = [];
  #refused: number[] = [];
  #takenRequests = 0;
  #takenReports = 0;
  #scheduled = false;
  #takenTimer: NodeJS.Timeout | undefined;

  constructor(entry: URL, start: ThreadStart) {
    this.worker = new Worker(entry, { workerData: start });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.hasExited = true;
        resolve();
      }),
    );
  }

  answer(id: number): void {
    this.#answered.push(id);
    this.#schedule();
  }

  refuse(id: number): void {
    this.#refused.push(id);
    this.#schedule();
  }

  took(requests: number, reports: number): void {
    // A batch of answer latencies alone takes nothing: no message back for it.
    if (requests === 0 && reports === 0) return;
    this.#takenRequests += requests;
    this.#takenReports += reports;
    // Reports (outcomes the thread decided) get no other message: their count goes back at once.
    // Each request taken is answered or refused, in a message that carries the count too, so it
    // waits for that one: a message of its own was a wake-up of the thread per batch, and at a
    // NAS's usual pace a batch is one request (issue 13). The timer is for requests that wait
    // longer, for a slow disk, which the thread would otherwise count as never taken.
    if (reports > 0) this.#schedule();
    else this.#reportTakenLater();
  }

  post(message: ToThread): void {
    if (!this.hasExited) this.worker.postMessage(message);
  }

  #reportTakenLater(): void {
    if (this.#takenTimer) return;
    this.#takenTimer = setTimeout(() => {
      this.#takenTimer = undefined;
      if (this.#takenRequests > 0) this.#schedule();
    }, TAKEN_REPORT_MS);
    this.#takenTimer.unref();
  }

  /** After this turn of the event loop: the answers of one journal write go in one message. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const message = { type: 'answers', answered: this.#answered, refused: this.#refused, takenRequests: this.#takenRequests, takenReports: this.#takenReports } as const;
      this.#answered = [];
      this.#refused = [];
      this.#takenRequests = 0;
      this.#takenReports = 0;
      this.post(message);
    });
  }
}

function sameName(client: ClientConfig | undefined, name: string): ClientConfig | undefined {
  return client?.name === name ? client : undefined;
}

/** Builds the transport; the thread starts (and binds) in start(). */
export function createThreadedUdpTransport(entry: URL, options: UdpTransportOptions): Transport {
  let state: 'idle' | 'starting' | 'bound' | 'closed' = 'idle';
  let thread: ReceiveThread | undefined;
  let addresses: readonly BoundAddress[] = [];
  /** Why the thread stopped, until one is running again; /readyz says so. */
  let stopped: string | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  /** The client list the thread was last given: one more at each reload. */
  let generation = 0;

  const takeBatch = (from: ReceiveThread, message: Extract<FromThread, { type: 'batch' }>): void => {
    if (message.sendFailure) {
      const { code, message: text, count } = message.sendFailure;
      options.onError?.(Object.assign(new Error(count > 1 ? `${text} (${count} answers not sent)` : text), { code }));
    }
    for (const { outcome, detail, count } of message.reports) {
      const reported = detail.octets ? { ...detail, octets: asBuffer(detail.octets) } : detail;
      for (let i = 0; i < (count ?? 1); i++) options.handler.report(outcome, reported);
      // Requests refused for want of room: the operator must see it, as the journal's own refusals are logged.
      if (outcome === 'not_acknowledged') options.onError?.(new Error(`${detail.reason ?? 'not recorded'} (${count ?? 1} refused) from client ${detail.client ?? '?'}`));
    }
    for (const seconds of message.answerSeconds) options.handler.answered(seconds);
    const { requests } = message;
    const octets = asBuffer(message.octets);
    const clients = options.clients();
    // Matched with the list the service has now, the thread's client is known by its name. Matched
    // with an older one (a reload came between), the name may now be another NAS's: the client is
    // the one the current list gives the source, and only if it still has that name.
    const current = message.generation === generation;
    for (let i = 0; i < requests.length; i += REQUEST_FIELDS) {
      const id = requests[i] as number;
      const address = requests[i + 2] as string;
      const port = requests[i + 3] as number;
      const start = requests[i + 4] as number;
      const bytes = octets.subarray(start, start + (requests[i + 5] as number));
      const receivedAt = requests[i + 6] as number;
      const source = hostPort(address, port);
      // A client a reload removed or moved since the thread matched it: a stranger now, as it is to
      // the thread once it has the new list.
      const name = requests[i + 1] as string;
      const client = current ? clientNamed(clients, name) : sameName(matchClient(clients, address), name);
      if (!client) {
        from.refuse(id);
        options.handler.report('unknown_client', { source, transport: 'udp', octets: bytes });
        continue;
      }
      const parsed = parsePacket(bytes);
      if (!parsed.ok) {
        from.refuse(id);
        options.handler.report('malformed', { source, transport: 'udp', client: client.name, reason: parsed.reason, octets: bytes });
        continue;
      }
      const detail = { source, transport: 'udp', client: client.name, octets: bytes, receivedAt } as const;
      options.handler.handOver(parsed.packet, client, { transport: 'udp', address, port }, detail).then(
        () => from.answer(id),
        () => from.refuse(id),
      );
    }
    from.took(requests.length / REQUEST_FIELDS, message.reports.length);
  };

  /** Starts a thread; resolves once its sockets are bound. */
  const startThread = async (): Promise<void> => {
    const start: ThreadStart = {
      // Started again, a thread binds the ports the last one had, also where the config said port 0.
      listen: options.listen.map((endpoint, i) => (endpoint.port === 0 && addresses[i] ? { ...endpoint, port: addresses[i].port } : endpoint)),
      receiveBufferBytes: options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES,
      clients: options.clients(),
      generation,
    };
    const next = new ReceiveThread(entry, start);
    thread = next;
    try {
      await new Promise<void>((resolve, reject) => {
        next.worker.on('message', (message: FromThread) => {
          switch (message.type) {
            case 'batch':
              takeBatch(next, message);
              return;
            case 'bound':
              addresses = message.addresses;
              resolve();
              return;
            case 'bind_failed': {
              const where = hostPort(message.endpoint.host, message.endpoint.port);
              const cause = Object.assign(new Error(message.message), { code: message.code });
              reject(new RblError('RBL_LISTEN', `cannot listen for RADIUS accounting on ${where}: ${bindFailure(cause)}`, { cause }));
              return;
            }
            case 'closed':
              return;
          }
        });
        next.worker.on('error', (error) => {
          reject(error);
          if (thread === next) threadStopped(error.message);
        });
        void next.exited.then(() => {
          reject(new Error('the RADIUS receive thread exited before its sockets were bound'));
          if (thread === next) threadStopped('it exited');
        });
      });
    } catch (error) {
      await next.worker.terminate();
      throw error;
    }
  };

  const threadStopped = (why: string): void => {
    if (state !== 'bound' || stopped !== undefined) return;
    stopped = why;
    options.onError?.(new Error(`the RADIUS receive thread stopped: ${why}; starting it again`));
    scheduleRestart();
  };

  const scheduleRestart = (): void => {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (state !== 'bound') return;
      startThread().then(
        () => {
          if (state === 'bound') stopped = undefined;
          else thread?.post({ type: 'close' });
        },
        (error: unknown) => {
          options.onError?.(new Error(`the RADIUS receive thread did not start again: ${error instanceof Error ? error.message : String(error)}; trying again`));
          scheduleRestart();
        },
      );
    }, RESTART_MS);
  };

  return {
    name: 'udp',
    checkName: 'radius',
    async start() {
      if (state !== 'idle') throw new Error(`RADIUS UDP transport cannot start: it is ${state}`);
      state = 'starting';
      try {
        await startThread();
      } catch (error) {
        state = 'closed';
        throw error;
      }
      state = 'bound';
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      clearTimeout(restartTimer);
      const last = thread;
      if (!last || last.hasExited) return;
      last.post({ type: 'close' });
      const timer = setTimeout(() => void last.worker.terminate(), CLOSE_WAIT_MS);
      await last.exited;
      clearTimeout(timer);
    },
    reload(config) {
      // The thread matches clients and checks their secrets: it gets the reloaded list at once.
      generation++;
      thread?.post({ type: 'clients', clients: config.radius.clients, generation });
    },
    addresses(): ListenerAddress[] {
      if (state !== 'bound') return [];
      return addresses.map(({ address, port, family, receiveBufferBytes }) => ({ transport: 'udp', address, port, family, receiveBufferBytes, receiveThread: true }));
    },
    ready(): CheckState {
      if (stopped !== undefined) return { ok: false, error: `the RADIUS receive thread stopped: ${stopped}` };
      return state === 'bound' ? { ok: true } : { ok: false, error: 'RADIUS sockets not bound' };
    },
  };
}
