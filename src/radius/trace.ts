/**
 * The packet trace (log.level trace, `serve --trace`): a received packet as `radclient -x` and
 * `radiusd -X` show it, a header line and one `Name = value` line per attribute, named from the
 * RADIUS dictionaries (the radius package's, dictionaries/ and radius.dictionaries), vendor
 * attributes included, so an operator wiring a new NAS sees what it really sends. Packets that are
 * not processed as a new request (a retransmission, a Status-Server, a discard) are traced from their
 * octets, as far as they parse. Secrets are never shown: attributes the dictionary marks encrypted
 * (User-Password, Tunnel-Password: ciphertext under the shared secret) and credentials in URLs are
 * replaced by REDACTED. Pure code.
 */
import { REDACTED, redactUrlsIn } from '../redact.js';
import { describeAttributes } from './describe.js';
import { activeDictionary, type Dictionary } from './dictionary.js';
import { parsePacket, type RadiusPacket } from './packet.js';

/** RFC 2865 §3, RFC 2866 §3, RFC 5997 §3: the codes a sender may point at the accounting port by mistake too. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'Access-Request',
  2: 'Access-Accept',
  3: 'Access-Reject',
  4: 'Accounting-Request',
  5: 'Accounting-Response',
  11: 'Access-Challenge',
  12: 'Status-Server',
};

/** Types whose values radclient prints in double quotes. */
const QUOTED_TYPES: ReadonlySet<string> = new Set(['string', 'text']);

export interface PacketTrace {
  /** "Received Accounting-Request Id 7 from 127.0.0.1:40000 length 62". */
  readonly header: string;
  /** "Acct-Status-Type = Stop", "User-Name = \"bob\"", "Cisco-AVPair = \"ip:addr-pool=dyn\"". */
  readonly attributes: readonly string[];
}

/** The trace of a packet that parsePacket accepted, received from `source` ("address:port"); never throws. */
export function packetTrace(packet: RadiusPacket, source: string, dictionary: Dictionary = activeDictionary()): PacketTrace {
  const code = CODE_NAMES[packet.code] ?? `code ${packet.code}`;
  const attributes = describeAttributes(packet, dictionary).map(({ name, value, error }) => {
    const attribute = dictionary.attributeNamed(name);
    const type = attribute?.type;
    // RFC 2865 §5.2, RFC 2868 §3.5: the value is hidden with the shared secret; with the Request
    // Authenticator it is the material of an offline guess of that secret.
    if (attribute?.flags.some((flag) => flag.startsWith('encrypt=')) === true) return `${name} = ${REDACTED}`;
    let shown = typeof value === 'string' ? redactUrlsIn(value) : String(value);
    if (typeof value === 'string' && type !== undefined && QUOTED_TYPES.has(type)) shown = JSON.stringify(shown);
    else if (typeof value === 'number' && type === 'date') shown = `"${freeradiusDate(value)}"`;
    return error === undefined ? `${name} = ${shown}` : `${name} = ${shown} (${error})`;
  });
  return { header: `Received ${code} Id ${packet.identifier} from ${source} length ${packet.length}`, attributes };
}

/**
 * The trace of a datagram's octets received from `source`: the packet's when it parses, else its
 * header as far as it goes ("Received Access-Request Id 3 from 127.0.0.1:40000 length 44 (38 octets
 * received)"), so a sender pointed at the wrong port or cutting packets short is seen; never throws.
 */
export function octetsTrace(octets: Buffer, source: string, dictionary: Dictionary = activeDictionary()): PacketTrace {
  const parsed = parsePacket(octets);
  if (parsed.ok) return packetTrace(parsed.packet, source, dictionary);
  if (octets.length < 4) return { header: `Received ${octets.length} octets from ${source}`, attributes: [] };
  const code = CODE_NAMES[octets[0]!] ?? `code ${octets[0]!}`;
  return { header: `Received ${code} Id ${octets[1]!} from ${source} length ${octets.readUInt16BE(2)} (${octets.length} octets received)`, attributes: [] };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A date attribute (seconds since the epoch, RFC 2865 §5) as FreeRADIUS prints it: "Nov 29 2026 20:07:56 UTC". */
function freeradiusDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${two(date.getUTCDate())} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC`;
}
