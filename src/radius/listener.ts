/**
 * The RADIUS accounting listener: UDP sockets on every listen endpoint, client matching,
 * validation, duplicate detection (RFC 5080 §2.2.2), the handler call and the Accounting-Response.
 * All decisions live in the pure modules next to this one; this file only moves datagrams.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { ClientConfig, Endpoint } from '../config/load.js';
import { RblError } from '../errors.js';
import { decodeAccountingAttributes, type AccountingAttributes } from './attributes.js';
import { matchClient } from './clients.js';
import type { RadiusPacket } from './packet.js';
import { DuplicateCache, duplicateKey, type DuplicateCacheOptions } from './dedupe.js';
import { buildAccountingResponse } from './response.js';
import { checkDatagram } from './validate.js';

export type { AccountingAttributes } from './attributes.js';
export { loadDictionaries } from './dictionary.js';

export type PacketOutcome =
  | 'accepted'
  | 'duplicate'
  | 'in_progress'
  | 'bad_authenticator'
  | 'unknown_client'
  | 'malformed'
  | 'status_server'
  | 'not_acknowledged';

export interface AccountingRequest {
  readonly client: ClientConfig;
  readonly source: { readonly address: string; readonly port: number };
  readonly identifier: number;
  readonly attributes: AccountingAttributes;
  /** Date.now() when the datagram was read. */
  readonly receivedAt: number;
  /** The validated packet, for the packet trace. */
  readonly packet: RadiusPacket;
}

export interface PacketDetail {
  /** "address:port", IPv6 in brackets. */
  readonly source: string;
  readonly client?: string;
  readonly reason?: string;
}

export interface RadiusListenerOptions {
  readonly listen: readonly Endpoint[];
  /** Read for every packet, so a SIGHUP reload takes effect at once. */
  readonly clients: () => readonly ClientConfig[];
  /** Called for each valid, non-duplicate Accounting-Request; the Accounting-Response is sent when it resolves, nothing when it rejects (the NAS retransmits). */
  readonly onAccounting: (request: AccountingRequest) => Promise<void>;
  /** Called once per datagram with its outcome (metrics, rate-limited logs by the caller). */
  readonly onPacket?: (outcome: PacketOutcome, detail: PacketDetail) => void;
  /** Called for a socket error after start (a failed send, for instance); the listener keeps running. */
  readonly onError?: (error: Error) => void;
  /** Socket receive buffer asked of the kernel; it may grant less (net.core.rmem_max). Default 8 MiB. */
  readonly receiveBufferBytes?: number;
  /** Duplicate-detection cache tuning; the defaults suit production. */
  readonly duplicates?: DuplicateCacheOptions;
}

export interface ListenerAddress {
  address: string;
  port: number;
  family: string;
  /** The receive buffer the kernel granted (Linux reports twice the usable size). */
  receiveBufferBytes: number;
}

export interface RadiusListener {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly bound: boolean;
  addresses(): ListenerAddress[];
}

/** 8 MiB: room for a burst of tens of thousands of accounting packets while the event loop is busy. */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

interface BoundSocket {
  readonly socket: Socket;
  readonly receiveBufferBytes: number;
}

