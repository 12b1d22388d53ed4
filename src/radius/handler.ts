/**
 * The one RADIUS request handler every transport feeds: match the client, validate (length,
 * authenticators), detect duplicates (RFC 5080 §2.2.2), decode, hand the request over, and answer
 * once it is recorded. It knows no sockets: a transport gives it the octets of one packet, where they
 * came from and how to answer, and the handler decides everything else.
 */
import type { ClientConfig } from '../config/load.js';
import { hostPort } from '../net/host-port.js';
import { decodeAccountingAttributes, type AccountingAttributes } from './attributes.js';
import { matchClient } from './clients.js';
import { DuplicateCache, type DuplicateCacheOptions } from './dedupe.js';
import type { RadiusPacket } from './packet.js';
import { buildAccountingResponse } from './response.js';
import type { TransportName } from './transports/types.js';
import { checkDatagram } from './validate.js';

export type PacketOutcome =
  | 'accepted'
  | 'duplicate'
  | 'in_progress'
  | 'bad_authenticator'
  | 'unknown_client'
  | 'malformed'
  | 'status_server'
  | 'not_acknowledged'
  /** RadSec: the client's certificate did not verify, or is not the one its address is bound to. */
  | 'bad_certificate'
  /** RadSec: a connection over radius.tls.max_connections or max_connections_per_client. */
  | 'too_many_connections'
  /** RadSec: a connection closed because its peer left its answers unread (radius/transports/tls/answers.ts). */
  | 'answers_unread';

export interface AccountingRequest {
  readonly client: ClientConfig;
  readonly source: { readonly address: string; readonly port: number; readonly transport: TransportName };
  readonly identifier: number;
  readonly attributes: AccountingAttributes;
  /** The validated packet (its octets, for a packet trace). */
  readonly packet: RadiusPacket;
  /** Date.now() when the packet was read. */
  readonly receivedAt: number;
}

export interface PacketDetail {
  /** "address:port", IPv6 in brackets. */
  readonly source: string;
  readonly transport: TransportName;
  readonly client?: string;
  readonly reason?: string;
  /** The packet's octets as received, for the packet trace; absent for what a transport reports on its own. */
  readonly octets?: Buffer;
  /** Date.now() when the packet was read: with `accepted`, the answer's latency runs from here. */
  readonly receivedAt?: number;
}

/** Where one packet came from, as its transport knows it. */
export interface PacketSource {
  readonly transport: TransportName;
  readonly address: string;
  readonly port: number;
  /** The client the transport already matched (RadSec, at the handshake); absent, it is matched by address here. */
  readonly client?: ClientConfig;
  /** The duplicate cache of this conversation (one RadSec connection); absent, the handler's shared one (UDP). */
  readonly duplicates?: DuplicateCache;
}

/** Sends the octets of an answer back the way the packet came. */
export type Reply = (response: Buffer) => void;

export interface RequestHandlerOptions {
  /** Read for every packet, so a SIGHUP reload takes effect at once. */
  readonly clients: () => readonly ClientConfig[];
  /** Called for each valid, non-duplicate Accounting-Request; the answer is sent when it resolves, nothing when it rejects (the NAS retransmits). */
  readonly onAccounting: (request: AccountingRequest) => Promise<void>;
  /** Called once per packet with its outcome (metrics, rate-limited logs by the caller). */
  readonly onPacket?: (outcome: PacketOutcome, detail: PacketDetail) => void;
  /** Tuning of the shared duplicate-detection cache; the defaults suit production. */
  readonly duplicates?: DuplicateCacheOptions;
}

export interface RequestHandler {
  /**
   * Handles the octets of one packet; never throws, answers through `reply` at most once. Returns
   * the outcome when it is decided at once (a discard, a duplicate, Status-Server), or undefined
   * for a request handed over (its outcome is reported when it settles): RadSec closes the
   * connection on some discards (RFC 6613 §2.6.4). `settled` is called once a request handed over
   * is done, answered or not acknowledged: how RadSec counts a connection's requests in flight.
   */
  receive(bytes: Buffer, source: PacketSource, reply: Reply, settled?: () => void): PacketOutcome | undefined;
  /** Reports an outcome a transport decided on its own (a refused connection, bad framing). */
  report(outcome: PacketOutcome, detail: PacketDetail): void;
  /** Forgets the remembered answers (the listener closing). */
  clear(): void;
}

