/**
 * RadSec, RADIUS over TLS (RFC 6614): a TCP listener per listen endpoint feeding one TLS 1.2/1.3
 * server that requires a client certificate chaining to ca_file, binds each connection to the
 * client whose address and certificate_name it matches, frames the stream by the Length field and
 * hands every packet to the request handler. Connections are capped in all (across every listen
 * endpoint) and per client, closed when idle or when a packet breaks RFC 6613 §2.6.4, and outlive
 * a SIGHUP, whose certificates and handshake timeout apply to new connections. A peer that does not
 * read its answers stops being read, then loses its connection (./answers.ts); one with 256 requests
 * waiting for the journal stops being read until fewer wait (./requests.ts). The server closes a
 * connection with a TLS close_notify, and destroys it if the peer does not finish the close.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { ClientConfig, Config, Endpoint } from '../../../config/load.js';
import { RblError } from '../../../errors.js';
import type { CheckState } from '../../../http/readiness.js';
import { matchClient } from '../../clients.js';
import { DuplicateCache } from '../../dedupe.js';
import { hostPort } from '../../../net/host-port.js';
import type { ListenerAddress, Transport, TransportContext } from '../types.js';
import { bindFailure } from '../udp/socket-options.js';
import type { TlsListenerConfig } from './config.js';
import { answerWriter } from './answers.js';
import { closingDiscard } from './discard.js';
import { RadiusStreamFramer } from './framing.js';
import { certificateCarriesName, certificateNames, type CertificateNames } from './identity.js';
import { OpenConnections } from './open-connections.js';
import { readingGate } from './reading.js';
import { requestQueue } from './requests.js';

/** A handshake that has not finished after this long is abandoned (a plain-TCP client, a stalled peer). */
const MAX_HANDSHAKE_MS = 10_000;

/** How long a peer has to finish the close after our close_notify before its socket is destroyed. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Handshake errors about certificates: mostly the peer refusing ours (a TLS alert such as "unknown ca"
 * or "bad certificate": its CA file lacks our issuer). Its own certificate is judged in admit().
 */
const CERTIFICATE_ERROR = /CERT|certificate|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ISSUER|unknown ca|peer did not return/i;

