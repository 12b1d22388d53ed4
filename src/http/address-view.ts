/**
 * GET /addresses/ADDRESS: what the service knows of one address, for `rbl-unlist why`: the session
 * that holds it now (durable session table, with the User-Name and since-when from the in-memory
 * history), the last accounting event that named it, its last unlist with each backend's and
 * zone's outcome, and the pending and dead-lettered jobs that cover it. Pure code.
 */
import { RblError } from '../errors.js';
import { formatPrefix, maskBytes, parsePrefix, prefixContains, prefixesOverlap, type IpPrefix } from '../net/address.js';
import type { JobDeliveries } from '../queue/store-open.js';
import type { Session } from '../sessions/session.js';
import type { ReadonlySessionTable } from '../sessions/table.js';
import type { AddressHistory } from './address-history.js';

export interface AddressSources {
  readonly sessions: Pick<ReadonlySessionTable, 'ownerOf'>;
  readonly jobsMatching: (matches: (target: string) => boolean) => JobDeliveries[];
  readonly history: AddressHistory;
}

interface ReasonView {
  readonly event: string;
  readonly client: string;
  readonly nas: string;
  readonly session_id: string | null;
}

/** The GET /addresses/ADDRESS document. */
export interface AddressReport {
  readonly address: string;
  /** The session the session table says holds the address now, or null. */
  readonly session: {
    readonly client: string;
    readonly nas: string;
    readonly session_id: string;
    readonly addresses: readonly string[];
    /** The session's prefix that contains the address (a Delegated-IPv6-Prefix, say), or null when it holds the address itself. */
    readonly held_prefix: string | null;
    readonly updated_at: string;
    /** null when the history no longer (or not yet, since a restart) holds the session's events. */
    readonly user: string | null;
    readonly since: string | null;
    readonly last_event: { readonly type: string; readonly at: string } | null;
  } | null;
  /** The last accounting event that named the address or a prefix containing it (a Stop that released it, for instance), or null. */
  readonly last_accounting: {
    /** What the event named: the address, or a prefix that contains it (a Delegated-IPv6-Prefix, say). */
    readonly named: string;
    readonly type: string;
    readonly client: string;
    readonly nas: string;
    readonly session_id: string | null;
    readonly user: string | null;
    readonly at: string;
  } | null;
  readonly last_unlist: {
    readonly job: string;
    readonly target: string;
    readonly requested_at: string;
    readonly reason: ReasonView;
    readonly deliveries: readonly {
      readonly backend: string;
      readonly zone: string;
      readonly outcome: string;
      readonly at: string;
      readonly latency_ms: number;
      readonly code: string | null;
      readonly message: string | null;
      readonly attempt: number | null;
    }[];
  } | null;
  readonly pending: readonly { readonly job: string; readonly backend: string; readonly zone: string; readonly targets: readonly string[]; readonly requested_at: string; readonly reason: ReasonView }[];
  readonly dead_letters: readonly {
    readonly job: string;
    readonly backend: string;
    readonly zone: string;
    readonly targets: readonly string[];
    readonly requested_at: string;
    readonly failed_at: string;
    readonly code: string;
    readonly message: string;
    readonly reason: ReasonView;
  }[];
  /** How much the in-memory history holds: what `session.user`, `last_accounting` and `last_unlist` can reach back to. */
  readonly history: { readonly addresses: number; readonly limit: number };
}

/**
 * The widest prefixes a report looks into: a customer's address, or a delegated IPv6 prefix. A
 * wider one (0.0.0.0/0) would list the whole queue in one answer, hundreds of MB built while the
 * accounting on the same event loop waits.
 */
export const WIDEST_PREFIX = { 4: 24, 6: 48 } as const;