/** Builds the handler; it holds only the shared duplicate cache. */
export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  const sharedCache = new DuplicateCache(options.duplicates);

  const report = (outcome: PacketOutcome, detail: PacketDetail): PacketOutcome => {
    try {
      options.onPacket?.(outcome, detail);
    } catch {
      // A failing metrics callback must not take the transport down with it.
    }
    return outcome;
  };

  const receive = (bytes: Buffer, from: PacketSource, reply: Reply, settled?: () => void): PacketOutcome | undefined => {
    const receivedAt = Date.now();
    const { transport } = from;
    const source = hostPort(from.address, from.port);
    let clientName: string | undefined;
    try {
      const client = from.client ?? matchClient(options.clients(), from.address, transport);
      // RFC 2865 §3 / RFC 5080 §2.3.3: a packet from an unknown source is silently discarded.
      if (!client) return report('unknown_client', { source, transport, octets: bytes });
      clientName = client.name;
      const detail = { source, transport, client: client.name, octets: bytes, receivedAt };
      // No socket sends from port 0, and no answer can go there: a forged datagram (a captured
      // packet sent again through a raw socket). Processed, it would be recorded and then unanswerable.
      if (from.port === 0) return report('malformed', { ...detail, reason: 'source port 0, where no answer can go' });
      const verdict = checkDatagram(bytes, client.secret);
      if (verdict.outcome === 'malformed' || verdict.outcome === 'bad_authenticator') {
        return report(verdict.outcome, { ...detail, reason: verdict.reason });
      }
      const { packet } = verdict;
      if (verdict.outcome === 'status_server') {
        // RFC 5997 §3 (and RFC 6614 §2.6 over TLS): answered with an Accounting-Response carrying a
        // Message-Authenticator. It has no side effect, so it is answered afresh each time.
        reply(buildAccountingResponse(packet, client.secret, true));
        return report('status_server', detail);
      }
      const cache = from.duplicates ?? sharedCache;
      const seen = cache.begin(from.address, from.port, packet.identifier, packet.authenticator);
      if (seen.state === 'answered') {
        // RFC 5080 §2.2.2: answered again, not processed again. The answer is built afresh from the
        // retransmission: it has the first one's Identifier, authenticator and Proxy-States (the
        // authenticator covers them), so these are the octets sent the first time, and the cache
        // holds no copy of each answer for its 5 s.
        reply(buildAccountingResponse(packet, client.secret, false));
        return report('duplicate', detail);
      }
      if (seen.state === 'in_progress') return report('in_progress', detail);
      const request: AccountingRequest = {
        client,
        source: from,
        identifier: packet.identifier,
        attributes: decodeAccountingAttributes(packet),
        packet,
        receivedAt,
      };
      let recorded: Promise<void>;
      try {
        recorded = options.onAccounting(request);
      } catch (error) {
        recorded = Promise.reject(error);
      }
      recorded.then(
        () => {
          try {
            const response = buildAccountingResponse(packet, client.secret, false);
            cache.answer(from.address, from.port, packet.identifier, packet.authenticator);
            reply(response);
            report('accepted', detail);
          } finally {
            settled?.();
          }
        },
        (error: unknown) => {
          // No answer: the NAS retransmits, and the retransmission must be processed again.
          cache.forget(from.address, from.port, packet.identifier, packet.authenticator);
          report('not_acknowledged', { ...detail, reason: errorMessage(error) });
          settled?.();
        },
      );
      return undefined;
    } catch (error) {
      return report('malformed', { source, transport, client: clientName, reason: `unexpected error: ${errorMessage(error)}`, octets: bytes });
    }
  };

  return { receive, report, clear: () => sharedCache.clear() };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