/** Builds the RadSec transport; nothing is bound until start(). */
export function createTlsTransport(initial: TlsListenerConfig, context: TransportContext): Transport {
  let config = initial;
  /** One TCP listener per listen endpoint; each hands its connections to the one TLS server. */
  let servers: Server[] = [];
  let state: 'idle' | 'starting' | 'listening' | 'closed' = 'idle';
  /**
   * Every TCP connection of every listen endpoint, before and after its handshake: what
   * radius.tls.max_connections caps, and what close() ends.
   */
  const sockets = new Set<Socket>();
  /** The connections closeConnection() is closing: their packets are no longer handled. */
  const closing = new WeakSet<TLSSocket>();
  /** Established connections per client name. */
  const perClient = new OpenConnections();
  /** TCP connections per source address, before and after the handshake. */
  const perSource = new OpenConnections();

  const secureContext = (c: TlsListenerConfig) => ({ cert: c.certificate, key: c.key, ca: c.ca });

  /**
   * Closes an established connection: RFC 6614bis (draft-ietf-radext-radiusdtls-bis) says the side
   * that closes SHOULD send a TLS close_notify, which socket.end() sends after the writes queued
   * before it (destroy() does not). A peer that never reads it or never closes its side cannot hold
   * the socket (and its place under max_connections): it is destroyed after CLOSE_GRACE_MS.
   * Nothing it sends meanwhile is read.
   */
  const closeConnection = (socket: TLSSocket): void => {
    if (socket.destroyed || closing.has(socket)) return;
    closing.add(socket);
    socket.setTimeout(0);
    const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    socket.once('close', () => {
      clearTimeout(grace);
      closing.delete(socket);
    });
    socket.end();
  };

  const notice = (message: string, detail: Record<string, unknown>): void => context.onNotice?.(message, detail);

  /** RFC 6614 §2.3: the client is whoever its address and certificate both say it is. */
  const admit = (socket: TLSSocket): void => {
    const address = plainAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    const source = hostPort(address, port);
    const refuse = (outcome: 'bad_certificate' | 'unknown_client' | 'too_many_connections', reason: string, client?: string): void => {
      context.report(outcome, { source, transport: 'tls', client, reason });
      closeConnection(socket);
    };
    // Mutual authentication is required: no certificate, or one not chaining to ca_file, goes at once.
    if (!socket.authorized) return refuse('bad_certificate', `certificate refused: ${describeAuthorizationError(socket.authorizationError)}`);
    const client = matchClient(context.clients(), address, 'tls');
    if (!client) return refuse('unknown_client', 'no client with transport: tls holds this address');
    const certificate = socket.getPeerCertificate();
    if (client.certificateName !== undefined && !certificateCarriesName(certificate, client.certificateName)) {
      const names = certificateNames(certificate);
      return refuse('bad_certificate', `certificate names ${names.length > 0 ? names.join(', ') : 'nothing'}, not certificate_name ${client.certificateName}`, client.name);
    }
    const open = perClient.count(client.name);
    if (open >= config.maxConnectionsPerClient) {
      return refuse('too_many_connections', `${open} connections open, radius.tls.max_connections_per_client is ${config.maxConnectionsPerClient}`, client.name);
    }
    perClient.hold(client.name, socket);
    serve(socket, client.name, certificate, address, port, source);
  };

  /** One established connection: frame, hand over, answer on the same connection. */
  const serve = (socket: TLSSocket, clientName: string, certificate: CertificateNames, address: string, port: number, source: string): void => {
    const framer = new RadiusStreamFramer();
    // RFC 5080 §2.2.2 per connection: a request is only ever retransmitted on the connection it came on.
    const duplicates = new DuplicateCache();
    const reading = readingGate(socket);
    const answers = answerWriter(socket, {
      reading,
      idleTimeoutMs: () => config.idleTimeoutMs,
      onUnread: (reason) => {
        if (closing.has(socket)) return;
        context.report('answers_unread', { source, transport: 'tls', client: clientName, reason });
        closeConnection(socket);
      },
    });
    const reply = (response: Buffer): void => answers.write(response);
    // The client list the connection was last judged against, and its client there.
    let judgedAgainst: readonly ClientConfig[] | undefined;
    let client: ClientConfig | undefined;
    const requests = requestQueue(reading, (packet, finished) => {
      if (closing.has(socket) || socket.destroyed) return 'closing';
      // Judged again after each reload, so a reloaded secret applies at once, and a connection the
      // new config would refuse (its client gone, or its address or certificate_name changed) goes.
      const clients = context.clients();
      if (clients !== judgedAgainst) {
        judgedAgainst = clients;
        const verdict = rejudge(clients, clientName, address, certificate);
        if (typeof verdict === 'string') {
          notice(`RadSec connection closed: ${verdict}`, { source, client: clientName });
          closeConnection(socket);
          return 'closing';
        }
        client = verdict;
      }
      if (!client) return 'closing';
      const outcome = context.handler.receive(packet, { transport: 'tls', address, port, client, duplicates }, reply, finished);
      if (outcome === undefined) return 'handed_over';
      // RFC 6613 §2.6.4: the handler counted and logged the discard; the connection goes with it,
      // and the packets after it are never handled.
      const why = closingDiscard(outcome, packet);
      if (why === undefined) return 'decided';
      notice(`RadSec connection closed: ${why} (RFC 6613 §2.6.4)`, { source, client: clientName, outcome });
      closeConnection(socket);
      return 'closing';
    });
    socket.once('close', () => requests.clear());
    socket.setTimeout(config.idleTimeoutMs);
    socket.on('timeout', () => {
      // Reading stopped for a peer that leaves its answers unread: the answer writer closes it, saying so.
      // Reading stopped for requests waiting for the journal: the peer is silent because it waits for us.
      if (answers.blocked() || requests.full()) return;
      const pending = framer.buffered > 0 ? ` with ${framer.buffered} octets of an unfinished packet` : '';
      notice(`RadSec connection closed: idle for ${config.idleTimeoutMs / 1000} s${pending}`, { source, client: clientName });
      closeConnection(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      if (closing.has(socket)) return;
      const framed = framer.push(chunk);
      requests.push(framed.packets);
      if (!framed.ok) {
        // RFC 6614 §2.5 (RFC 6613 §2.6.4): a bad Length loses the framing; only this connection goes,
        // once the whole packets before it are handled.
        const { reason } = framed;
        requests.afterQueued(() => {
          context.report('malformed', { source, transport: 'tls', client: clientName, reason: `${reason}; connection closed` });
          closeConnection(socket);
        });
      }
    });
    socket.on('error', () => {
      // A reset by the peer; 'close' follows and cleans up.
    });
  };

  const onHandshakeError = (error: Error & { code?: string }, socket: TLSSocket): void => {
    // The peer may be gone already, and its address with it.
    const source = socket.remoteAddress ? hostPort(plainAddress(socket.remoteAddress), socket.remotePort ?? 0) : 'unknown (connection already closed)';
    const reason = `TLS handshake failed: ${error.code ? `${error.code}, ` : ''}${error.message}`;
    context.report(CERTIFICATE_ERROR.test(`${error.code ?? ''} ${error.message}`) ? 'bad_certificate' : 'malformed', { source, transport: 'tls', reason });
    // With a 'tlsClientError' listener node:tls leaves the socket open: a peer that went silent
    // (ERR_TLS_HANDSHAKE_TIMEOUT) would keep it, and its place under max_connections, for good.
    socket.destroy();
  };

  /**
   * The TLS server new connections are handed to (it does not listen itself: the TCP listeners emit
   * 'connection' on it). node:tls reads handshakeTimeout only when a server is made, so a reload
   * makes a new one; the connections of the previous one keep going.
   */
  const tlsServerFor = (c: TlsListenerConfig) => {
    const server = createTlsServer({
      ...secureContext(c),
      requestCert: true,
      // Checked in admit() instead: with true, node:tls drops an unverified client without any event,
      // and the operator would never learn why a RADIUS server cannot connect.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: Math.min(c.idleTimeoutMs, MAX_HANDSHAKE_MS),
    });
    server.on('secureConnection', admit);
    server.on('tlsClientError', onHandshakeError);
    return server;
  };
  let tlsServer = tlsServerFor(config);

  /**
   * A new TCP connection on any listen endpoint, refused before any TLS: over max_connections
   * (counted across all of them), from an address no `transport: tls` client holds, or from an
   * address that has max_connections_per_client open already. A handshake may take 10 s, so
   * without the last two anyone who can reach the port could hold every place with connections
   * that never finish one, and keep the configured peers out.
   */
  const accept = (socket: Socket, endpoint: string): void => {
    const address = plainAddress(socket.remoteAddress ?? '');
    const refuse = (outcome: 'unknown_client' | 'too_many_connections', reason: string, client?: string): void => {
      context.report(outcome, { source: hostPort(address, socket.remotePort ?? 0), transport: 'tls', client, reason });
      socket.on('error', () => undefined);
      socket.destroy();
    };
    if (sockets.size >= config.maxConnections) {
      return refuse('too_many_connections', `radius.tls.max_connections (${config.maxConnections}) reached, counting every listen address; refused on ${endpoint}`);
    }
    const client = matchClient(context.clients(), address, 'tls');
    if (!client) return refuse('unknown_client', 'no client with transport: tls holds this address; refused before TLS');
    const open = perSource.count(address);
    if (open >= config.maxConnectionsPerClient) {
      return refuse('too_many_connections', `${open} connections open from ${address}, radius.tls.max_connections_per_client is ${config.maxConnectionsPerClient}; refused before TLS`, client.name);
    }
    perSource.hold(address, socket);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    tlsServer.emit('connection', socket);
  };

  const listen = async (endpoint: Endpoint): Promise<Server> => {
    const server = createTcpServer();
    server.on('connection', (socket: Socket) => accept(socket, hostPort(endpoint.host, boundPort(server, endpoint.port))));
    server.on('error', (error) => context.onError?.(error));
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(new RblError('RBL_LISTEN', `cannot listen for RadSec on ${hostPort(endpoint.host, endpoint.port)}: ${bindFailure(error)}`, { cause: error }));
      };
      server.once('error', onError);
      server.listen({ host: endpoint.host, port: endpoint.port, exclusive: true, ipv6Only: endpoint.family === 6 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    return server;
  };

  const closeServers = async (list: readonly Server[]): Promise<void> => {
    await Promise.all(list.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  };

  return {
    name: 'tls',
    checkName: 'radius tls',
    async start() {
      if (state !== 'idle') throw new Error(`RadSec transport cannot start: it is ${state}`);
      state = 'starting';
      const opened: Server[] = [];
      try {
        for (const endpoint of config.listen) opened.push(await listen(endpoint));
      } catch (error) {
        await closeServers(opened);
        state = 'closed';
        throw error;
      }
      servers = opened;
      state = 'listening';
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      const list = servers;
      servers = [];
      for (const socket of sockets) socket.destroy();
      await closeServers(list);
    },
    reload(next: Config) {
      const tls = next.radius.tls;
      // Without radius.tls the listener stays until a restart; the daemon says so.
      if (!tls) return;
      // The caps and the idle timeout are read at each connection, so the new ones apply at once.
      config = { ...tls, listen: config.listen };
      // New handshakes use the new certificate, key, CA and handshake timeout; established connections keep going.
      tlsServer = tlsServerFor(config);
    },
    addresses(): ListenerAddress[] {
      return servers.flatMap((server) => {
        const bound = server.address();
        return bound && typeof bound === 'object' ? [{ transport: 'tls' as const, address: bound.address, port: bound.port, family: bound.family }] : [];
      });
    },
    ready(): CheckState {
      return state === 'listening' && servers.every((server) => server.listening) ? { ok: true } : { ok: false, error: 'RadSec listener not bound' };
    },
  };
}

function describeAuthorizationError(error: Error | string | undefined): string {
  const code = typeof error === 'string' ? error : (error as (Error & { code?: string }) | undefined)?.code ?? error?.message;
  return code ?? 'no certificate';
}

/** The port a server is bound to (the real one when configured as 0). */
function boundPort(server: Server, configured: number): number {
  const address = server.address();
  return address && typeof address === 'object' ? address.port : configured;
}

/**
 * The connection's client in a reloaded list, judged as admit() judged it (RFC 6614 §2.3: its
 * address and its certificate both say who it is), or why the new config would refuse it.
 */
function rejudge(clients: readonly ClientConfig[], name: string, address: string, certificate: CertificateNames): ClientConfig | string {
  if (!clients.some((client) => client.name === name && client.transport === 'tls')) return 'its client is no longer configured';
  const client = matchClient(clients, address, 'tls');
  if (client?.name !== name) return `its address is ${client ? `client ${client.name}'s` : "no tls client's"} in the reloaded config, not ${name}'s`;
  if (client.certificateName !== undefined && !certificateCarriesName(certificate, client.certificateName)) {
    return `its certificate does not carry certificate_name ${client.certificateName}, which the reloaded config asks of ${name}`;
  }
  return client;
}

/** "::ffff:192.0.2.1" as "192.0.2.1": a dual-stack socket reports IPv4 peers mapped. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