/** The report for one address, or RBL_ADDRESS_INVALID when the text does not parse or is too wide a prefix. */
export function addressReport(text: string, sources: AddressSources): AddressReport {
  let target: IpPrefix;
  try {
    target = parsePrefix(text);
  } catch (error) {
    throw error instanceof RblError ? error : new RblError('RBL_ADDRESS_INVALID', `"${text}" is not an address or prefix`);
  }
  const widest = WIDEST_PREFIX[target.family];
  if (target.prefixLength < widest) {
    throw new RblError('RBL_ADDRESS_INVALID', `"${text}" is wider than the /${widest} an IPv${target.family} question may be: ask about an address or a prefix of /${widest} or longer`);
  }
  const address = formatPrefix(target);
  const iso = (ms: number): string => new Date(ms).toISOString();
  const reasonView = (reason: { event: string; client: string; nas: string; sessionId?: string }): ReasonView => ({
    event: reason.event,
    client: reason.client,
    nas: reason.nas,
    session_id: reason.sessionId ?? null,
  });
  const parsed = (text: string): IpPrefix | undefined => {
    try {
      return parsePrefix(text);
    } catch {
      return undefined;
    }
  };

  // Canonical text: an IPv6 address or prefix has a colon, an IPv4 one none. Parsing is 2 µs an
  // IPv6 prefix: an IPv4 question over a backlog of 200,000 delegated prefixes held the event loop
  // half a second parsing what cannot overlap it.
  const sameFamily = (other: string): boolean => other.includes(':') === (target.family === 6);

  const held = holderOf(target, sources.sessions);
  const owner = held?.session;
  const heldPrefix = held && held.as !== address ? held.as : undefined;
  // A host inside a prefix was never named by an event itself: the prefix's events speak for it,
  // the one a session holds now and the one whose Stop released it alike.
  const coversTarget = (other: string): boolean => {
    if (!other.includes('/') || !sameFamily(other)) return false;
    const prefix = parsed(other);
    return prefix !== undefined && prefixContains(prefix, target);
  };
  const lastEvent = sources.history.lastEvent(address, coversTarget);
  const ownerNote = heldPrefix === undefined ? sources.history.session(address) : sources.history.session(heldPrefix);
  const noteOfOwner = owner && ownerNote && ownerNote.nas === owner.nas && ownerNote.sessionId === owner.sessionId ? ownerNote : undefined;
  // Job targets are canonical text, so a host matches a host by comparing text; only a prefix on
  // either side is parsed. A backlog of a million jobs is then scanned in milliseconds, without
  // holding up the accounting on the same event loop.
  const isPrefix = address.includes('/');
  const unlist = sources.history.lastUnlist(address, coversTarget);
  const jobs = sources.jobsMatching((other) => {
    if (other === address) return true;
    if (!isPrefix && !other.includes('/')) return false;
    if (!sameFamily(other)) return false;
    const prefix = parsed(other);
    return prefix !== undefined && prefixesOverlap(prefix, target);
  });

  return {
    address,
    session: owner
      ? {
          client: owner.client,
          nas: owner.nas,
          session_id: owner.sessionId,
          addresses: [...owner.addresses],
          held_prefix: heldPrefix ?? null,
          updated_at: iso(owner.updatedAt),
          user: noteOfOwner?.userName ?? null,
          since: noteOfOwner ? iso(noteOfOwner.since) : null,
          last_event: noteOfOwner ? { type: noteOfOwner.lastEvent, at: iso(noteOfOwner.lastEventAt) } : null,
        }
      : null,
    last_accounting: lastEvent
      ? {
          named: lastEvent.named,
          type: lastEvent.session.lastEvent,
          client: lastEvent.session.client,
          nas: lastEvent.session.nas,
          session_id: lastEvent.session.sessionId ?? null,
          user: lastEvent.session.userName ?? null,
          at: iso(lastEvent.session.lastEventAt),
        }
      : null,
    last_unlist: unlist
      ? {
          job: unlist.job,
          target: unlist.target,
          requested_at: iso(unlist.requestedAt),
          reason: reasonView(unlist.reason),
          deliveries: unlist.deliveries.map((delivery) => ({
            backend: delivery.backend,
            zone: delivery.zone,
            outcome: delivery.outcome,
            at: iso(delivery.at),
            latency_ms: delivery.latencyMs,
            code: delivery.code ?? null,
            message: delivery.message ?? null,
            attempt: delivery.attempt ?? null,
          })),
        }
      : null,
    pending: jobs.flatMap(({ job, pending }) =>
      pending.map((lane) => ({ job: job.id, ...lane, targets: job.targets, requested_at: iso(job.createdAt), reason: reasonView(job.reason) })),
    ),
    dead_letters: jobs.flatMap(({ job, dead }) =>
      dead.map((letter) => ({
        job: job.id,
        backend: letter.backend,
        zone: letter.zone,
        targets: job.targets,
        requested_at: iso(job.createdAt),
        failed_at: iso(letter.failedAt),
        code: letter.code,
        // Redacted as the journal was read (QueueState): 0.1 journaled HTTP URLs with their tokens.
        message: letter.message,
        reason: reasonView(job.reason),
      })),
    ),
    history: { addresses: sources.history.size, limit: sources.history.limit },
  };
}

/**
 * The session that holds `target`: the one the table names for it, else, for IPv6, the one holding
 * the longest prefix that contains it (a Framed-IPv6-Prefix or Delegated-IPv6-Prefix, RFC 3162 and
 * RFC 4818: the customer's hosts live inside it), with the text it is held as.
 */
function holderOf(target: IpPrefix, sessions: Pick<ReadonlySessionTable, 'ownerOf'>): { readonly session: Session; readonly as: string } | undefined {
  const shortest = target.family === 6 ? 0 : target.prefixLength;
  // Longest first: a /64 handed out inside a /48 is the more precise holder. At most 129 lookups,
  // for a helpdesk question.
  for (let length = target.prefixLength; length >= shortest; length--) {
    const as = formatPrefix({ family: target.family, bytes: maskBytes(target.bytes, length), prefixLength: length });
    const session = sessions.ownerOf(as);
    if (session) return { session, as };
  }
  return undefined;
}
