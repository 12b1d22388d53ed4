/**
 * The safety rules of the design, which no configuration relaxes: only pool addresses are
 * unlisted, and the RFC 5782 §5 test entries never are. Pure code.
 */
import { RblError } from '../errors.js';
import { formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';

/** 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: where RFC 5782 §5 puts a DNSBL's test entries. */
export const PROTECTED_PREFIXES: readonly IpPrefix[] = Object.freeze(
  ['127.0.0.0/8', '::1/128', '::ffff:127.0.0.0/104'].map((text) => parsePrefix(text)),
);

/**
 * prefixContains, octet by octet in place: every address of every event passes here, and the
 * masked copy prefixContains makes per call was a visible share of planning a Stop. Each octet of
 * `inner`, cut to `outer`'s length, must equal `outer`'s.
 */
function within(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family !== inner.family || inner.prefixLength < outer.prefixLength) return false;
  for (let i = 0; i < outer.bytes.length; i++) {
    const bits = Math.min(8, Math.max(0, outer.prefixLength - i * 8));
    if ((inner.bytes[i]! & (0xff00 >> bits)) !== outer.bytes[i]) return false;
  }
  return true;
}

/** Whether the target overlaps a protected range. */
export function isProtected(target: IpPrefix): boolean {
  // Indexed loops here and below: for-of over the frozen list made an iterator result per range per address.
  for (let i = 0; i < PROTECTED_PREFIXES.length; i++) {
    const range = PROTECTED_PREFIXES[i]!;
    if (within(range, target) || within(target, range)) return true;
  }
  return false;
}

/** Whether the target lies wholly inside one of the pools. */
export function insidePools(target: IpPrefix, pools: readonly IpPrefix[]): boolean {
  for (let i = 0; i < pools.length; i++) if (within(pools[i]!, target)) return true;
  return false;
}

export interface UnlistPolicy {
  /** The configured dynamic pools. */
  readonly pools: readonly IpPrefix[];
  /** The sending client's own pools, when it has some: they narrow the global pools. */
  readonly clientPools?: readonly IpPrefix[];
  /** `unlist --force`: past the pools, never past the protected ranges. */
  readonly force?: boolean;
}

/** Returns the error that forbids unlisting the target, or undefined when it may be unlisted. */
export function unlistRefusal(target: IpPrefix, policy: UnlistPolicy): RblError | undefined {
  const text = formatPrefix(target);
  if (isProtected(target)) {
    return new RblError('RBL_ADDRESS_PROTECTED', `${text} is in a range reserved for DNSBL test entries (RFC 5782 §5); it is never unlisted`);
  }
  if (policy.force) return undefined;
  if (!insidePools(target, policy.pools)) {
    return new RblError('RBL_ADDRESS_OUTSIDE_POOLS', `${text} is outside the configured pools; it is not unlisted`);
  }
  if (policy.clientPools && policy.clientPools.length > 0 && !insidePools(target, policy.clientPools)) {
    return new RblError('RBL_ADDRESS_OUTSIDE_POOLS', `${text} is outside this client's pools; it is not unlisted`);
  }
  return undefined;
}

/** A client's name and its own pools, as the config gives them. */
export interface ClientPools {
  readonly name: string;
  readonly pools?: readonly IpPrefix[];
}

/**
 * Whether a target may be unlisted for the client (by config name) that sent its event, under the
 * config's pools now: for unlists already queued when the pools change. A client no longer in the
 * config has no pools of its own; the global pools still apply.
 */
export function poolPolicy(pools: readonly IpPrefix[], clients: readonly ClientPools[]): (target: IpPrefix, client: string) => boolean {
  const clientPools = new Map(clients.map((client) => [client.name, client.pools]));
  return (target, client) => unlistRefusal(target, { pools, clientPools: clientPools.get(client) }) === undefined;
}
