/**
 * The structure of a received RADIUS datagram: header, Length and the attribute list
 * (RFC 2865 §3 and §5). Pure code; authenticators are checked in authenticator.ts.
 */
import {
  Attribute,
  AUTHENTICATOR_LENGTH,
  AUTHENTICATOR_OFFSET,
  Code,
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH,
} from './protocol.js';

/** A structurally valid Accounting-Request or Status-Server; every slice shares the datagram's memory. */
export interface RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  /** The Length field; the datagram may be longer, the rest is padding. */
  readonly length: number;
  /** The datagram cut to Length. */
  readonly bytes: Buffer;
  /** The Request Authenticator (octets 4 to 19). */
  readonly authenticator: Buffer;
  /** Offset in `bytes` of the Message-Authenticator's 16-octet value, or -1 when there is none. */
  readonly messageAuthenticatorOffset: number;
}

export type PacketParse = { readonly ok: true; readonly packet: RadiusPacket } | { readonly ok: false; readonly reason: string };

/** Checks the header, the Length and that every attribute is well formed; never throws. */
export function parsePacket(datagram: Buffer): PacketParse {
  if (datagram.length < HEADER_LENGTH) return fail(`datagram of ${datagram.length} octets is shorter than the 20-octet header`);
  const code = datagram[0]!;
  const length = datagram.readUInt16BE(2);
  // RFC 2865 §3: a Length below 20 or above 4096 is silently discarded; so is a datagram shorter than
  // its Length. Octets past Length are padding and are ignored.
  if (length < HEADER_LENGTH) return fail(`Length ${length} is below the 20-octet minimum`);
  if (length > MAX_PACKET_LENGTH) return fail(`Length ${length} is above the 4096-octet maximum`);
  if (length > datagram.length) return fail(`Length ${length} is longer than the ${datagram.length}-octet datagram`);
  if (code !== Code.AccountingRequest && code !== Code.StatusServer) {
    return fail(`code ${code} is neither Accounting-Request (4) nor Status-Server (12)`);
  }
  const bytes = length === datagram.length ? datagram : datagram.subarray(0, length);
  let messageAuthenticatorOffset = -1;
  for (let offset = HEADER_LENGTH; offset < length; ) {
    if (offset + 2 > length) return fail(`attribute at octet ${offset} has no room for its type and length`);
    const type = bytes[offset]!;
    const attributeLength = bytes[offset + 1]!;
    if (attributeLength < 2) return fail(`attribute ${type} at octet ${offset} has length ${attributeLength}, below 2`);
    if (offset + attributeLength > length) return fail(`attribute ${type} at octet ${offset} runs past Length ${length}`);
    if (type === Attribute.MessageAuthenticator) {
      // RFC 3579 §3.2: exactly 18 octets, and at most one per packet.
      if (attributeLength !== MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH) return fail(`Message-Authenticator has length ${attributeLength}, not 18`);
      if (messageAuthenticatorOffset !== -1) return fail('more than one Message-Authenticator');
      messageAuthenticatorOffset = offset + 2;
    }
    offset += attributeLength;
  }
  return {
    ok: true,
    packet: {
      code,
      identifier: bytes[1]!,
      length,
      bytes,
      authenticator: bytes.subarray(AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH),
      messageAuthenticatorOffset,
    },
  };
}

function fail(reason: string): PacketParse {
  return { ok: false, reason };
}

/**
 * Every Proxy-State attribute of the packet (RFC 2865 §5.33), whole (type, length and value) and in
 * the order received, as slices of the packet. Call only on a packet parsePacket accepted.
 */
export function proxyStateAttributes(packet: RadiusPacket): Buffer[] {
  const found: Buffer[] = [];
  const { bytes, length } = packet;
  for (let offset = HEADER_LENGTH; offset < length; offset += bytes[offset + 1]!) {
    if (bytes[offset] === Attribute.ProxyState) found.push(bytes.subarray(offset, offset + bytes[offset + 1]!));
  }
  return found;
}
