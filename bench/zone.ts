/**
 * The bench's blacklist: which addresses each measurement lists (a block of 10.0.0.0/8 per zone),
 * their zone-file lines, the Stops that unlist them, and counting what is still listed by AXFR.
 */
import { spawnSync } from 'node:child_process';
import { executable } from '../test/helpers/peers.js';
import { buildAccountingRequest } from '../test/helpers/radius-packets.js';
import { identifierOf } from './load.js';

/** The dynamic pool every bench address comes from. */
export const BENCH_POOL = '10.0.0.0/8';
export const BENCH_SECRET = 'bench-secret';

/** A zone of the bench: its name and the block of addresses it lists. */
export interface BenchZone {
  readonly name: string;
  /** The first address of the block, as a 32-bit number. */
  readonly base: number;
  readonly count: number;
}

/** Zone `label`.rbl.bench listing `count` addresses from 10.`block`.0.0 on (a /12 per block: up to 1,048,576). */
export function benchZone(label: string, block: number, count: number): BenchZone {
  if (count > 1 << 20) throw new Error(`a bench zone holds at most ${1 << 20} addresses`);
  return { name: `${label}.rbl.bench`, base: ((10 << 24) | (block << 20)) >>> 0, count };
}

/** The `index`-th of zones of `count` addresses each that share block `block`, one after the other. */
export function repeatedZone(label: string, block: number, index: number, count: number): BenchZone {
  const zone = benchZone(label, block, count * (index + 1));
  return { ...zone, base: (zone.base + index * count) >>> 0, count };
}

/** The i-th listed address of a zone. */
export function addressOf(zone: BenchZone, index: number): string {
  const value = (zone.base + index) >>> 0;
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The RFC 5782 owner name, relative to the zone. */
export function reversedName(address: string): string {
  return address.split('.').reverse().join('.');
}

/** Zone-file lines listing every address of the zone: A 127.0.0.2 and a TXT reason, as a DNSBL does. */
export function listingRecords(zone: BenchZone): string[] {
  const lines: string[] = [];
  for (let i = 0; i < zone.count; i++) {
    const name = reversedName(addressOf(zone, i));
    lines.push(`${name} A 127.0.0.2`, `${name} TXT "rate limit exceeded"`);
  }
  return lines;
}

/**
 * The Stop a NAS sends when the session holding the zone's i-th address ends, with the attributes
 * a broadband NAS usually sends; its Acct-Session-Id is `${prefix}${i}`. Its Framed-IP-Address is the
 * zone's addressIndex-th address (default i): the backlog measurement ends many sessions on few addresses.
 */
export function stopPacket(zone: BenchZone, index: number, sessionPrefix: string, addressIndex = index): Buffer {
  const octets = (value: number): Buffer => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value >>> 0);
    return out;
  };
  return buildAccountingRequest({
    identifier: identifierOf(index),
    secret: BENCH_SECRET,
    attributes: [
      ['Acct-Status-Type', 'Stop'],
      ['User-Name', `subscriber${index}@isp.example`],
      ['Acct-Session-Id', `${sessionPrefix}${index}`],
      ['NAS-IP-Address', '192.0.2.10'],
      [5, octets(index & 0xffff)], // NAS-Port
      [61, octets(15)], // NAS-Port-Type: Ethernet
      ['Framed-IP-Address', addressOf(zone, addressIndex)],
      [46, octets(3600 + (index % 7200))], // Acct-Session-Time
      [42, octets(index * 1013)], // Acct-Input-Octets
      [43, octets(index * 7919)], // Acct-Output-Octets
      [49, octets(1)], // Acct-Terminate-Cause: User-Request
      [31, Buffer.from(`02:00:00:${hex(index >>> 16)}:${hex(index >>> 8)}:${hex(index)}`)], // Calling-Station-Id
      ['Event-Timestamp', Math.floor(Date.now() / 1000)],
    ],
  });
}

function hex(byte: number): string {
  return (byte & 255).toString(16).padStart(2, '0');
}

/** Owner names in the zone that still hold an A or TXT record, from an AXFR signed with the key (the RFC 5782 test entry excluded). */
export function listedNames(port: number, zone: string, keyFile: string): string[] {
  const run = spawnSync(executable('dig'), ['-k', keyFile, '-p', String(port), '@127.0.0.1', zone, 'AXFR', '+noall', '+answer', '+time=10', '+tries=1'], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    timeout: 120_000,
  });
  if (run.status !== 0 || /Transfer failed|connection refused/i.test(run.stdout)) throw new Error(`dig AXFR ${zone} failed: ${run.stderr || run.stdout}`);
  const names = new Set<string>();
  for (const line of run.stdout.split('\n')) {
    const [owner, , , type] = line.split(/\s+/);
    if (!owner || (type !== 'A' && type !== 'TXT')) continue;
    if (owner === `ns.${zone}.` || owner === `2.0.0.127.${zone}.`) continue;
    names.add(owner);
  }
  return [...names];
}
