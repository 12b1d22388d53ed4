/**
 * Every attribute of a packet by its dictionary name, for logs and for callers that want more than
 * the accounting attributes. Vendor-Specific attributes are split by their vendor's format; one that
 * does not parse (truncated, or not laid out as its dictionary says) is kept whole as raw octets
 * with the reason, and never throws.
 */
import { formatAddressBytes } from '../net/address.js';
import { decodeIpv6Prefix } from './attributes.js';
import { activeDictionary, type Dictionary, type VendorFormat } from './dictionary.js';
import type { RadiusPacket } from './packet.js';
import { Attribute, HEADER_LENGTH } from './protocol.js';

/** One decoded attribute: its dictionary name ("Attr-N" or "Vendor-V-Attr-N" when unknown) and value. */
export interface NamedAttribute {
  readonly name: string;
  readonly value: string | number;
  /** Why a Vendor-Specific attribute was kept as raw octets. */
  readonly error?: string;
}

/** Names and decodes every attribute of a packet that parsePacket accepted; never throws. */
export function describeAttributes(packet: RadiusPacket, dictionary: Dictionary = activeDictionary()): NamedAttribute[] {
  const out: NamedAttribute[] = [];
  const { bytes, length } = packet;
  for (let offset = HEADER_LENGTH; offset + 2 <= length; ) {
    const type = bytes[offset]!;
    const attributeLength = bytes[offset + 1]!;
    if (attributeLength < 2 || offset + attributeLength > length) break;
    const value = bytes.subarray(offset + 2, offset + attributeLength);
    offset += attributeLength;
    if (type === Attribute.VendorSpecific) {
      const vendorAttributes = splitVendorSpecific(value, dictionary);
      if (Array.isArray(vendorAttributes)) out.push(...vendorAttributes);
      else out.push({ name: 'Vendor-Specific', value: hex(value), error: vendorAttributes.error });
      continue;
    }
    const attribute = dictionary.attribute(0, type);
    out.push({ name: attribute?.name ?? `Attr-${type}`, value: formatValue(value, attribute?.type, attribute?.name, dictionary) });
  }
  return out;
}

/** Splits one Vendor-Specific value into its sub-attributes, or says why it cannot. */
export function splitVendorSpecific(value: Buffer, dictionary: Dictionary): NamedAttribute[] | { error: string } {
  if (value.length < 5) return { error: `Vendor-Specific of ${value.length} octets has no room for a vendor attribute` };
  const vendorId = value.readUInt32BE(0);
  if (vendorId > 0xffffff) return { error: `vendor id ${vendorId} has a non-zero first octet` };
  const vendor = dictionary.vendor(vendorId);
  const format: VendorFormat = vendor?.format ?? { typeOctets: 1, lengthOctets: 1, continuation: false };
  const out: NamedAttribute[] = [];
  const headerOctets = format.typeOctets + format.lengthOctets + (format.continuation ? 1 : 0);
  for (let offset = 4; offset < value.length; ) {
    if (offset + headerOctets > value.length) return { error: `vendor ${vendorId} attribute at octet ${offset} is truncated` };
    const type = readNumber(value, offset, format.typeOctets);
    // format=T,0 (e.g. USR) has no length: one attribute fills the rest of the Vendor-Specific.
    const subLength = format.lengthOctets === 0 ? value.length - offset : readNumber(value, offset + format.typeOctets, format.lengthOctets);
    if (subLength < headerOctets || offset + subLength > value.length) {
      return { error: `vendor ${vendorId} attribute ${type} has length ${subLength}, which does not fit ${value.length - offset} octets left (format=${format.typeOctets},${format.lengthOctets})` };
    }
    const sub = value.subarray(offset + headerOctets, offset + subLength);
    const attribute = dictionary.attribute(vendorId, type);
    out.push({ name: attribute?.name ?? `Vendor-${vendorId}-Attr-${type}`, value: formatValue(sub, attribute?.type, attribute?.name, dictionary) });
    offset += subLength;
  }
  return out;
}

function readNumber(buffer: Buffer, offset: number, octets: number): number {
  if (octets === 1) return buffer[offset]!;
  if (octets === 2) return buffer.readUInt16BE(offset);
  return buffer.readUInt32BE(offset);
}

function formatValue(value: Buffer, type: string | undefined, name: string | undefined, dictionary: Dictionary): string | number {
  switch (type) {
    case 'string':
    case 'text':
      return value.toString('utf8');
    case 'integer':
    case 'date':
    case 'uint32':
      if (value.length !== 4) break;
      return namedValue(value.readUInt32BE(0), name, dictionary);
    case 'short':
    case 'uint16':
      if (value.length !== 2) break;
      return namedValue(value.readUInt16BE(0), name, dictionary);
    case 'byte':
    case 'uint8':
      if (value.length !== 1) break;
      return namedValue(value[0]!, name, dictionary);
    case 'ipaddr':
      if (value.length === 4) return formatAddressBytes(value);
      break;
    case 'ipv6addr':
      if (value.length === 16) return formatAddressBytes(value);
      break;
    case 'ipv6prefix':
      return decodeIpv6Prefix(value) ?? hex(value);
    default:
      break;
  }
  return hex(value);
}

function namedValue(value: number, attribute: string | undefined, dictionary: Dictionary): string | number {
  return (attribute === undefined ? undefined : dictionary.valueName(attribute, value)) ?? value;
}

function hex(value: Buffer): string {
  return `0x${value.toString('hex')}`;
}
