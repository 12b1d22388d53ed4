/**
 * A job an HTTP API did in part: most of its names went through, one the API fails for itself (an
 * Accounting-On of 400 addresses, one of whose records the API answers 500). The job goes on in
 * that lane as a new job of the names left, so its retries send those alone, not every name again
 * on each backoff; the names unlisted are reported once, and its other lanes keep the old job.
 */
import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createLogger } from '../../src/log.js';
import { formatPrefix, type IpPrefix } from '../../src/net/address.js';
import { TargetFailures } from '../../src/backends/target-failures.js';
import type { QueueEvent } from '../../src/queue/events.js';
import { decodeRecord } from '../../src/queue/record.js';
import { queueEventReporter } from '../../src/queue/report.js';
import { JOURNAL_FILE } from '../../src/queue/store-open.js';
import { logLineSink } from '../helpers/log-lines.js';
import { useRecordingServer } from '../helpers/http-server.js';
import { FakeBackend, never, useStateDir, waitUntil } from '../helpers/state-store.js';

const state = useStateDir('partly-done');
const http = useRecordingServer();

const ZONE = 'rbl.example.net';
const GOOD = ['10.64.3.1', '10.64.3.2'];
const BAD = '10.64.9.9';

function unlist(...targets: string[]) {
  return { targets, reason: { event: 'accounting-on', client: 'ras1', nas: '192.0.2.10' }, createdAt: Date.now() };
}

/** Requests the recording API got for each address. */
function requestsPerAddress(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of http.server.requests) {
    const address = new URL(request.url, 'http://api').searchParams.get('ip')!;
    counts.set(address, (counts.get(address) ?? 0) + 1);
  }
  return counts;
}

const unlistedAddresses = (): string[] =>
  state.events.flatMap((event) => (event.type === 'delivered' ? event.jobs.flatMap((job) => job.targets) : []));
const retries = (): Extract<QueueEvent, { type: 'retry-scheduled' }>[] => state.events.filter((event) => event.type === 'retry-scheduled');

