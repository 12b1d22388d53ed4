/**
 * Which discarded packets end their RadSec connection. RFC 6613 §2.6.4 (RADIUS over TCP, which
 * RFC 6614 §2.5 applies to TLS): over a stream the next packet depends on the one before, so the
 * "silently discard" of RFC 2865 becomes "silently discard and close the connection" for a
 * connection from an unknown client, a Length below the minimum or above the maximum, an attribute
 * Length of 0 or 1, attributes that do not exactly fill the packet, and a Request Authenticator or
 * Message-Authenticator that fails validation. A packet with an invalid Code, or a response that
 * matches no request, is discarded and the connection MAY stay open: it does. Pure code.
 */
import type { PacketOutcome } from '../../handler.js';
import { parsePacket } from '../../packet.js';
import { Code } from '../../protocol.js';

/**
 * Why the connection must close after the request handler decided `outcome` for `packet`, or
 * undefined when it stays open. A broken Length never gets here: the framer closes on it.
 */
export function closingDiscard(outcome: PacketOutcome | undefined, packet: Buffer): string | undefined {
  switch (outcome) {
    case 'bad_authenticator':
      return 'an authenticator failed validation';
    case 'unknown_client':
      return 'the packet is from an unknown client';
    case 'malformed':
      return malformedCloses(packet);
    default:
      return undefined;
  }
}

function malformedCloses(packet: Buffer): string | undefined {
  const code = packet[0];
  // An invalid Code, and a response (Accounting-Response) that no request of ours awaits: the
  // connection may stay open, and does (RFC 6613 §2.6.4, last paragraph).
  if (code !== Code.AccountingRequest && code !== Code.StatusServer) return undefined;
  const parsed = parsePacket(packet);
  // Attribute lengths of 0 or 1, attributes running past Length or not filling it, a
  // Message-Authenticator of the wrong length or given twice (RFC 3579 §3.2: it cannot validate).
  if (!parsed.ok) return `the packet is malformed (${parsed.reason})`;
  // RFC 5997 §3: a Status-Server must carry a Message-Authenticator, its only proof of the secret;
  // without one its validation fails.
  if (parsed.packet.code === Code.StatusServer && parsed.packet.messageAuthenticatorOffset === -1) {
    return 'a Status-Server carries no Message-Authenticator';
  }
  // Well formed, yet not handled (an error of our own): the stream is intact, so it stays open.
  return undefined;
}
