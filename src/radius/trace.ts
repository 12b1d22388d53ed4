/**
 * The packet trace (log.level trace, `serve --trace`): a received packet as `radclient -x` and
 * `radiusd -X` show it, a header line and one `Name = value` line per attribute, named from the
 * RADIUS dictionaries (the radius package's, dictionaries/ and radius.dictionaries), vendor
 * attributes included, so an operator wiring a new NAS sees what it really sends. Pure code.
 */
import { describeAttributes } from './describe.js';
import { activeDictionary, type Dictionary } from './dictionary.js';
import type { RadiusPacket } from './packet.js';

const CODE_NAMES: Readonly<Record<number, string>> = { 4: 'Accounting-Request', 5: 'Accounting-Response', 12: 'Status-Server' };

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
    const type = dictionary.attributeNamed(name)?.type;
    let shown = String(value);
    if (typeof value === 'string' && type !== undefined && QUOTED_TYPES.has(type)) shown = JSON.stringify(value);
    else if (typeof value === 'number' && type === 'date') shown = `"${freeradiusDate(value)}"`;
    return error === undefined ? `${name} = ${shown}` : `${name} = ${shown} (${error})`;
  });
  return { header: `Received ${code} Id ${packet.identifier} from ${source} length ${packet.length}`, attributes };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A date attribute (seconds since the epoch, RFC 2865 §5) as FreeRADIUS prints it: "Nov 29 2026 20:07:56 UTC". */
function freeradiusDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${two(date.getUTCDate())} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC`;
}
