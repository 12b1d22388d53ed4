/**
 * Which of two accounting events came first (design: "Event order"). Event-Timestamp (RFC 2869
 * §5.3) is the NAS's own clock, so it orders only events of the same client and NAS; otherwise
 * the receive time minus Acct-Delay-Time (RFC 2866 §5.2) does. Pure code.
 */
import type { Session } from '../sessions/session.js';
import type { EarliestSessionTimes, RememberedStop } from '../sessions/table.js';

/** An event's place in time and whose clock its Event-Timestamp is. */
export interface EventTime {
  readonly client: string;
  readonly nas: string;
  /** ms since the epoch, this host's clock. */
  readonly at: number;
  /** seconds since the epoch, the NAS's clock. */
  readonly nasTime: number | undefined;
}

/** The time of a session's newest Start or Interim-Update. */
export function sessionTime(session: Session): EventTime {
  return { client: session.client, nas: session.nas, at: session.eventAt, nasTime: session.nasTime };
}

function sameClock(a: EventTime, b: EventTime): boolean {
  return a.client === b.client && a.nas === b.nas && a.nasTime !== undefined && b.nasTime !== undefined;
}

/** Whether a happened strictly before b. */
export function happenedBefore(a: EventTime, b: EventTime): boolean {
  return sameClock(a, b) ? a.nasTime! < b.nasTime! : a.at < b.at;
}

/**
 * Whether a session of one NAS whose times are bounded below by `earliest` may have happened
 * before `event`, an event of the same client and NAS (happenedBefore, over all of them at once):
 * false proves that none did.
 */
export function someSessionBefore(earliest: EarliestSessionTimes, event: EventTime): boolean {
  if (event.nasTime === undefined) return earliest.at < event.at;
  return earliest.nasTime < event.nasTime || earliest.atWithoutNasTime < event.at;
}

/**
 * Whether the NAS's own clock shows a after b. Only a NAS's clock can overrule the table's owner
 * for a Stop: across NASes, a Stop that merely arrived later proves nothing about the address.
 */
export function provablyAfter(a: EventTime, b: EventTime): boolean {
  return sameClock(a, b) && a.nasTime! > b.nasTime!;
}

/**
 * Whether a Start or Interim-Update at `event` came after its session's remembered stop: only the
 * NAS's clock can show that (a NAS that reuses Acct-Session-Ids); a replay arrives "now" by
 * receive time, so without Event-Timestamp a stopped session stays stopped.
 */
export function restartedAfter(event: EventTime, stop: RememberedStop): boolean {
  return event.nasTime !== undefined && stop.nasTime !== undefined && event.nasTime > stop.nasTime;
}
