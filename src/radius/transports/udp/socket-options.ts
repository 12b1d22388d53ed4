/** What both ways of running the UDP transport share: its options, binding and closing sockets, and the words for a failed bind. */
import { createSocket, type Socket } from 'node:dgram';
import type { ClientConfig, Endpoint } from '../../../config/load.js';
import type { RequestHandler } from '../../handler.js';
import type { ReceiveThreadSetting } from './config.js';
import { literalAddress } from './literal-address.js';

/** 8 MiB: room for a burst of tens of thousands of accounting packets while the event loop is busy. */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

export interface UdpTransportOptions {
  readonly listen: readonly Endpoint[];
  readonly handler: RequestHandler;
  /** radius.receive_thread: whether a thread of its own reads the sockets; default `auto`. */
  readonly receiveThread?: ReceiveThreadSetting;
  /** Socket receive buffer asked of the kernel; it may grant less (net.core.rmem_max). Default 8 MiB. */
  readonly receiveBufferBytes?: number;
  /** A socket error after start (a failed send, for instance); the transport keeps running. */
  readonly onError?: (error: Error) => void;
  /**
   * The configured clients: read per datagram on this thread; the receive thread takes a copy at
   * start and a new one at each reload() (the daemon reloads every transport after a SIGHUP).
   */
  readonly clients: () => readonly ClientConfig[];
}

/** The reason a bind failed, with what to check. */
export function bindFailure(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'EADDRINUSE, the port is already in use (is another rbl-unlist or a RADIUS server running?)';
    case 'EADDRNOTAVAIL':
      return 'EADDRNOTAVAIL, the address is not configured on this host';
    case 'EACCES':
      return 'EACCES, permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)';
    default:
      return error.code ? `${error.code}, ${error.message}` : error.message;
  }
}

/** Closes the sockets; resolves once every one is closed. */
export async function closeUdpSockets(sockets: readonly Socket[]): Promise<void> {
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
}

/** A socket bound to its endpoint, with the receive buffer the kernel granted (0 where it does not say). */
export interface BoundUdpSocket {
  readonly socket: Socket;
  readonly receiveBufferBytes: number;
}

/**
 * Binds one socket to `endpoint` and asks for `receiveBufferBytes` of receive buffer. A failed bind
 * closes the socket and rejects with the system's error as it is: the caller words it (RBL_LISTEN
 * on this thread, a message from the receive thread).
 */
export async function bindUdpSocket(endpoint: Endpoint, receiveBufferBytes: number): Promise<BoundUdpSocket> {
  // ipv6Only lets "0.0.0.0:1813" and "[::]:1813" be listed together without EADDRINUSE.
  const socket = createSocket({ type: endpoint.family === 6 ? 'udp6' : 'udp4', ipv6Only: endpoint.family === 6, lookup: literalAddress });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ address: endpoint.host, port: endpoint.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    // The kernel caps this at net.core.rmem_max without an error; whatever it grants is used.
    socket.setRecvBufferSize(receiveBufferBytes);
  } catch {
    // Some platforms refuse outright; the default buffer still works, only bursts suffer.
  }
  let granted = 0;
  try {
    granted = socket.getRecvBufferSize();
  } catch {
    granted = 0;
  }
  return { socket, receiveBufferBytes: granted };
}