/** Fails the names in `failing` (`BAD` at first) for themselves, as the generic HTTP backend reports it, and takes the others. */
class OneNameFails extends FakeBackend {
  transient = true;
  readonly failing = new Set([BAD]);
  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    await new Promise((resolve) => setImmediate(resolve));
    const failed = targets.filter((target) => this.failing.has(formatPrefix(target)));
    if (failed.length === 0) return;
    const error = new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${failed.map(formatPrefix).join(', ')}`, { transient: this.transient });
    throw new TargetFailures(error, targets.filter((target) => !failed.includes(target)), new Map(failed.map((target) => [target, error])), undefined);
  }
}

/** The journal's records, each with its offset in the file. */
function journalRecords(dir: string): { offset: number; payload: { t: string; d?: [number, string][]; j?: { i: number; t: string[]; p: string[] } } }[] {
  const buffer = readFileSync(join(dir, JOURNAL_FILE));
  const out = [];
  for (let offset = 0; offset < buffer.length; ) {
    const decoded = decodeRecord(buffer, offset);
    if (decoded.kind !== 'record') throw new Error(`journal record at ${offset}: ${decoded.kind}`);
    out.push({ offset, payload: decoded.payload as never });
    offset += decoded.bytes;
  }
  return out;
}

describe('a job the API did in part', () => {
  it('retries only the name that failed, reports the others unlisted once, and is delivered whole once that name goes through', async () => {
    let failing = true;
    http.server.respondWith((request) => ({ status: failing && request.url.endsWith(`ip=${BAD}`) ? 500 : 204 }));
    const lines: { msg: string; addresses?: string[]; job?: string; continued_as?: string }[] = [];
    const metrics = createMetrics();
    const report = queueEventReporter(createLogger('info', logLineSink(lines)).child({ component: 'queue' }), metrics);
    const store = await state.open({
      backends: [http.backend({ url: `${http.server.origin}/v1/{name}?ip={address}` })],
      maxSessionAgeMs: 86_400_000,
      backoff: { baseMs: 30, maxMs: 60 },
      concurrency: 1,
      requestPollMs: 20,
      onEvent: (event) => {
        state.events.push(event);
        report(event);
      },
    });
    const commit = store.commit({ unlist: unlist(...GOOD, BAD) }, { trackDelivery: true });
    await waitUntil(() => (requestsPerAddress().get(BAD) ?? 0) >= 4, 5000);
    // Each retry sent the failing name alone.
    expect(Object.fromEntries(requestsPerAddress())).toEqual({ [GOOD[0]!]: 1, [GOOD[1]!]: 1, [BAD]: expect.any(Number) as unknown });
    expect(retries().every((event) => event.targets.length === 1 && event.targets[0] === BAD)).toBe(true);
    // Its wait grows with each try, the new job's first included: it went on from the old one's.
    expect(retries().map((event) => event.attempt)).toEqual(retries().map((_, i) => i + 1));
    expect(unlistedAddresses()).toEqual(GOOD);
    // `queue list`: one pending delivery, the new job's, counting every try of the name.
    const pending = store.deliveryAttempts();
    expect(pending).toHaveLength(1);
    expect(pending[0]!.id).not.toBe(Number(commit.jobId));
    expect(pending[0]!.attempts).toBe(retries().length);
    expect(pending[0]!.attempts).toBeGreaterThanOrEqual(3);

    failing = false;
    await commit.done;
    expect(store.depth()).toBe(0);
    expect(store.deadLetterCount()).toBe(0);
    expect(unlistedAddresses().sort()).toEqual([...GOOD, BAD].sort());
    // The operator's log names each address unlisted once, and the counter counts each once.
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((line) => line.msg === 'unlisted').flatMap((line) => line.addresses).sort()).toEqual([...GOOD, BAD].sort());
    // The job that carried BAD on is named by the line that says the first job was done in part, and
    // again by its own unlisted line: whoever follows job 1 in the log finds where BAD went.
    const firstJob = commit.jobId!;
    const heir = String(pending[0]!.id);
    expect(lines.filter((line) => line.msg.startsWith('unlisted in part'))).toEqual([
      expect.objectContaining({ msg: `unlisted in part: the addresses left go on as job ${heir}`, job: firstJob, continued_as: heir, addresses: [BAD] }),
    ]);
    expect(lines.filter((line) => line.msg === 'unlisted').map((line) => [line.job, line.addresses])).toEqual([
      [firstJob, GOOD],
      [heir, [BAD]],
    ]);
    const counted = (await metrics.registry.getMetricsAsJSON()).find((metric) => metric.name === 'rbl_unlist_backend_unlists_total')!;
    expect(counted.values.find((sample) => sample.labels.outcome === 'success')?.value).toBe(3);
  });

  it('goes on again as a new job when a held one does in part, its wait and attempts counting on', async () => {
    const api = new OneNameFails('api', [ZONE]);
    const other = '10.64.9.8';
    api.failing.add(other);
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 30, maxMs: 1000 }, random: () => 1, concurrency: 1, requestPollMs: 20 });
    const commit = store.commit({ unlist: unlist(GOOD[0]!, other, BAD) }, { trackDelivery: true });
    await waitUntil(() => retries().length === 2, 3000);
    // Held as [other, BAD]; now the API takes `other`.
    api.failing.delete(other);
    await waitUntil(() => unlistedAddresses().includes(other), 3000);
    await waitUntil(() => retries().length === 4, 5000);
    expect(retries().map((event) => [event.targets, event.attempt])).toEqual([
      [[other, BAD], 1],
      [[other, BAD], 2],
      [[BAD], 3],
      [[BAD], 4],
    ]);
    expect(retries()[3]!.delayMs).toBeGreaterThanOrEqual(240);
    expect(store.deliveryAttempts()).toEqual([expect.objectContaining({ attempts: 4 })]);
    expect(api.calls.flatMap((call) => call.targets).filter((target) => target === GOOD[0])).toHaveLength(1);
    api.failing.clear();
    await commit.done;
    expect(unlistedAddresses().sort()).toEqual([GOOD[0]!, other, BAD].sort());
    expect(store.depth()).toBe(0);
  });

  it('dead-letters only the name refused for good, the others of its job unlisted', async () => {
    const api = new OneNameFails('api', [ZONE]);
    api.transient = false;
    const store = await state.open({ backends: [api], maxSessionAgeMs: 86_400_000, concurrency: 1, requestPollMs: 20 });
    const commit = store.commit({ unlist: unlist(...GOOD, BAD) }, { trackDelivery: true });
    await expect(commit.done).rejects.toMatchObject({ code: 'RBL_HTTP_STATUS' });
    expect(unlistedAddresses()).toEqual(GOOD);
    const dead = state.events.filter((event) => event.type === 'dead-lettered');
    expect(dead.map((event) => event.job.targets)).toEqual([[BAD]]);
    // `queue retry` would send that name alone.
    expect(store.jobsMatching(() => true).map(({ job, dead: letters }) => [job.targets, letters.length])).toEqual([[[BAD], 1]]);
  });
});

describe('a job the API did in part, in the journal', () => {
  it('is replayed as the new job of the name left in that lane, its other lane still pending the old job whole', async () => {
    const dns = new FakeBackend('bind', [ZONE]);
    dns.behaviour = never;
    const store = await state.open({ backends: [dns, new OneNameFails('api', [ZONE])], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 }, requestPollMs: 20, closeGraceMs: 10 });
    const commit = store.commit({ unlist: unlist(...GOOD, BAD) });
    await commit.recorded;
    await waitUntil(() => retries().length === 1, 2000);
    await store.committed();
    await store.close();

    const reopened = await state.open({ backends: [dns, Object.assign(new FakeBackend('api', [ZONE]), { behaviour: never })], maxSessionAgeMs: 86_400_000, requestPollMs: 20, closeGraceMs: 10 });
    const jobs = reopened.jobsMatching(() => true).map(({ job, pending }) => ({ id: job.id, targets: job.targets, pending: pending.map((lane) => lane.backend) }));
    expect(jobs).toEqual([
      { id: commit.jobId, targets: [...GOOD, BAD], pending: ['bind'] },
      { id: expect.not.stringMatching(`^${commit.jobId}$`) as unknown, targets: [BAD], pending: ['api'] },
    ]);
  });

  it('keeps both jobs when a write tore after the new job and before the old delivery was settled: nothing is lost', async () => {
    const dns = new FakeBackend('bind', [ZONE]);
    dns.behaviour = never;
    const store = await state.open({ backends: [dns, new OneNameFails('api', [ZONE])], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 60_000, maxMs: 60_000 }, requestPollMs: 20, closeGraceMs: 10 });
    const commit = store.commit({ unlist: unlist(...GOOD, BAD) });
    await waitUntil(() => retries().length === 1, 2000);
    await store.committed();
    await store.close();

    // The settling record is the journal's last; cut the file where it starts.
    const records = journalRecords(state.dir);
    const last = records.at(-1)!;
    expect(last.payload).toEqual({ t: 'g', d: [[Number(commit.jobId), `api\n${ZONE}`]] });
    expect(records.at(-2)!.payload.j).toMatchObject({ t: [BAD], p: [`api\n${ZONE}`] });
    truncateSync(join(state.dir, JOURNAL_FILE), last.offset);

    const reopened = await state.open({ backends: [dns, Object.assign(new FakeBackend('api', [ZONE]), { behaviour: never })], maxSessionAgeMs: 86_400_000, requestPollMs: 20, closeGraceMs: 10 });
    const jobs = reopened.jobsMatching(() => true).map(({ job, pending }) => ({ targets: job.targets, pending: pending.map((lane) => lane.backend).sort() }));
    expect(jobs).toEqual([
      { targets: [...GOOD, BAD], pending: ['api', 'bind'] },
      { targets: [BAD], pending: ['api'] },
    ]);
  });
});
