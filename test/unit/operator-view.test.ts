import { describe, expect, it } from 'vitest';
import { accountingEvent } from '../../src/accounting/event.js';
import { planEvent } from '../../src/accounting/plan.js';
import { OperatorView } from '../../src/http/operator-view.js';
import type { AddressReport } from '../../src/http/address-view.js';
import type { StatusReport } from '../../src/http/status.js';
import { RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import type { JobDeliveries } from '../../src/queue/store-open.js';
import type { AccountingAttributes } from '../../src/radius/attributes.js';
import { SessionTable } from '../../src/sessions/table.js';
import { accountingAttributes } from '../helpers/accounting.js';

const attributes = (overrides: Partial<AccountingAttributes>): AccountingAttributes =>
  accountingAttributes({ statusType: 1, sessionId: 's1', userName: 'alice', nasIpAddress: '192.0.2.1', ...overrides });

function viewWith(table: SessionTable | undefined, jobs: JobDeliveries[] = [], now = () => 10_000): OperatorView {
  return new OperatorView({
    version: '9.9.9',
    configFile: () => '/etc/rbl-unlist/config.yaml',
    ack: () => 'journal',
    listeners: () => [{ address: '127.0.0.1', port: 1813, family: 'IPv4', receiveBufferBytes: 1000 }],
    http: () => ({ address: '127.0.0.1', port: 9813 }),
    clients: () => [{ name: 'nas1', address: parsePrefix('127.0.0.1/32') }, { name: 'capped', address: parsePrefix('127.0.0.2/32'), maxSessions: 5 }],
    sessionsOfClient: (client) => table?.sessionsOfClient(client) ?? 0,
    probes: () => [{ backend: 'bind', zone: 'rbl.test', up: false, lastProbe: 9000, lastSuccess: 5000, error: 'no answer' }],
    journalWritable: () => true,
    queueDepth: () => jobs.length,
    deadLetters: () => 0,
    sessions: () => table?.size ?? 0,
    nasKeys: () => table?.nasKeys ?? 0,
    sessionTable: () => table,
    jobsMatching: (matches) => jobs.filter(({ job }) => job.targets.some(matches)),
    now,
  });
}

const policy = { pools: [parsePrefix('10.64.0.0/16'), parsePrefix('2001:db8::/32')], clientPools: [], unlistOn: new Set(['stop']), maxSessions: 1000 };

describe("the operator's view", () => {
  it('names the session holding an address with the user and since-when of its first event, which the session table does not keep', () => {
    const table = new SessionTable();
    const view = viewWith(table);
    for (const [statusType, at] of [[1, 1000], [3, 4000]] as const) {
      const event = accountingEvent(attributes({ statusType, framedIpAddress: '10.64.0.1', userName: statusType === 1 ? 'alice' : undefined }), 'nas1', '127.0.0.1', at);
      const plan = planEvent(event, table, policy);
      view.onEvent(event, plan);
      for (const session of plan.upsert) table.upsert(session);
    }
    const report = view.route('/addresses/10.64.0.1')!.body as AddressReport;
    expect(report.session).toMatchObject({ client: 'nas1', nas: '192.0.2.1', session_id: 's1', user: 'alice', since: new Date(1000).toISOString(), last_event: { type: 'interim', at: new Date(4000).toISOString() } });
  });

  it('says the user is unknown when the history does not hold the session (after a restart)', () => {
    const table = new SessionTable();
    table.upsert({ nas: '192.0.2.1', sessionId: 's9', client: 'nas1', addresses: ['10.64.0.9'], updatedAt: 1000, eventAt: 1000 });
    const report = viewWith(table).route('/addresses/10.64.0.9')!.body as AddressReport;
    expect(report.session).toMatchObject({ session_id: 's9', user: null, since: null, last_event: null });
  });

  it('names the session holding the longest prefix that contains an IPv6 host, with that prefix', () => {
    const table = new SessionTable();
    const view = viewWith(table);
    const sessions = [
      attributes({ sessionId: 's1', userName: 'alice', delegatedIpv6Prefixes: ['2001:db8:1::/48'] }),
      attributes({ sessionId: 's2', userName: 'bob', framedIpv6Prefixes: ['2001:db8:1:2::/64'] }),
    ];
    for (const [index, session] of sessions.entries()) {
      const event = accountingEvent(session, 'nas1', '127.0.0.1', 1000 * (index + 1));
      const plan = planEvent(event, table, policy);
      view.onEvent(event, plan);
      for (const upsert of plan.upsert) table.upsert(upsert);
    }
    const session = (address: string) => (view.route(`/addresses/${encodeURIComponent(address)}`)!.body as AddressReport).session;
    expect(session('2001:db8:1:2::5')).toMatchObject({ session_id: 's2', user: 'bob', held_prefix: '2001:db8:1:2::/64', addresses: ['2001:db8:1:2::/64'] });
    expect(session('2001:db8:1:3::5')).toMatchObject({ session_id: 's1', user: 'alice', held_prefix: '2001:db8:1::/48', since: new Date(1000).toISOString() });
    expect(session('2001:db8:1:3::/56')).toMatchObject({ session_id: 's1', held_prefix: '2001:db8:1::/48' });
    expect(session('2001:db8:1::/48')).toMatchObject({ session_id: 's1', held_prefix: null });
    expect(session('2001:db8:2::5')).toBeNull();
    expect(session('2001:db8:2::/48')).toBeNull();
  });

  it('refuses a prefix wider than /24 (IPv4) or /48 (IPv6), which would list the whole queue, with 400 RBL_ADDRESS_INVALID', () => {
    const table = new SessionTable();
    const jobs = Array.from({ length: 3 }, (_, i) => ({ job: { id: `${i}`, targets: [`10.64.${i}.1`], reason: { event: 'stop', client: 'nas1', nas: 'n', sessionId: `s${i}` }, createdAt: 0 }, pending: [], dead: [] }) as unknown as JobDeliveries);
    const view = viewWith(table, jobs);
    for (const [prefix, widest] of [['0.0.0.0/0', 24], ['10.64.0.0/16', 24], ['10.64.0.0/23', 24], ['::/0', 48], ['2001:db8::/47', 48]] as const) {
      expect(view.route(`/addresses/${encodeURIComponent(prefix)}`)).toEqual({
        status: 400,
        body: { error: { code: 'RBL_ADDRESS_INVALID', message: expect.stringContaining(`is wider than the /${widest} an IPv`) } },
      });
    }
    expect(view.route(`/addresses/${encodeURIComponent('10.64.1.0/24')}`)!.status).toBe(200);
    expect(view.route(`/addresses/${encodeURIComponent('2001:db8::/48')}`)!.status).toBe(200);
  });

  it("gives a host the last accounting of the prefix that held it, after that prefix's Stop (why 2001:db8:1:2::5)", () => {
    const table = new SessionTable();
    const view = viewWith(table);
    const feed = (overrides: Partial<AccountingAttributes>, at: number): void => {
      const event = accountingEvent(attributes(overrides), 'nas1', '127.0.0.1', at);
      const plan = planEvent(event, table, policy);
      view.onEvent(event, plan);
      for (const upsert of plan.upsert) table.upsert(upsert);
      for (const removal of plan.remove) table.remove(removal.client, removal.nas, removal.sessionId);
    };
    feed({ sessionId: 's1', userName: 'alice', delegatedIpv6Prefixes: ['2001:db8:1::/48'] }, 1000);
    feed({ statusType: 2, sessionId: 's1', userName: undefined, delegatedIpv6Prefixes: ['2001:db8:1::/48'] }, 2000);
    // Another customer's prefix next door: it does not hold the host.
    feed({ sessionId: 's3', userName: 'carol', delegatedIpv6Prefixes: ['2001:db8:2::/48'] }, 3000);
    const report = (address: string) => view.route(`/addresses/${encodeURIComponent(address)}`)!.body as AddressReport;
    expect(report('2001:db8:1:2::5').session).toBeNull();
    expect(report('2001:db8:1:2::5').last_accounting).toEqual({ named: '2001:db8:1::/48', type: 'stop', client: 'nas1', nas: '192.0.2.1', session_id: 's1', user: 'alice', at: new Date(2000).toISOString() });
    expect(report('2001:db8:1:3::/56').last_accounting).toMatchObject({ named: '2001:db8:1::/48', type: 'stop' });
    expect(report('2001:db8:1::/48').last_accounting).toMatchObject({ named: '2001:db8:1::/48', type: 'stop' });
    expect(report('2001:db8:3::5').last_accounting).toBeNull();
    // The latest event wins: a session naming the host itself later is what the host last saw.
    feed({ sessionId: 's4', userName: 'dave', framedIpv6Addresses: ['2001:db8:1:2::5'] }, 4000);
    expect(report('2001:db8:1:2::5').last_accounting).toMatchObject({ named: '2001:db8:1:2::5', session_id: 's4', user: 'dave' });
    expect(report('2001:db8:1:2::6').last_accounting).toMatchObject({ named: '2001:db8:1::/48', session_id: 's1' });
  });

  it("reports each delivery outcome's latency from its own job's creation: one call's jobs, a retry, a dead letter", () => {
    const view = viewWith(new SessionTable());
    const reason = { event: 'stop', client: 'nas1', nas: '192.0.2.1', sessionId: 's1' };
    const early = { id: '1', targets: ['10.64.0.1'], reason, createdAt: 1000 };
    const late = { id: '2', targets: ['10.64.0.2'], reason, createdAt: 4000 };
    view.onQueueEvent({ type: 'delivered', backend: 'bind', zone: 'a.test', jobs: [early, late], at: 5000 });
    view.onQueueEvent({ type: 'retry-scheduled', backend: 'bind', zone: 'b.test', jobs: [early], targets: ['10.64.0.1'], error: new RblError('RBL_DNS_TIMEOUT', 'no answer'), attempt: 2, delayMs: 100 });
    view.onQueueEvent({ type: 'dead-lettered', backend: 'pdns', zone: 'a.test', job: late, error: new RblError('RBL_DNS_REFUSED', 'REFUSED'), latencyMs: 2500 });
    const deliveries = (address: string) =>
      (view.route(`/addresses/${address}`)!.body as AddressReport).last_unlist?.deliveries.map((d) => [d.backend, d.zone, d.outcome, d.latency_ms, d.code, d.attempt]);
    // The view's clock says 10,000: a retry's latency runs to it.
    expect(deliveries('10.64.0.1')).toEqual([
      ['bind', 'a.test', 'unlisted', 4000, null, null],
      ['bind', 'b.test', 'retrying', 9000, 'RBL_DNS_TIMEOUT', 2],
    ]);
    expect(deliveries('10.64.0.2')).toEqual([
      ['bind', 'a.test', 'unlisted', 1000, null, null],
      ['pdns', 'a.test', 'dead_letter', 2500, 'RBL_DNS_REFUSED', null],
    ]);
  });

  it('lists the pending and dead-lettered jobs of a prefix that covers an IPv6 address', () => {
    const job = { id: '7', targets: ['2001:db8:100:1::/64'], reason: { event: 'stop', client: 'nas1', nas: '192.0.2.1', sessionId: 's2' }, createdAt: 2000 };
    const view = viewWith(new SessionTable(), [
      { job, pending: [{ backend: 'bind', zone: 'a.test' }], dead: [{ backend: 'bind', zone: 'b.test', failedAt: 3000, code: 'RBL_DNS_REFUSED', message: 'REFUSED' }] },
    ]);
    const report = view.route(`/addresses/${encodeURIComponent('2001:db8:100:1::5')}`)!.body as AddressReport;
    expect(report.pending).toEqual([expect.objectContaining({ job: '7', zone: 'a.test', targets: ['2001:db8:100:1::/64'] })]);
    expect(report.dead_letters).toEqual([expect.objectContaining({ job: '7', zone: 'b.test', code: 'RBL_DNS_REFUSED' })]);
    expect((view.route('/addresses/2001:db8:200::1')!.body as AddressReport).pending).toEqual([]);
  });

  it('lists the jobs of the hosts inside a prefix it is asked about, and only an equal host for a host', () => {
    const reason = { event: 'stop', client: 'nas1', nas: '192.0.2.1' };
    const view = viewWith(new SessionTable(), [
      { job: { id: '1', targets: ['2001:db8:100:1::7'], reason, createdAt: 1 }, pending: [{ backend: 'bind', zone: 'a.test' }], dead: [] },
      { job: { id: '2', targets: ['10.64.0.10'], reason, createdAt: 1 }, pending: [{ backend: 'bind', zone: 'a.test' }], dead: [] },
    ]);
    const jobs = (path: string) => (view.route(path)!.body as AddressReport).pending.map((pending) => pending.job);
    expect(jobs(`/addresses/${encodeURIComponent('2001:db8:100:1::/64')}`)).toEqual(['1']);
    expect(jobs('/addresses/10.64.0.10')).toEqual(['2']);
    expect(jobs('/addresses/10.64.0.1')).toEqual([]);
  });

  it('answers about an IPv4 address at once over a backlog of IPv6 prefixes, which cannot overlap it, without parsing each', () => {
    const reason = { event: 'stop', client: 'nas1', nas: '192.0.2.1' };
    const jobs: JobDeliveries[] = Array.from({ length: 200_000 }, (_, i) => ({
      job: { id: `${i}`, targets: [`2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`], reason, createdAt: 1 },
      pending: [{ backend: 'bind', zone: 'a.test' }],
      dead: [],
    }));
    jobs.push({ job: { id: 'v4', targets: ['10.64.0.10'], reason, createdAt: 1 }, pending: [{ backend: 'bind', zone: 'a.test' }], dead: [] });
    const view = viewWith(new SessionTable(), jobs);
    const timed = (path: string): { ms: number; jobs: string[] } => {
      const started = performance.now();
      const report = view.route(path)!.body as AddressReport;
      return { ms: performance.now() - started, jobs: report.pending.map((pending) => pending.job) };
    };
    // An IPv6 question must look at each prefix: the yardstick, measured beside the others on
    // this machine as it is now, not a bound in milliseconds.
    const v6 = timed(`/addresses/${encodeURIComponent('2001:db8:0:5::1')}`);
    expect(v6.jobs).toEqual(['5']);
    for (const path of ['/addresses/10.64.0.10', `/addresses/${encodeURIComponent('10.64.0.0/24')}`]) {
      const v4 = timed(path);
      expect(v4.jobs).toEqual(['v4']);
      // Parsing each prefix made an IPv4 question cost as much as an IPv6 one (450 ms here, all
      // that time without a RADIUS packet read); skipping them by their text costs a few percent.
      expect(v4.ms).toBeLessThan(v6.ms / 4);
    }
  });

  it('answers 400 with RBL_ADDRESS_INVALID for a path that is not an address, 503 before the state is open, nothing for other paths', () => {
    expect(viewWith(new SessionTable()).route('/addresses/10.64.0.300')).toMatchObject({ status: 400, body: { error: { code: 'RBL_ADDRESS_INVALID' } } });
    expect(viewWith(undefined).route('/addresses/10.64.0.1')).toMatchObject({ status: 503 });
    expect(viewWith(new SessionTable()).route('/admin')).toBeUndefined();
  });

  it('reports per-client packets and sessions, zones down with the last delivery error, and the rates', () => {
    const table = new SessionTable();
    for (const sessionId of ['a', 'b']) table.upsert({ client: 'capped', nas: '192.0.2.9', sessionId, addresses: [], updatedAt: 1000, eventAt: 1000 });
    const view = viewWith(table, [], () => 70_000);
    view.onPacket('accepted', { source: '127.0.0.1:5', client: 'nas1' });
    view.onPacket('unknown_client', { source: '127.0.0.9:5' });
    view.onQueueEvent({
      type: 'retry-scheduled',
      backend: 'bind',
      zone: 'rbl.test',
      jobs: [],
      targets: ['10.64.0.1'],
      error: new RblError('RBL_DNS_TIMEOUT', 'no answer', { transient: true }),
      attempt: 2,
      delayMs: 1000,
    });
    const report = view.route('/status')!.body as StatusReport;
    expect(report).toMatchObject({ version: '9.9.9', queue: { depth: 0, dead_letters: 0 }, journal: { writable: true } });
    expect(report.clients).toEqual([
      expect.objectContaining({ name: 'nas1', address: '127.0.0.1', packets: 1, accepted: 1, discards: 0, sessions: 0, max_sessions: null }),
      expect.objectContaining({ name: 'capped', address: '127.0.0.2', packets: 0, sessions: 2, max_sessions: 5 }),
    ]);
    expect(report.unknown_sources).toMatchObject({ packets: 1, discards: 1, last_source: '127.0.0.9:5' });
    expect(report.backends).toEqual([expect.objectContaining({ backend: 'bind', zone: 'rbl.test', up: false, probe_error: 'no answer', last_error: expect.objectContaining({ code: 'RBL_DNS_TIMEOUT' }) })]);
    expect(report.rates.packets_per_second).toBe(2);
  });
});
