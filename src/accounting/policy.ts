/**
 * The safety rules of the design, which no configuration relaxes: only pool addresses are
 * unlisted, and the RFC 5782 §5 test entries never are. Pure code.
 */
import { RblError } from '../errors.js';
import { formatPrefix, parsePrefix, prefixContains, prefixesOverlap, type IpPrefix } from '../net/address.js';

/** 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: where RFC 5782 §5 puts a DNSBL's test entries. */
export const PROTECTED_PREFIXES: readonly IpPrefix[] = Object.freeze(
  ['127.0.0.0/8', '::1/128', '::ffff:127.0.0.0/104'].map((text) => parsePrefix(text)),
);

/** Whether the target overlaps a protected range. */
export function isProtected(target: IpPrefix): boolean {
  return PROTECTED_PREFIXES.some((protectedPrefix) => prefixesOverlap(protectedPrefix, target));
}

/** Whether the target lies wholly inside one of the pools. */
export function insidePools(target: IpPrefix, pools: readonly IpPrefix[]): boolean {
  return pools.some((pool) => prefixContains(pool, target));
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
