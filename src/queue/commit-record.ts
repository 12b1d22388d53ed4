/**
 * The journal record an accounting event's change becomes (store.ts commits it): its session rows,
 * and the unlist job for the lanes where its targets are not already pending. A target pending and
 * not yet sent in a lane merges into that delivery instead (merge.ts), so the backlog is bounded by
 * distinct targets, not events.
 */
import { canonicalPrefix, parsePrefix, type CanonicalPrefix } from '../net/address.js';
import { distinctTargets, unlistLanes } from './merge.js';
import { removalRow, sessionRow, type JobRow, type JournalRecord, type QueueState } from './state.js';
import type { StateChange } from './store-api.js';

export interface CommitRecord {
  readonly record: Extract<JournalRecord, { t: 'c' }>;
  /** The change's own job, when a lane still needs its targets. */
  readonly job: JobRow | undefined;
  /** The job's targets as prefixes, in the order of its `t`: what its UPDATE is built from. */
  readonly prefixes: CanonicalPrefix[] | undefined;
}

/**
 * Builds the record of `change`. `deliveries`, when given, receives the pending deliveries the
 * change merged into, each with the targets of it they cover: what a caller waiting for the unlist
 * waits for besides the job's own.
 */
export function commitRecord(
  state: QueueState,
  change: StateChange,
  laneKeys: readonly string[],
  inFlight: (id: number, lane: string) => boolean,
  deliveries: Map<string, string[]> | undefined,
): CommitRecord {
  const record: Extract<JournalRecord, { t: 'c' }> = { t: 'c' };
  // Session addresses are canonical values (the type says so): nothing to validate or parse again.
  if (change.upsert && change.upsert.length > 0) record.u = change.upsert.map(sessionRow);
  if (change.remove && change.remove.length > 0) record.r = change.remove.map(removalRow);
  if (!change.unlist || change.unlist.targets.length === 0) return { record, job: undefined, prefixes: undefined };
  // A canonical prefix is trusted as made at decode (issue 11); only text is parsed. Lists made
  // by map are their exact length: a Stop's job keeps them until it is delivered.
  let prefixes = change.unlist.targets.map((target) => (typeof target === 'string' ? canonicalPrefix(parsePrefix(target)) : target));
  if (prefixes.length > 1) prefixes = distinctTargets(prefixes);
  const targets = prefixes.map((prefix) => prefix.text);
  const lanes = unlistLanes(state, laneKeys, targets, inFlight, deliveries);
  if (lanes.length === 0) return { record, job: undefined, prefixes };
  // `p` may be the worker's own list of lanes: the record is turned into JSON and the job copies it.
  const job: JobRow = { i: state.nextSeq, t: targets, r: change.unlist.reason, a: change.unlist.createdAt, p: lanes as string[] };
  record.j = job;
  return { record, job, prefixes };
}
