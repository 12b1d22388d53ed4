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
}

/** The detail of a request screenDatagram let through: its client and when it was read are known. */
export interface RequestDetail extends PacketDetail {
  readonly client: string;
  /** Date.now() when the packet was read: the event's time (the answer's latency is the transport's, see `answered`). */
  readonly receivedAt: number;
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
  /** Called once per request recorded and answered, when its Accounting-Response is sent: the seconds since its datagram was read. */
  readonly onAnswered?: (seconds: number) => void;
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
  /**
   * Reports the answer to a request handed over (handOver) sent, by a transport that sends its
   * answers elsewhere (the UDP receive thread): the seconds from reading its datagram to sending it.
   */
  answered(seconds: number): void;
  /**
   * Takes a request a transport screened itself (the UDP receive thread, through screenDatagram):
   * resolves once it is recorded and may be answered, rejects when the NAS must retransmit. The
   * outcome (accepted, not_acknowledged) is reported here; the transport sends the answer.
   */
  handOver(packet: RadiusPacket, client: ClientConfig, source: PacketSource, detail: RequestDetail): Promise<void>;
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

  /**
   * Takes a request screenDatagram let through (here, or in the UDP receive thread): decodes it,
   * hands it over, and resolves once it is recorded, or rejects (no answer: the NAS retransmits).
   * The outcome is reported either way; the caller builds and sends the answer.
   */
  const handOver = (packet: RadiusPacket, client: ClientConfig, from: PacketSource, detail: RequestDetail): Promise<void> => {
    let recorded: Promise<void>;
    try {
      const request: AccountingRequest = {
        client,
        source: from,
        identifier: packet.identifier,
        attributes: decodeAccountingAttributes(packet),
        packet,
        receivedAt: detail.receivedAt,
      };
      recorded = options.onAccounting(request);
    } catch (error) {
      recorded = Promise.reject(error);
    }
    return recorded.then(
      () => {
        report('accepted', detail);
      },
      (error: unknown) => {
        report('not_acknowledged', { ...detail, reason: errorMessage(error) });
        throw error;
      },
    );
  };

  const answered = (seconds: number): void => {
    try {
      options.onAnswered?.(seconds);
    } catch {
      // As a failing onPacket: the metrics must not take the transport down.
    }
  };

  const receive = (bytes: Buffer, from: PacketSource, reply: Reply, settled?: () => void): PacketOutcome | undefined => {
    // Monotonic and finer than the millisecond of Date.now(): most answers take less than one.
    const readAt = performance.now();
    const cache = from.duplicates ?? sharedCache;
    const screened = screenDatagram(bytes, from, options.clients(), cache);
    if (screened.kind !== 'request') {
      if (screened.response) reply(screened.response);
      return report(screened.outcome, screened.detail);
    }
    const { packet, client, detail } = screened;
    handOver(packet, client, from, detail).then(
      () => {
        try {
          reply(answerScreened(cache, from.address, from.port, packet, client.secret));
          answered((performance.now() - readAt) / 1000);
        } finally {
          settled?.();
        }
      },
      () => {
        forgetScreened(cache, from.address, from.port, packet);
        settled?.();
      },
    );
    return undefined;
  };

  return { receive, report, handOver, answered, clear: () => sharedCache.clear() };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What screenDatagram made of a datagram: answered or dropped at once, or a request to hand over. */
export type ScreenedDatagram =
  | {
      readonly kind: 'done';
      readonly outcome: PacketOutcome;
      readonly detail: PacketDetail;
      /** The answer to send back (Status-Server, a duplicate's answer again), if any. */
      readonly response?: Buffer;
    }
  | { readonly kind: 'request'; readonly packet: RadiusPacket; readonly client: ClientConfig; readonly detail: RequestDetail };

/**
 * The part of a request's handling that needs no state but the duplicate cache: match the client,
 * validate (length, authenticators), answer a Status-Server, detect a duplicate (RFC 5080 §2.2.2).
 * Never throws. A `request` is marked in progress in `cache`: its handling ends with
 * cache.answer or cache.forget.
 */
export function screenDatagram(bytes: Buffer, from: PacketSource, clients: readonly ClientConfig[], cache: DuplicateCache): ScreenedDatagram {
  const receivedAt = Date.now();
  const { transport } = from;
  const source = hostPort(from.address, from.port);
  let clientName: string | undefined;
  try {
    const client = from.client ?? matchClient(clients, from.address, transport);
    // RFC 2865 §3 / RFC 5080 §2.3.3: a packet from an unknown source is silently discarded.
    if (!client) return done('unknown_client', { source, transport, octets: bytes });
    clientName = client.name;
    const detail = { source, transport, client: client.name, octets: bytes, receivedAt };
    // No socket sends from port 0, and no answer can go there: a forged datagram (a captured
    // packet sent again through a raw socket). Processed, it would be recorded and then unanswerable.
    if (from.port === 0) return done('malformed', { ...detail, reason: 'source port 0, where no answer can go' });
    const verdict = checkDatagram(bytes, client.secret);
    if (verdict.outcome === 'malformed' || verdict.outcome === 'bad_authenticator') {
      return done(verdict.outcome, { ...detail, reason: verdict.reason });
    }
    const { packet } = verdict;
    if (verdict.outcome === 'status_server') {
      // RFC 5997 §3 (and RFC 6614 §2.6 over TLS): answered with an Accounting-Response carrying a
      // Message-Authenticator. It has no side effect, so it is answered afresh each time.
      return done('status_server', detail, buildAccountingResponse(packet, client.secret, true));
    }
    const seen = cache.begin(from.address, from.port, packet.identifier, packet.authenticator);
    if (seen.state === 'answered') {
      // RFC 5080 §2.2.2: answered again, not processed again. The answer is built afresh from the
      // retransmission: it has the first one's Identifier, authenticator and Proxy-States (the
      // authenticator covers them), so these are the octets sent the first time, and the cache
      // holds no copy of each answer for its 5 s.
      return done('duplicate', detail, buildAccountingResponse(packet, client.secret, false));
    }
    if (seen.state === 'in_progress') return done('in_progress', detail);
    return { kind: 'request', packet, client, detail };
  } catch (error) {
    return done('malformed', { source, transport, client: clientName, reason: `unexpected error: ${errorMessage(error)}`, octets: bytes });
  }
}

/**
 * Ends a request screenDatagram let through and the service recorded: remembered as answered in
 * the duplicate cache that marked it in progress, and its Accounting-Response returned to send.
 */
export function answerScreened(cache: DuplicateCache, address: string, port: number, packet: RadiusPacket, secret: Buffer): Buffer {
  const response = buildAccountingResponse(packet, secret, false);
  cache.answer(address, port, packet.identifier, packet.authenticator);
  return response;
}

/** Ends a request screenDatagram let through and the service did not record: no answer, and forgotten, so the NAS's retransmission is processed again. */
export function forgetScreened(cache: DuplicateCache, address: string, port: number, packet: RadiusPacket): void {
  cache.forget(address, port, packet.identifier, packet.authenticator);
}

function done(outcome: PacketOutcome, detail: PacketDetail, response?: Buffer): ScreenedDatagram {
  return response ? { kind: 'done', outcome, detail, response } : { kind: 'done', outcome, detail };
}
