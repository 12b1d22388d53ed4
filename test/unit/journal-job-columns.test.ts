import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJobColumns, encodeJobColumns, type JobColumns } from '../../src/queue/job-columns.js';
import { QueueState, type JobRow } from '../../src/queue/state.js';

const job = (i: number, extra: Partial<JobRow> = {}): JobRow => ({
  i,
  t: [`10.64.0.${i % 256}`],
  r: { event: 'stop', client: 'ras1', nas: '192.0.2.1', sessionId: `s-${i}` },
  a: 1_764_000_000_000 + i * 7,
  p: ['dns\nrbl.test'],
  ...extra,
});

describe('jobs in a snapshot, column by column', () => {
  it('gives back any jobs exactly', () => {
    const text = fc.string({ maxLength: 12 });
    const row = fc.record(
      {
        i: fc.integer({ min: 1, max: 2 ** 40 }),
        t: fc.array(text, { maxLength: 3 }),
        r: fc.record({ event: text, client: text, nas: text, sessionId: text }, { requiredKeys: ['event', 'client', 'nas'] }),
        a: fc.integer({ min: 0, max: 2 ** 45 }),
        p: fc.array(text, { maxLength: 3 }),
        x: fc.array(fc.tuple(text, fc.integer({ min: 0, max: 2 ** 45 }), text, text), { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: ['i', 't', 'r', 'a', 'p'] },
    );
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), (jobs) => {
        expect(decodeJobColumns(JSON.parse(JSON.stringify(encodeJobColumns(jobs))) as JobColumns)).toEqual(jobs);
      }),
    );
  });

  it('takes under a third of the bytes rows take for a backlog of Stops', () => {
    const jobs = Array.from({ length: 2000 }, (_, i) => job(i + 1));
    expect(JSON.stringify(encodeJobColumns(jobs)).length).toBeLessThan(JSON.stringify(jobs).length / 3);
  });

  it('keeps pending and dead deliveries through a snapshot', () => {
    const state = new QueueState();
    state.apply({ t: 'c', j: job(1, { p: ['a\nz1', 'b\nz2'] }) });
    state.apply({ t: 'c', j: job(2, { r: { event: 'admin', client: 'cli', nas: 'cli' }, t: ['10.64.0.0/24', '2001:db8::/56'] }) });
    state.apply({ t: 'x', l: 'a\nz1', i: 1, a: 5, c: 'RBL_DNS_REFUSED', m: 'refused' });
    const again = new QueueState();
    for (const record of state.snapshot()) again.apply(record);
    expect([...again.jobs.values()]).toEqual([...state.jobs.values()]);
    expect(again.pendingCount).toBe(2);
    expect(again.deadCount).toBe(1);
    expect(again.pendingJobsFor('a\nz1', '10.64.0.1')).toBeUndefined();
    expect([...(again.pendingJobsFor('b\nz2', '10.64.0.1') ?? [])]).toEqual([1]);
  });

  it('writes the jobs of large Accounting-On events (130,000 targets each) in records far below the 64 MiB replay takes for corruption, and gives them back', () => {
    const state = new QueueState();
    const targets = (n: number): string[] => Array.from({ length: 130_000 }, (_, k) => `2001:db8:${n.toString(16)}:${k.toString(16)}::/64`);
    for (let n = 1; n <= 4; n++) state.apply({ t: 'c', j: job(n, { r: { event: 'accounting-on', client: 'ras1', nas: `bras${n}` }, t: targets(n) }) });
    const records = [...state.snapshot()].filter((record) => record.t === 'j');
    expect(records).toHaveLength(4);
    for (const record of records) expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(16 * 1024 * 1024);
    const again = new QueueState();
    for (const record of state.snapshot()) again.apply(record);
    expect([...again.jobs.values()].map((restored) => restored.targets.length)).toEqual([130_000, 130_000, 130_000, 130_000]);
    expect([...(again.pendingJobsFor('dns\nrbl.test', '2001:db8:4:1fbcf::/64') ?? [])]).toEqual([4]);
  });

  it.each([
    ['a column shorter than the ids', (c: JobColumns) => ({ ...c, a: c.a.slice(1) })],
    ['fewer targets than counted', (c: JobColumns) => ({ ...c, t: c.t.slice(1) })],
    ['a string index past the table', (c: JobColumns) => ({ ...c, r: c.r.map(() => 99) })],
    ['a dead delivery of a job not in the chunk', (c: JobColumns) => ({ ...c, x: [[5, 'a\nz1', 1, 'RBL_X', 'm']] as JobColumns['x'] })],
  ])('refuses %s as a corrupt journal', (_, spoil) => {
    expect(() => decodeJobColumns(spoil(encodeJobColumns([job(1), job(2)])))).toThrow(expect.objectContaining({ code: 'RBL_JOURNAL_CORRUPT' }));
  });
});
