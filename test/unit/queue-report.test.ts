/**
 * Queue events as the operator sees them (src/queue/report.ts): one line and the metrics per event,
 * with the journal-error lines limited while the counter counts every failure.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { createMetrics, type Metrics } from '../../src/http/metrics.js';
import { createLogger } from '../../src/log.js';
import { queueEventReporter } from '../../src/queue/report.js';
import type { UnlistJob } from '../../src/queue/state.js';
import { logLineSink } from '../helpers/log-lines.js';

interface Line {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

let lines: Line[];
let metrics: Metrics;
let report: ReturnType<typeof queueEventReporter>;

beforeEach(() => {
  lines = [];
  metrics = createMetrics();
  const sink = logLineSink(lines);
  report = queueEventReporter(createLogger('info', sink).child({ component: 'queue' }), metrics);
});

const job: UnlistJob = {
  id: '42',
  targets: ['10.64.0.7', '2001:db8::/56'],
  reason: { event: 'stop', client: 'ras1', nas: '192.0.2.1', sessionId: 's-1' },
  createdAt: 0,
};

async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const sample = (metric?.values ?? []).find((entry) => Object.entries(labels).every(([key, wanted]) => entry.labels[key] === wanted));
  return sample?.value ?? 0;
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('queue events reported', () => {
  it('warns once when dead letters an older release journaled held a credential, saying the journal is compacted now', async () => {
    report({ type: 'dead-letters-redacted', file: '/var/lib/rbl-unlist/journal', count: 2 });
    await settled();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        component: 'queue',
        file: '/var/lib/rbl-unlist/journal',
        dead_letters: 2,
        msg: '2 dead letters held a credential in their message as an older release journaled it: shown REDACTED, and the journal is compacted now so the file no longer holds it',
      }),
    ]);
  });

  it('warns that state.dir was taken over from a holder that may still run, and that the journal was copied first', async () => {
    report({ type: 'journal-detached', dir: '/var/lib/rbl-unlist' });
    await settled();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        component: 'queue',
        dir: '/var/lib/rbl-unlist',
        msg: 'took state.dir over from an rbl-unlist elsewhere that stopped refreshing its lock: the journal was copied to a new file first, so that service, if it still runs, cannot write over what this one records',
      }),
    ]);
  });

  it('warns once with what a state.dir left open was tightened to, and errs for each path it could not change, with the command that does', async () => {
    report({ type: 'state-dir-tightened', dir: '/var/lib/rbl-unlist', paths: ['/var/lib/rbl-unlist', '/var/lib/rbl-unlist/journal'], failed: [{ path: '/var/lib/rbl-unlist/journal.corrupt-1', code: 'EPERM' }] });
    await settled();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        dir: '/var/lib/rbl-unlist',
        paths: ['/var/lib/rbl-unlist', '/var/lib/rbl-unlist/journal'],
        msg: "2 files or folders in state.dir were open to group or others, as an older release left them: now readable by the service's user only",
      }),
      expect.objectContaining({
        level: 'error',
        path: '/var/lib/rbl-unlist/journal.corrupt-1',
        code: 'EPERM',
        msg: '/var/lib/rbl-unlist/journal.corrupt-1 in state.dir is open to group or others and its mode cannot be changed (EPERM): chmod go-rwx /var/lib/rbl-unlist/journal.corrupt-1',
      }),
    ]);
  });

  it('warns when a backend that left handed its pending unlists over, naming where they went, and when they were kept as dead letters; says when they were dropped', async () => {
    report({ type: 'delivery-handed-over', backend: 'dns-update 127.0.0.1:5301', zone: 'rbl.test', to: ['dns-update 127.0.0.1:5302'], jobs: [job, job] });
    report({ type: 'delivery-dropped', backend: 'old', zone: 'rbl6.test', jobs: [job], why: 'backend-removed' });
    report({ type: 'delivery-unserved', backend: 'old', zone: 'rbl7.test', jobs: [job, job, job], error: new RblError('RBL_BACKEND_REMOVED', 'no backend in the config serves zone rbl7.test any more (old left the config)') });
    await settled();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        backend: 'dns-update 127.0.0.1:5301',
        zone: 'rbl.test',
        to: ['dns-update 127.0.0.1:5302'],
        jobs: 2,
        msg: 'pending unlists handed over to the backends that serve the zone now: the backend is no longer configured',
      }),
      expect.objectContaining({
        level: 'info',
        backend: 'old',
        zone: 'rbl6.test',
        jobs: 1,
        msg: 'pending unlists of a backend no longer configured dropped: the backends that serve the zone have them already',
      }),
      expect.objectContaining({
        level: 'warn',
        backend: 'old',
        zone: 'rbl7.test',
        jobs: 3,
        code: 'RBL_BACKEND_REMOVED',
        msg: 'pending unlists kept as dead letters: no backend in the config serves the zone any more; `rbl-unlist queue retry` sends them once one does',
      }),
    ]);
  });

  it.each([
    ['a drop of some jobs', { action: 'drop', ids: ['7', '8'] }, '`rbl-unlist queue drop 7 8` asked at 2026-11-29T19:58:02.131Z'],
    ['a drop of all', { action: 'drop', ids: undefined }, '`rbl-unlist queue drop --all` asked at 2026-11-29T19:58:02.131Z'],
    ['a retry of all', { action: 'retry', ids: undefined }, '`rbl-unlist queue retry` asked at 2026-11-29T19:58:02.131Z'],
    ['a request that cannot be read', undefined, 'a `queue retry` or `queue drop` (its request file could not be read) asked at 2026-11-29T19:58:02.131Z'],
  ] as const)('warns that %s, taken by a service that died, was never applied, and to run it again', async (_, request, what) => {
    report({ type: 'request-not-applied', request, writtenAt: Date.parse('2026-11-29T19:58:02.131Z') });
    await settled();
    expect(lines.map(({ level, component, action, ids, asked_at, msg }) => ({ level, component, action, ids, asked_at, msg }))).toEqual([
      {
        level: 'warn',
        component: 'queue',
        action: request?.action,
        ids: request?.ids,
        asked_at: '2026-11-29T19:58:02.131Z',
        msg: `${what} was not applied: the service that took it stopped before answering, and a minute has passed; check \`rbl-unlist queue list\` and run the command again if it is still wanted`,
      },
    ]);
  });

  it('errs when another service took the state.dir lock, and counts it with the journal errors', async () => {
    report({ type: 'lock-lost', error: new RblError('RBL_STATE_DIR', 'the state.dir lock /s/lock was taken by another rbl-unlist while this one held it: restart this service') });
    await settled();
    expect(lines).toEqual([expect.objectContaining({ level: 'error', code: 'RBL_STATE_DIR', msg: 'the state.dir lock /s/lock was taken by another rbl-unlist while this one held it: restart this service' })]);
    expect(await value('rbl_unlist_journal_errors_total')).toBe(1);
  });

  it('logs an unlisted line with the event that made the job, and counts its targets per backend', async () => {
    report({ type: 'delivered', backend: 'bind', zone: 'rbl.test', jobs: [job], at: 12 });
    await settled();
    expect(lines).toEqual([
      expect.objectContaining({ component: 'queue', msg: 'unlisted', backend: 'bind', zone: 'rbl.test', client: 'ras1', nas: '192.0.2.1', session: 's-1', event: 'stop', addresses: job.targets, job: '42', ms: 12 }),
    ]);
    expect(await value('rbl_unlist_backend_unlists_total', { backend: 'bind', outcome: 'success' })).toBe(2);
  });

  it('logs, after the unlisted line of a job a call did in part, which job carries the addresses left', async () => {
    const heir: UnlistJob = { ...job, id: '57', targets: ['2001:db8::/56'] };
    report({ type: 'delivered', backend: 'api', zone: 'rbl.test', jobs: [{ ...job, targets: ['10.64.0.7'] }], at: 12, partial: true, continued: [{ job: '42', as: heir }] });
    await settled();
    expect(lines.map((line) => [line.msg, line.job, line.continued_as, line.addresses])).toEqual([
      ['unlisted', '42', undefined, ['10.64.0.7']],
      ['unlisted in part: the addresses left go on as job 57', '42', '57', ['2001:db8::/56']],
    ]);
    expect(lines[1]).toMatchObject({ level: 'info', backend: 'api', zone: 'rbl.test' });
    // The part done counts once; the part left counts when its own job is delivered.
    expect(await value('rbl_unlist_backend_unlists_total', { backend: 'api', outcome: 'success' })).toBe(1);
  });

  it('logs one unlisted line per job of a delivered batch, each with its own latency, and counts every target once', async () => {
    const batch = Array.from({ length: 300 }, (_, i): UnlistJob => ({ ...job, id: String(100 + i), targets: [`10.64.1.${i % 250}`], createdAt: 1000 - i }));
    report({ type: 'delivered', backend: 'bind', zone: 'rbl.test', jobs: batch, at: 1000 });
    await settled();
    expect(lines.map((line) => [line.msg, line.job, line.addresses, line.ms])).toEqual(batch.map((one, i) => ['unlisted', one.id, one.targets, i]));
    expect(await value('rbl_unlist_backend_unlists_total', { backend: 'bind', outcome: 'success' })).toBe(300);
    // Each job's own latency (0 to 299 ms), not one observation for the batch.
    const latency = await metrics.registry.getSingleMetricAsString('rbl_unlist_unlist_latency_seconds');
    expect(latency).toMatch(/_bucket\{le="0\.01"\} 11$/m);
    expect(latency).toMatch(/_count 300$/m);
  });

  it('names the dead letter\'s code and where to look, and counts it apart from retries', async () => {
    const refused = new RblError('RBL_DNS_REFUSED', 'BIND refused the update');
    report({ type: 'retry-scheduled', backend: 'bind', zone: 'rbl.test', jobs: [job], targets: job.targets, error: new RblError('RBL_DNS_TIMEOUT', 'no answer'), attempt: 3, delayMs: 800 });
    report({ type: 'dead-lettered', backend: 'bind', zone: 'rbl.test', job, error: refused, latencyMs: 5 });
    await settled();
    expect(lines.map((line) => [line.msg, line.code])).toEqual([
      ['no answer; retrying', 'RBL_DNS_TIMEOUT'],
      ['dead letter: BIND refused the update (see rbl-unlist queue list)', 'RBL_DNS_REFUSED'],
    ]);
    expect(await value('rbl_unlist_backend_unlists_total', { backend: 'bind', outcome: 'retry' })).toBe(2);
    expect(await value('rbl_unlist_backend_unlists_total', { backend: 'bind', outcome: 'dead_letter' })).toBe(2);
  });

  it('counts every journal failure but logs at most five a minute, saying how many it left out', async () => {
    const error = new RblError('RBL_STATE_DIR', 'cannot write the journal: ENOSPC');
    for (let i = 0; i < 8; i++) report({ type: 'journal-error', error, writable: false });
    await settled();
    expect(await value('rbl_unlist_journal_errors_total')).toBe(8);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ code: 'RBL_STATE_DIR', writable: false, msg: 'cannot write the journal: ENOSPC; nothing is acknowledged until the journal can be written again' });
  });
});
