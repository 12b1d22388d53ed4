/**
 * Decodes the standard attributes the accounting layer needs straight from the packet bytes
 * (RFC 2865 §5, RFC 2866 §5 (with §5.2 Acct-Delay-Time), RFC 2869 §5.3, RFC 3162 §2, RFC 4818 §3, RFC 6911 §3.1).
 * Vendor-Specific attributes are skipped here, so one this daemon cannot parse never costs the
 * packet its standard attributes. An attribute whose value has the wrong size is ignored.
 */
import { isUtf8 } from 'node:buffer';
import { formatAddressBytes, ipv4TextAt, maskBytes } from '../net/address.js';
import type { RadiusPacket } from './packet.js';
import { nasAddressText } from './nas-address-text.js';
import { Attribute, HEADER_LENGTH } from './protocol.js';

/**
 * A text attribute's value: UTF-8, as RFC 2866 §5.5 asks; octets that are not UTF-8 (a NAS's binary
 * Acct-Session-Id) one character each (latin1). Decoded as UTF-8, every invalid octet would become
 * U+FFFD, and binary ids that differ only there would name one session. Only a text holding U+FFFD
 * is checked (an invalid octet, or a U+FFFD the NAS sent): a check of every value, three a packet,
 * cost the daemon 3% of its CPU per Stop.
 */
function attributeText(bytes: Buffer, start: number, end: number): string {
  const text = bytes.toString('utf8', start, end);
  return text.includes('\uFFFD') && !isUtf8(bytes.subarray(start, end)) ? bytes.toString('latin1', start, end) : text;
}

/** What an Accounting-Request says about its session, NAS and addresses. */
export interface AccountingAttributes {
  /** Acct-Status-Type (40). */
  readonly statusType: number | undefined;
  /** Acct-Session-Id (44). */
  readonly sessionId: string | undefined;
  /** User-Name (1). */
  readonly userName: string | undefined;
  /** NAS-IP-Address (4). */
  readonly nasIpAddress: string | undefined;
  /** NAS-IPv6-Address (95). */
  readonly nasIpv6Address: string | undefined;
  /** NAS-Identifier (32). */
  readonly nasIdentifier: string | undefined;
  /** Framed-IP-Address (8). */
  readonly framedIpAddress: string | undefined;
  /** Framed-IPv6-Address (168), which may repeat. */
  readonly framedIpv6Addresses: readonly string[];
  /** Framed-IPv6-Prefix (97), as "addr/len". */
  readonly framedIpv6Prefixes: readonly string[];
  /** Delegated-IPv6-Prefix (123), as "addr/len". */
  readonly delegatedIpv6Prefixes: readonly string[];
  /** Event-Timestamp (55), seconds since the epoch, by the NAS's clock. */
  readonly eventTimestamp: number | undefined;
  /** Acct-Delay-Time (41): seconds the client has been trying to send this record. */
  readonly acctDelayTime: number | undefined;
}

/** Decodes the accounting attributes of a packet that parsePacket accepted (attributes well formed). */
export function decodeAccountingAttributes(packet: RadiusPacket): AccountingAttributes {
  const { bytes, length } = packet;
  let statusType: number | undefined;
  let sessionId: string | undefined;
  let userName: string | undefined;
  let nasIpAddress: string | undefined;
  let nasIpv6Address: string | undefined;
  let nasIdentifier: string | undefined;
  let framedIpAddress: string | undefined;
  let eventTimestamp: number | undefined;
  let acctDelayTime: number | undefined;
  const framedIpv6Addresses: string[] = [];
  const framedIpv6Prefixes: string[] = [];
  const delegatedIpv6Prefixes: string[] = [];
  for (let offset = HEADER_LENGTH; offset + 2 <= length; ) {
    const type = bytes[offset]!;
    const attributeLength = bytes[offset + 1]!;
    if (attributeLength < 2 || offset + attributeLength > length) break;
    const start = offset + 2;
    const end = offset + attributeLength;
    const size = end - start;
    offset = end;
    // The first of a single-valued attribute wins, as FreeRADIUS's "&Attr" does.
    switch (type) {
      case Attribute.AcctStatusType:
        if (size === 4 && statusType === undefined) statusType = bytes.readUInt32BE(start);
        break;
      case Attribute.EventTimestamp:
        if (size === 4 && eventTimestamp === undefined) eventTimestamp = bytes.readUInt32BE(start);
        break;
      case Attribute.AcctDelayTime:
        if (size === 4 && acctDelayTime === undefined) acctDelayTime = bytes.readUInt32BE(start);
        break;
      case Attribute.AcctSessionId:
        if (size > 0 && sessionId === undefined) sessionId = attributeText(bytes, start, end);
        break;
      case Attribute.UserName:
        if (size > 0 && userName === undefined) userName = attributeText(bytes, start, end);
        break;
      case Attribute.NasIdentifier:
        if (size > 0 && nasIdentifier === undefined) nasIdentifier = attributeText(bytes, start, end);
        break;
      case Attribute.NasIpAddress:
        if (size === 4 && nasIpAddress === undefined) nasIpAddress = nasAddressText(bytes, start);
        break;
      case Attribute.FramedIpAddress:
        if (size === 4 && framedIpAddress === undefined) framedIpAddress = ipv4TextAt(bytes, start);
        break;
      case Attribute.NasIpv6Address:
        if (size === 16 && nasIpv6Address === undefined) nasIpv6Address = formatAddressBytes(bytes.subarray(start, end));
        break;
      case Attribute.FramedIpv6Address:
        if (size === 16) framedIpv6Addresses.push(formatAddressBytes(bytes.subarray(start, end)));
        break;
      case Attribute.FramedIpv6Prefix:
        pushPrefix(framedIpv6Prefixes, bytes.subarray(start, end));
        break;
      case Attribute.DelegatedIpv6Prefix:
        pushPrefix(delegatedIpv6Prefixes, bytes.subarray(start, end));
        break;
      default:
        break;
    }
  }
  return {
    statusType,
    sessionId,
    userName,
    nasIpAddress,
    nasIpv6Address,
    nasIdentifier,
    framedIpAddress,
    framedIpv6Addresses,
    framedIpv6Prefixes,
    delegatedIpv6Prefixes,
    eventTimestamp,
    acctDelayTime,
  };
}

/**
 * Decodes an IPv6 prefix value (RFC 3162 §2.3): a reserved octet, the prefix length (0 to 128)
 * and as many prefix octets as that length needs, up to 16; absent trailing octets are zero.
 * Bits past the length are cleared. Returns undefined for a value that breaks those rules.
 */
export function decodeIpv6Prefix(value: Buffer): string | undefined {
  if (value.length < 2 || value.length > 18) return undefined;
  const prefixLength = value[1]!;
  if (prefixLength > 128 || value.length - 2 < Math.ceil(prefixLength / 8)) return undefined;
  const address = Buffer.alloc(16);
  value.copy(address, 0, 2);
  return `${formatAddressBytes(maskBytes(address, prefixLength))}/${prefixLength}`;
}

function pushPrefix(into: string[], value: Buffer): void {
  const prefix = decodeIpv6Prefix(value);
  if (prefix !== undefined) into.push(prefix);
}
