/**
 * RADIUS over UDP (RFC 2865 §3, RFC 2866) read on the service's JavaScript thread: one socket per
 * listen endpoint, each datagram handed to the request handler with a reply that sends back to its
 * source. This file only moves datagrams. transport.ts says when it is used instead of the receive thread.
 */
import type { Endpoint } from '../../../config/load.js';
import { RblError } from '../../../errors.js';
import type { CheckState } from '../../../http/readiness.js';
import { hostPort } from '../../../net/host-port.js';
import type { ListenerAddress, Transport } from '../types.js';
import { bindFailure, bindUdpSocket, closeUdpSockets, DEFAULT_RECEIVE_BUFFER_BYTES, type BoundUdpSocket, type UdpTransportOptions } from './socket-options.js';

/** Builds the UDP transport that reads its sockets on this thread; nothing is bound until start(). */
export function createSameThreadUdpTransport(options: UdpTransportOptions): Transport {
  let sockets: BoundUdpSocket[] = [];
  let state: 'idle' | 'starting' | 'bound' | 'closed' = 'idle';

  const closeAll = (list: readonly BoundUdpSocket[]): Promise<void> => closeUdpSockets(list.map(({ socket }) => socket));

  return {
    name: 'udp',
    checkName: 'radius',
    async start() {
      if (state !== 'idle') throw new Error(`RADIUS UDP transport cannot start: it is ${state}`);
      state = 'starting';
      const opened: BoundUdpSocket[] = [];
      try {
        for (const endpoint of options.listen) {
          opened.push(await bindEndpoint(endpoint, options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES));
        }
      } catch (error) {
        await closeAll(opened);
        state = 'closed';
        throw error;
      }
      // One callback for every send, and none when nobody listens: with a callback each send costs
      // a further process.nextTick.
      const { onError } = options;
      const afterSend = onError
        ? (error: Error | null) => {
            if (error) onError(error);
          }
        : undefined;
      for (const { socket } of opened) {
        socket.on('message', (datagram, from) => {
          options.handler.receive(datagram, { transport: 'udp', address: from.address, port: from.port }, (response) => {
            if (state !== 'bound') return;
            try {
              socket.send(response, from.port, from.address, afterSend);
            } catch (error) {
              // send throws at once for what it refuses before sending (a destination it cannot
              // address): reported like a failed send, never thrown into the handler's callbacks.
              onError?.(error as Error);
            }
          });
        });
        socket.on('error', (error) => options.onError?.(error));
      }
      sockets = opened;
      state = 'bound';
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      const list = sockets;
      sockets = [];
      await closeAll(list);
    },
    reload() {
      // Listen addresses change only with a restart; clients are read per datagram.
    },
    addresses(): ListenerAddress[] {
      return sockets.map(({ socket, receiveBufferBytes }) => {
        const { address, port, family } = socket.address();
        return { transport: 'udp', address, port, family, receiveBufferBytes, receiveThread: false };
      });
    },
    ready(): CheckState {
      return state === 'bound' ? { ok: true } : { ok: false, error: 'RADIUS sockets not bound' };
    },
  };
}

/** bindUdpSocket, a failure worded as RBL_LISTEN. */
async function bindEndpoint(endpoint: Endpoint, receiveBufferBytes: number): Promise<BoundUdpSocket> {
  try {
    return await bindUdpSocket(endpoint, receiveBufferBytes);
  } catch (error) {
    const where = hostPort(endpoint.host, endpoint.port);
    throw new RblError('RBL_LISTEN', `cannot listen for RADIUS accounting on ${where}: ${bindFailure(error as NodeJS.ErrnoException)}`, { cause: error });
  }
}
