/**
 * The verdict on one datagram from a known client: an Accounting-Request or Status-Server to act
 * on, or a reason to discard it silently (RFC 2865 §3, RFC 2866 §3, RFC 3579 §3.2, RFC 5997 §3).
 */
import { messageAuthenticatorMatches, requestAuthenticatorMatches } from './authenticator.js';
import { parsePacket, type RadiusPacket } from './packet.js';
import { Code } from './protocol.js';

export type PacketVerdict =
  | { readonly outcome: 'accounting'; readonly packet: RadiusPacket }
  | { readonly outcome: 'status_server'; readonly packet: RadiusPacket }
  | { readonly outcome: 'malformed'; readonly reason: string }
  | { readonly outcome: 'bad_authenticator'; readonly reason: string };

/** Parses the datagram and checks its authenticators against the client's secret; never throws. */
export function checkDatagram(datagram: Buffer, secret: Buffer): PacketVerdict {
  const parsed = parsePacket(datagram);
  if (!parsed.ok) return { outcome: 'malformed', reason: parsed.reason };
  const { packet } = parsed;
  const hasMessageAuthenticator = packet.messageAuthenticatorOffset !== -1;
  if (packet.code === Code.StatusServer) {
    // RFC 5997 §3: a Status-Server without a Message-Authenticator is silently discarded. Its
    // Request Authenticator is random, so the Message-Authenticator is the only proof of the secret.
    if (!hasMessageAuthenticator) return { outcome: 'malformed', reason: 'Status-Server without Message-Authenticator' };
    if (!messageAuthenticatorMatches(packet, secret)) return badAuthenticator('Message-Authenticator');
    return { outcome: 'status_server', packet };
  }
  if (!requestAuthenticatorMatches(packet, secret)) return badAuthenticator('Request Authenticator');
  // RFC 3579 §3.2: when present, a wrong Message-Authenticator also means a silent discard.
  if (hasMessageAuthenticator && !messageAuthenticatorMatches(packet, secret)) return badAuthenticator('Message-Authenticator');
  return { outcome: 'accounting', packet };
}

function badAuthenticator(which: string): PacketVerdict {
  return { outcome: 'bad_authenticator', reason: `${which} does not match the client's secret` };
}
