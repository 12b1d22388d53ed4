/**
 * What an accounting event does (design: "What each accounting event does"): the session-table
 * changes and the addresses to unlist, after the safety rules. Pure code: the caller commits the plan.
 */
import type { RblError } from '../errors.js';
import { formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';
import type { ReadonlySessionTable, Session } from '../sessions/table.js';
import type { AccountingEvent } from './event.js';
import { unlistRefusal, type UnlistPolicy } from './policy.js';

/** A recorded session as the planner sees it: the session table's own record. */
export type PlannedSession = Session;

/** The read side of the session table the planner needs. */
export type SessionLookup = Pick<ReadonlySessionTable, 'get' | 'ownerOf' | 'sessionsOfNas'>;

export interface PlanContext extends UnlistPolicy {
  /** Which events unlist (config unlist_on). */
  readonly unlistOn: ReadonlySet<string>;
}

export interface EventPlan {
  /** Sessions to record or refresh. */
  readonly upsert: readonly PlannedSession[];
  /** Sessions to forget. */
  readonly remove: readonly { readonly nas: string; readonly sessionId: string }[];
  /** Addresses to unlist, canonical text, each allowed by the safety rules. */
  readonly unlist: readonly string[];
  /** Addresses the safety rules kept listed, with the reason. */
  readonly refused: readonly { readonly address: string; readonly error: RblError }[];
  /** Addresses of a stale Stop, or of an Accounting-On/Off session, that belong to a newer session now. */
  readonly stale: readonly { readonly address: string; readonly owner: PlannedSession }[];
}

/** Whether the plan changes nothing (no session change, nothing to unlist): it needs no journal record. */
export function isEmptyPlan(plan: EventPlan): boolean {
  return plan.upsert.length === 0 && plan.remove.length === 0 && plan.unlist.length === 0;
}

/** Plans an event against the session table and the safety rules. */
export function planEvent(event: AccountingEvent, sessions: SessionLookup, context: PlanContext): EventPlan {
  const upsert: PlannedSession[] = [];
  const remove: { nas: string; sessionId: string }[] = [];
  const candidates: IpPrefix[] = [];
  const stale: { address: string; owner: PlannedSession }[] = [];
  const eventAddresses = event.addresses.map(formatPrefix);

  switch (event.type) {
    case 'start':
    case 'interim': {
      if (event.sessionId !== undefined) {
        // An Interim-Update without addresses keeps what the Start recorded.
        const known = sessions.get(event.nas, event.sessionId);
        const addresses = eventAddresses.length > 0 ? eventAddresses : (known?.addresses ?? []);
        if (addresses.length > 0) {
          upsert.push({ nas: event.nas, sessionId: event.sessionId, client: event.client, addresses, updatedAt: event.receivedAt });
        }
      }
      // The new user of an address must not inherit its listing.
      if (event.type === 'start' && context.unlistOn.has('start')) candidates.push(...event.addresses);
      break;
    }
    case 'stop': {
      const known = event.sessionId === undefined ? undefined : sessions.get(event.nas, event.sessionId);
      if (known) remove.push({ nas: known.nas, sessionId: known.sessionId });
      const addresses = eventAddresses.length > 0 ? eventAddresses : (known?.addresses ?? []);
      for (const address of addresses) {
        const owner = sessions.ownerOf(address);
        const ownedByThisSession = owner !== undefined && owner.nas === event.nas && owner.sessionId === event.sessionId;
        if (owner !== undefined && !ownedByThisSession) {
          stale.push({ address, owner });
          continue;
        }
        if (context.unlistOn.has('stop')) candidates.push(parsePrefix(address));
      }
      break;
    }
    case 'accounting-on':
    case 'accounting-off': {
      // The NAS restarted: every session it had is over (RFC 2866 §5.1).
      for (const session of sessions.sessionsOfNas(event.nas)) {
        remove.push({ nas: session.nas, sessionId: session.sessionId });
        for (const address of session.addresses) {
          // A session whose Stop was lost may name an address another NAS has given out since.
          const owner = sessions.ownerOf(address);
          if (owner !== undefined && (owner.nas !== session.nas || owner.sessionId !== session.sessionId)) {
            stale.push({ address, owner });
            continue;
          }
          if (context.unlistOn.has(event.type)) candidates.push(parsePrefix(address));
        }
      }
      break;
    }
    case 'other':
      break;
  }

  const unlist: string[] = [];
  const refused: { address: string; error: RblError }[] = [];
  const seen = new Set<string>();
  for (const target of candidates) {
    const address = formatPrefix(target);
    if (seen.has(address)) continue;
    seen.add(address);
    const error = unlistRefusal(target, context);
    if (error) refused.push({ address, error });
    else unlist.push(address);
  }
  return { upsert, remove, unlist, refused, stale };
}
