/**
 * RADIUS numbers this daemon acts on: packet codes, attribute types and size limits
 * (RFC 2865 §3 and §5, RFC 2866 §4 and §5, RFC 3162, RFC 4818, RFC 5997, RFC 6911).
 */

/** Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5997 §2). */
export const Code = {
  AccountingRequest: 4,
  AccountingResponse: 5,
  StatusServer: 12,
} as const;

/** Attribute types read from an Accounting-Request. */
export const Attribute = {
  UserName: 1,
  NasIpAddress: 4,
  FramedIpAddress: 8,
  VendorSpecific: 26,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctSessionId: 44,
  EventTimestamp: 55,
  MessageAuthenticator: 80,
  NasIpv6Address: 95,
  FramedIpv6Prefix: 97,
  DelegatedIpv6Prefix: 123,
  FramedIpv6Address: 168,
} as const;

/** Code, Identifier, Length and the 16-octet Authenticator (RFC 2865 §3). */
export const HEADER_LENGTH = 20;
/** RFC 2865 §3: "The maximum length is 4096." */
export const MAX_PACKET_LENGTH = 4096;
export const AUTHENTICATOR_OFFSET = 4;
export const AUTHENTICATOR_LENGTH = 16;
/** Type, Length and a 16-octet HMAC-MD5 (RFC 3579 §3.2). */
export const MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH = 18;