/** Builds a listener; nothing is bound until start(). */
export function createRadiusListener(options: RadiusListenerOptions): RadiusListener {
  const cache = new DuplicateCache(options.duplicates);
  let sockets: BoundSocket[] = [];
  let state: 'idle' | 'starting' | 'bound' | 'closed' = 'idle';

  const report = (outcome: PacketOutcome, detail: PacketDetail): void => {
    try {
      options.onPacket?.(outcome, detail);
    } catch {
      // A failing metrics callback must not take the socket handler down with it.
    }
  };

  const send = (socket: Socket, response: Buffer, to: RemoteInfo): void => {
    if (state !== 'bound') return;
    socket.send(response, to.port, to.address, (error) => {
      if (error) options.onError?.(error);
    });
  };

  const receive = (socket: Socket, datagram: Buffer, from: RemoteInfo): void => {
    const receivedAt = Date.now();
    const source = hostPort(from.address, from.port);
    let clientName: string | undefined;
    try {
      const client = matchClient(options.clients(), from.address);
      // RFC 2865 §3 / RFC 5080 §2.3.3: a packet from an unknown source is silently discarded.
      if (!client) return report('unknown_client', { source });
      clientName = client.name;
      const verdict = checkDatagram(datagram, client.secret);
      if (verdict.outcome === 'malformed' || verdict.outcome === 'bad_authenticator') {
        return report(verdict.outcome, { source, client: client.name, reason: verdict.reason });
      }
      const { packet } = verdict;
      if (verdict.outcome === 'status_server') {
        // RFC 5997 §3: answered with an Accounting-Response carrying a Message-Authenticator. It has
        // no side effect, so it is answered afresh each time rather than through the duplicate cache.
        send(socket, buildAccountingResponse(packet, client.secret, true), from);
        return report('status_server', { source, client: client.name });
      }
      const key = duplicateKey(from.address, from.port, packet.identifier, packet.authenticator);
      const seen = cache.begin(key);
      if (seen.state === 'answered') {
        send(socket, seen.response, from);
        return report('duplicate', { source, client: client.name });
      }
      if (seen.state === 'in_progress') return report('in_progress', { source, client: client.name });
      const request: AccountingRequest = {
        client,
        source: { address: from.address, port: from.port },
        identifier: packet.identifier,
        attributes: decodeAccountingAttributes(packet),
        receivedAt,
        packet,
      };
      settle(() => options.onAccounting(request)).then(
        () => {
          const response = buildAccountingResponse(packet, client.secret, false);
          cache.answer(key, response);
          send(socket, response, from);
          report('accepted', { source, client: client.name });
        },
        (error: unknown) => {
          // No answer: the NAS retransmits, and the retransmission must be processed again.
          cache.forget(key);
          report('not_acknowledged', { source, client: client.name, reason: errorMessage(error) });
        },
      );
    } catch (error) {
      report('malformed', { source, client: clientName, reason: `unexpected error: ${errorMessage(error)}` });
    }
  };

  const closeAll = async (list: readonly BoundSocket[]): Promise<void> => {
    await Promise.all(list.map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  };

  return {
    async start() {
      if (state !== 'idle') throw new Error(`RADIUS listener cannot start: it is ${state}`);
      state = 'starting';
      const opened: BoundSocket[] = [];
      try {
        for (const endpoint of options.listen) {
          opened.push(await bindEndpoint(endpoint, options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES));
        }
      } catch (error) {
        await closeAll(opened);
        state = 'closed';
        throw error;
      }
      for (const { socket } of opened) {
        socket.on('message', (datagram, from) => receive(socket, datagram, from));
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
      cache.clear();
      await closeAll(list);
    },
    get bound() {
      return state === 'bound';
    },
    addresses() {
      return sockets.map(({ socket, receiveBufferBytes }) => {
        const { address, port, family } = socket.address();
        return { address, port, family, receiveBufferBytes };
      });
    },
  };
}

async function bindEndpoint(endpoint: Endpoint, receiveBufferBytes: number): Promise<BoundSocket> {
  // ipv6Only lets "0.0.0.0:1813" and "[::]:1813" be listed together without EADDRINUSE.
  const socket = createSocket({ type: endpoint.family === 6 ? 'udp6' : 'udp4', ipv6Only: endpoint.family === 6 });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      socket.close();
      const where = hostPort(endpoint.host, endpoint.port);
      reject(new RblError('RBL_LISTEN', `cannot listen for RADIUS accounting on ${where}: ${bindFailure(error)}`, { cause: error }));
    };
    socket.once('error', onError);
    socket.bind({ address: endpoint.host, port: endpoint.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  let granted = 0;
  try {
    // The kernel caps this at net.core.rmem_max without an error; whatever it grants is used.
    socket.setRecvBufferSize(receiveBufferBytes);
  } catch {
    // Some platforms refuse outright; the default buffer still works, only bursts suffer.
  }
  try {
    granted = socket.getRecvBufferSize();
  } catch {
    granted = 0;
  }
  return { socket, receiveBufferBytes: granted };
}

function bindFailure(error: NodeJS.ErrnoException): string {
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

/** "host:port", with IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function settle(call: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
