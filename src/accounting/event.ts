/**
 * An Accounting-Request's attributes as an accounting event: its type (RFC 2866 §5.1), the NAS it
 * came from, the session, and the addresses it names. Pure code.
 */
import { canonicalIPv4Host, canonicalPrefix, hostPrefix, parsePrefix, type CanonicalPrefix } from '../net/address.js';
import type { AccountingAttributes } from '../radius/attributes.js';

export type AccountingEventType = 'start' | 'stop' | 'interim' | 'accounting-on' | 'accounting-off' | 'other';

/** The attributes the accounting layer reads, as src/radius decodes them. */
export type EventAttributes = AccountingAttributes;

export interface AccountingEvent {
  readonly type: AccountingEventType;
  /** The RADIUS client (a NAS, or the RADIUS server that proxies or copies) by its config name. */
  readonly client: string;
  /** The NAS key: NAS-IP-Address, NAS-IPv6-Address or the source address, and NAS-Identifier. */
  readonly nas: string;
  readonly sessionId: string | undefined;
  readonly userName: string | undefined;
  /** The session's addresses and prefixes, as the packet names them, each with its canonical text. */
  readonly addresses: readonly CanonicalPrefix[];
  readonly receivedAt: number;
  /** The event time on this host's clock: receive time minus Acct-Delay-Time (RFC 2866 §5.2), ms since the epoch. */
  readonly at: number;
  /** Event-Timestamp (RFC 2869 §5.3): seconds by the NAS's own clock, comparable only with the same client and NAS. */
  readonly nasTime: number | undefined;
}

/** Acct-Status-Type values, RFC 2866 §5.1. */
const STATUS_TYPES: Readonly<Record<number, AccountingEventType>> = { 1: 'start', 2: 'stop', 3: 'interim', 7: 'accounting-on', 8: 'accounting-off' };

/** The event type of an Acct-Status-Type value; anything unknown or missing is 'other'. */
export function eventType(statusType: number | undefined): AccountingEventType {
  return (statusType !== undefined && STATUS_TYPES[statusType]) || 'other';
}

/**
 * The key that tells NASes apart: the NAS's own address attribute when it sends one (a proxy
 * forwards many NASes from one source address), else the packet's source, plus NAS-Identifier.
 */
export function nasKey(attributes: EventAttributes, sourceAddress: string): string {
  const address = attributes.nasIpAddress ?? attributes.nasIpv6Address ?? sourceAddress;
  return attributes.nasIdentifier === undefined ? address : `${address}/${attributes.nasIdentifier}`;
}

/**
 * The addresses a packet names: Framed-IP-Address (8), Framed-IPv6-Address (168),
 * Framed-IPv6-Prefix (97) and Delegated-IPv6-Prefix (123). 255.255.255.255 and 255.255.255.254
 * (RFC 2865 §5.8: "let the user/NAS choose") and 0.0.0.0 name no address and are left out.
 */
export function framedAddresses(attributes: EventAttributes): CanonicalPrefix[] {
  const out: CanonicalPrefix[] = [];
  const add = (text: string, host: boolean): void => {
    try {
      const prefix = parsePrefix(text);
      // The one conversion of the event: later stages read `text` and never parse it again.
      out.push(canonicalPrefix(host ? hostPrefix(prefix.bytes) : prefix));
    } catch {
      // A value the decoder could not turn into an address names nothing to unlist.
    }
  };
  const framed = attributes.framedIpAddress;
  if (framed !== undefined && framed !== '255.255.255.255' && framed !== '255.255.255.254' && framed !== '0.0.0.0') {
    // The decoder makes this text from the attribute's 4 octets: always a dotted quad.
    const host = canonicalIPv4Host(framed);
    if (host) out.push(host);
  }
  for (const address of attributes.framedIpv6Addresses) add(address, true);
  for (const prefix of attributes.framedIpv6Prefixes) add(prefix, false);
  for (const prefix of attributes.delegatedIpv6Prefixes) add(prefix, false);
  return out;
}

/** The accounting event for a validated Accounting-Request. */
export function accountingEvent(attributes: EventAttributes, client: string, sourceAddress: string, receivedAt: number): AccountingEvent {
  return {
    type: eventType(attributes.statusType),
    client,
    nas: nasKey(attributes, sourceAddress),
    sessionId: attributes.sessionId,
    userName: attributes.userName,
    addresses: framedAddresses(attributes),
    receivedAt,
    at: receivedAt - (attributes.acctDelayTime ?? 0) * 1000,
    // 0 is 1970: a NAS without a clock, not a time to order by.
    nasTime: attributes.eventTimestamp === 0 ? undefined : attributes.eventTimestamp,
  };
}
