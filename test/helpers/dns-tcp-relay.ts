/**
 * A TCP relay in front of a real DNS server (BIND), for what no real server shows or does on
 * demand: it counts the connections a client opens and the messages each carries, and, as told
 * per message, passes it on, closes or resets the connection under it, puts a forged answer ahead
 * of the real one, cuts the real answer off half-way, or closes the connection once the answer
 * went back (a server's idle timeout, made immediate). Each client connection gets its own
 * connection to the server, so the server sees the same reuse the client makes.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A message the client sent, numbered from 1. */
export interface RelayedMessage {
  /** Which accepted connection carried it. */
  readonly connection: number;
  /** Its place among the messages of that connection. */
  readonly onConnection: number;
  /** Its place among all messages. */
  readonly index: number;
  readonly request: Buffer;
}

/**
 * What the relay does with a message: pass it on (`forward`), pass it on and close the connection
 * after the answer (`answer-then-close`), write `forged(request)` first (`forge-then-forward`), send
 * half the answer then reset (`half-answer-then-reset`), or end (`close`, a FIN) or reset (`reset`,
 * an RST) the connection without passing it on.
 */
export type RelayAction = 'forward' | 'answer-then-close' | 'forge-then-forward' | 'half-answer-then-reset' | 'close' | 'reset';

/** One client connection as the relay saw it. */
export interface RelayedConnection {
  readonly number: number;
  /** The client's source port. */
  readonly clientPort: number;
  messages: number;
  /** The client closed its side (FIN or RST) while the relay had not. */
  closedByClient: boolean;
  /** Gone, whoever closed it. */
  closed: boolean;
}

export interface DnsTcpRelay {
  readonly port: number;
  connections(): readonly RelayedConnection[];
  messages(): readonly RelayedMessage[];
  close(): Promise<void>;
}

/** The complete 2-byte-framed messages at the front of `buffer`, and what is left after them. */
function frames(buffer: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let rest = buffer;
  while (rest.length >= 2 && rest.length >= 2 + rest.readUInt16BE(0)) {
    messages.push(rest.subarray(2, 2 + rest.readUInt16BE(0)));
    rest = rest.subarray(2 + rest.readUInt16BE(0));
  }
  return { messages, rest };
}

export function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

/** Starts the relay on 127.0.0.1 at a free port, in front of the TCP server at 127.0.0.1:upstreamPort. */
export async function startDnsTcpRelay(options: { upstreamPort: number; decide?: (message: RelayedMessage) => RelayAction; forged?: (request: Buffer) => Buffer }): Promise<DnsTcpRelay> {
  const connections: RelayedConnection[] = [];
  const messages: RelayedMessage[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const seen: RelayedConnection = { number: connections.length + 1, clientPort: client.remotePort ?? 0, messages: 0, closedByClient: false, closed: false };
    connections.push(seen);
    const upstream = connect({ host: '127.0.0.1', port: options.upstreamPort });
    sockets.add(client).add(upstream);
    let relayClosing = false;
    let fromClient: Buffer = Buffer.alloc(0);
    let fromServer: Buffer = Buffer.alloc(0);
    let answering: RelayAction = 'forward';

    const end = (how: 'close' | 'reset'): void => {
      relayClosing = true;
      if (how === 'reset') client.resetAndDestroy();
      else client.end();
      upstream.destroy();
    };
    client.on('end', () => {
      if (!relayClosing) seen.closedByClient = true;
      client.end();
    });
    client.on('error', () => {
      if (!relayClosing) seen.closedByClient = true;
    });
    client.on('close', () => {
      seen.closed = true;
      upstream.destroy();
    });
    upstream.on('error', () => end('close'));
    upstream.on('end', () => end('close'));

    client.on('data', (chunk: Buffer) => {
      if (relayClosing) return;
      const { messages: requests, rest } = frames(Buffer.concat([fromClient, chunk]));
      fromClient = rest;
      for (const request of requests) {
        seen.messages++;
        const message: RelayedMessage = { connection: seen.number, onConnection: seen.messages, index: messages.length + 1, request };
        messages.push(message);
        const action = options.decide?.(message) ?? 'forward';
        if (action === 'close' || action === 'reset') return end(action);
        if (action === 'forge-then-forward') client.write(framed(options.forged!(request)));
        answering = action;
        upstream.write(framed(request));
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (relayClosing) return;
      const { messages: answers, rest } = frames(Buffer.concat([fromServer, chunk]));
      fromServer = rest;
      for (const answer of answers) {
        const bytes = framed(answer);
        if (answering === 'half-answer-then-reset') {
          // The reset waits a moment so that it cannot overtake the half answer on its way.
          client.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => end('reset'), 50));
          return;
        }
        client.write(bytes);
        if (answering === 'answer-then-close') return end('close');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    connections: () => connections,
    messages: () => messages,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
