/**
 * Parsing what a DNS server answers: header, question, records (A, TXT, SOA decoded), and the TSIG
 * record with its offset, which response verification needs (RFC 8945 §5.3). Pure code, no I/O.
 * Malformed input throws RBL_DNS_BAD_RESPONSE.
 */
import { RblError } from '../../errors.js';
import { RR_TYPE } from './message.js';

export interface DnsHeader {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  /** The 4-bit RCODE of the header (RFC 1035 §4.1.1). */
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

export interface DnsQuestion {
  /** Lower case, without the trailing dot ("" is the root). */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface SoaData {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdata: Buffer;
  /** Decoded data for A (dotted quad), TXT (its character-strings joined), SOA; undefined otherwise. */
  readonly data: string | SoaData | undefined;
}

/** The TSIG RR (RFC 8945 §4.2), always the last additional record. */
export interface TsigRecord {
  /** Offset of the TSIG RR in the message: the signed part ends here. */
  readonly offset: number;
  readonly keyName: string;
  readonly algorithm: string;
  /** Seconds since the epoch (48 bits). */
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  /** The TSIG error: 0, BADSIG (16), BADKEY (17), BADTIME (18), BADTRUNC (22). */
  readonly error: number;
  readonly otherData: Buffer;
}

export interface DnsMessage {
  readonly header: DnsHeader;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  /** Additional records without the TSIG RR. */
  readonly additionals: readonly DnsRecord[];
  readonly tsig: TsigRecord | undefined;
}

function malformed(what: string): RblError {
  return new RblError('RBL_DNS_BAD_RESPONSE', `malformed DNS response: ${what}`);
}

/** Reads only the 12-byte header; throws RBL_DNS_BAD_RESPONSE when the message is shorter. */
export function parseHeader(message: Buffer): DnsHeader {
  if (message.length < 12) throw malformed(`${message.length} bytes, shorter than a header`);
  const flags = message.readUInt16BE(2);
  return {
    id: message.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rcode: flags & 0x0f,
    qdcount: message.readUInt16BE(4),
    ancount: message.readUInt16BE(6),
    nscount: message.readUInt16BE(8),
    arcount: message.readUInt16BE(10),
  };
}

/** Decodes a possibly compressed name at `offset`; returns it and the offset after it in the message. */
export function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  let jumps = 0;
  let wireLength = 1;
  while (true) {
    if (at >= message.length) throw malformed('name runs past the end');
    const length = message[at]!;
    if (length === 0) {
      at += 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= message.length) throw malformed('name pointer runs past the end');
      // RFC 1035 §4.1.4; a bound on jumps stops pointer loops.
      if (++jumps > 64) throw malformed('name pointer loop');
      if (end === -1) end = at + 2;
      at = ((length & 0x3f) << 8) | message[at + 1]!;
      continue;
    }
    if ((length & 0xc0) !== 0) throw malformed(`label type 0x${length.toString(16)}`);
    if (at + 1 + length > message.length) throw malformed('label runs past the end');
    wireLength += length + 1;
    if (wireLength > 255) throw malformed('name longer than 255 octets');
    labels.push(message.toString('latin1', at + 1, at + 1 + length).toLowerCase());
    at += 1 + length;
  }
  return { name: labels.join('.'), end: end === -1 ? at : end };
}

function readRecord(message: Buffer, offset: number): { record: DnsRecord; end: number; start: number } {
  const { name, end: nameEnd } = readName(message, offset);
  if (nameEnd + 10 > message.length) throw malformed('record header runs past the end');
  const type = message.readUInt16BE(nameEnd);
  const rrClass = message.readUInt16BE(nameEnd + 2);
  const ttl = message.readUInt32BE(nameEnd + 4);
  const rdlength = message.readUInt16BE(nameEnd + 8);
  const rdataOffset = nameEnd + 10;
  if (rdataOffset + rdlength > message.length) throw malformed(`record ${name} data runs past the end`);
  const rdata = message.subarray(rdataOffset, rdataOffset + rdlength);
  let data: DnsRecord['data'];
  if (type === RR_TYPE.A && rdlength === 4) data = `${rdata[0]}.${rdata[1]}.${rdata[2]}.${rdata[3]}`;
  else if (type === RR_TYPE.TXT) data = readTxt(rdata);
  else if (type === RR_TYPE.SOA && rdlength > 0) {
    const mname = readName(message, rdataOffset);
    const rname = readName(message, mname.end);
    if (rname.end + 20 > rdataOffset + rdlength) throw malformed('SOA record too short');
    data = { mname: mname.name, rname: rname.name, serial: message.readUInt32BE(rname.end) };
  }
  return { record: { name, type, class: rrClass, ttl, rdata, data }, start: offset, end: rdataOffset + rdlength };
}

/** TXT RDATA is one or more <character-string>s (RFC 1035 §3.3.14); a DNSBL reason is their concatenation. */
function readTxt(rdata: Buffer): string {
  let text = '';
  let at = 0;
  while (at < rdata.length) {
    const length = rdata[at]!;
    if (at + 1 + length > rdata.length) throw malformed('TXT character-string runs past its record');
    text += rdata.toString('utf8', at + 1, at + 1 + length);
    at += 1 + length;
  }
  return text;
}

function readTsig(message: Buffer, record: DnsRecord, offset: number): TsigRecord {
  const rdata = record.rdata;
  const rdataStart = rdata.byteOffset - message.byteOffset;
  const algorithm = readName(message, rdataStart);
  let at = algorithm.end - rdataStart;
  if (at + 10 > rdata.length) throw malformed('TSIG record too short');
  const timeSigned = rdata.readUIntBE(at, 6);
  const fudge = rdata.readUInt16BE(at + 6);
  const macSize = rdata.readUInt16BE(at + 8);
  at += 10;
  if (at + macSize + 6 > rdata.length) throw malformed('TSIG MAC runs past its record');
  const mac = rdata.subarray(at, at + macSize);
  at += macSize;
  const originalId = rdata.readUInt16BE(at);
  const error = rdata.readUInt16BE(at + 2);
  const otherLength = rdata.readUInt16BE(at + 4);
  at += 6;
  if (at + otherLength !== rdata.length) throw malformed('TSIG other data does not match its record length');
  return {
    offset,
    keyName: record.name,
    algorithm: algorithm.name,
    timeSigned,
    fudge,
    mac,
    originalId,
    error,
    otherData: rdata.subarray(at, at + otherLength),
  };
}

/** Parses a whole DNS message; the TSIG RR, when present, must be the last additional record (RFC 8945 §5.1). */
export function parseMessage(message: Buffer): DnsMessage {
  const header = parseHeader(message);
  let at = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const { name, end } = readName(message, at);
    if (end + 4 > message.length) throw malformed('question runs past the end');
    questions.push({ name, type: message.readUInt16BE(end), class: message.readUInt16BE(end + 2) });
    at = end + 4;
  }
  const section = (count: number): DnsRecord[] => {
    const records: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const { record, end } = readRecord(message, at);
      records.push(record);
      at = end;
    }
    return records;
  };
  const answers = section(header.ancount);
  const authorities = section(header.nscount);
  const additionals: DnsRecord[] = [];
  let tsig: TsigRecord | undefined;
  for (let i = 0; i < header.arcount; i++) {
    const { record, start, end } = readRecord(message, at);
    if (record.type === RR_TYPE.TSIG) {
      if (i !== header.arcount - 1) throw malformed('TSIG record is not the last additional record');
      tsig = readTsig(message, record, start);
    } else {
      additionals.push(record);
    }
    at = end;
  }
  return { header, questions, answers, authorities, additionals, tsig };
}
