/**
 * Request, Response and Message-Authenticator computation (RFC 2866 §3, RFC 3579 §3.2, RFC 5997 §3).
 * The packet bytes are hashed in place, in slices, so nothing is copied per packet.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from './protocol.js';
import type { RadiusPacket } from './packet.js';

/** Sixteen zero octets: the authenticator field as hashed for an Accounting-Request. */
export const ZERO_AUTHENTICATOR: Buffer = Buffer.alloc(AUTHENTICATOR_LENGTH);

/**
 * RFC 2866 §3: Request Authenticator = MD5(Code + Identifier + Length + 16 zero octets +
 * request attributes + shared secret). Only the octets up to Length count.
 */
export function accountingRequestAuthenticator(packet: RadiusPacket, secret: Buffer): Buffer {
  return createHash('md5')
    .update(packet.bytes.subarray(0, AUTHENTICATOR_OFFSET))
    .update(ZERO_AUTHENTICATOR)
    .update(packet.bytes.subarray(HEADER_LENGTH))
    .update(secret)
    .digest();
}

/** Whether the Accounting-Request's Request Authenticator was made with `secret`, compared in constant time. */
export function requestAuthenticatorMatches(packet: RadiusPacket, secret: Buffer): boolean {
  return timingSafeEqual(accountingRequestAuthenticator(packet, secret), packet.authenticator);
}

/**
 * HMAC-MD5(secret) over the packet with the Message-Authenticator value as 16 zero octets and
 * `authenticatorField` in place of octets 4 to 19. RFC 3579 §3.2 and FreeRADIUS (src/lib/radius.c,
 * rad_sign / rad_verify): an Accounting-Request is signed with that field zeroed, a Status-Server
 * with its own random Request Authenticator, a response with the request's Request Authenticator.
 */
export function messageAuthenticator(packet: RadiusPacket, secret: Buffer, authenticatorField: Buffer): Buffer {
  const { bytes, messageAuthenticatorOffset: at } = packet;
  return createHmac('md5', secret)
    .update(bytes.subarray(0, AUTHENTICATOR_OFFSET))
    .update(authenticatorField)
    .update(bytes.subarray(HEADER_LENGTH, at))
    .update(ZERO_AUTHENTICATOR)
    .update(bytes.subarray(at + AUTHENTICATOR_LENGTH))
    .digest();
}

/** Whether the packet's Message-Authenticator is right for `secret`; false when it has none. */
export function messageAuthenticatorMatches(packet: RadiusPacket, secret: Buffer): boolean {
  const at = packet.messageAuthenticatorOffset;
  if (at === -1) return false;
  // Accounting-Request: FreeRADIUS zeroes the Request Authenticator before the HMAC (it is only
  // computed afterwards); Status-Server carries a random one that the HMAC covers (RFC 5997 §3).
  const field = packet.code === 4 ? ZERO_AUTHENTICATOR : packet.authenticator;
  return timingSafeEqual(messageAuthenticator(packet, secret, field), packet.bytes.subarray(at, at + AUTHENTICATOR_LENGTH));
}

/**
 * RFC 2866 §4: Response Authenticator = MD5(Code + Identifier + Length + Request Authenticator +
 * response attributes + shared secret), for a response whose authenticator field already holds
 * the Request Authenticator.
 */
export function responseAuthenticator(response: Buffer, secret: Buffer): Buffer {
  return createHash('md5').update(response).update(secret).digest();
}
