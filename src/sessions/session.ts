/**
 * What a session is to the rest of the daemon: the key that names an accounting session (client,
 * NAS key, Acct-Session-Id) and what the session table records of it. The accounting plan, the
 * queue's state and journal, and the HTTP views pass these around; the session table (table.ts)
 * keeps them in columns and makes them anew on every read. Types only.
 */
import type { CanonicalPrefix } from '../net/address.js';

/** What names a session: the RADIUS client it came through, the NAS key, and Acct-Session-Id. */
export interface SessionKey {
  /** The configured RADIUS client name: one client never reaches another's sessions. */
  readonly client: string;
  /** The NAS key (NAS-IP-Address / NAS-Identifier / source), as the accounting stage builds it. */
  readonly nas: string;
  /** Acct-Session-Id. */
  readonly sessionId: string;
}

/** One recorded accounting session. */
export interface Session extends SessionKey {
  /** Canonical formatPrefix text; read back, the first IPv4 host address comes first, then the first IPv6 address or prefix. */
  readonly addresses: readonly string[];
  /** When Start or Interim-Update last recorded it (receive time), in ms since the epoch; sessions.max_age counts from here. */
  readonly updatedAt: number;
  /** The event time of that record: its receive time minus Acct-Delay-Time (RFC 2866 §5.2), ms since the epoch. */
  readonly eventAt: number;
  /** Its Event-Timestamp (RFC 2869 §5.3), seconds by the NAS's clock, when the NAS sent one. */
  readonly nasTime?: number | undefined;
}

/** A session as an accounting event records it: its addresses are the canonical values made once from the packet. */
export interface CanonicalSession extends Omit<Session, 'addresses'> {
  readonly addresses: readonly CanonicalPrefix[];
}

/**
 * A session to record. Its addresses are canonical values made once from the packet (trusted as
 * they are), or text, which is parsed (journal replay).
 */
export interface SessionRecord extends Omit<Session, 'addresses'> {
  readonly addresses: readonly (CanonicalPrefix | string)[];
}
