/**
 * The `unlisted` lines of a delivered batch (src/queue/unlisted-lines.ts): built as one string and
 * written once, yet each line the one pino writes for the same fields, since tests, the bench and
 * operators' log pipelines read it.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat } from '../../src/log.js';
import type { UnlistJob } from '../../src/queue/state.js';
import { unlistedLineWriter } from '../../src/queue/unlisted-lines.js';

/** A destination that keeps each write apart. */
function sink(): { stream: Writable; writes: string[]; lines: () => string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString());
      callback();
    },
  });
  return { stream, writes, lines: () => writes.join('').split('\n').filter(Boolean) };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const reason = { event: 'stop', client: 'ras1', nas: '192.0.2.1/nas-1', sessionId: 's-1' };
const jobs: UnlistJob[] = [
  { id: '7', targets: ['10.64.0.7'], reason, createdAt: 990 },
  { id: '8', targets: ['10.64.0.8', '2001:db8::/56'], reason: { ...reason, sessionId: 's-2' }, createdAt: 995 },
  { id: '9', targets: ['10.64.0.9'], reason: { ...reason, sessionId: 's-3' }, createdAt: 1000 },
];

function logger(level: string, format: LogFormat = 'json') {
  const out = sink();
  return { out, log: createLogger(level, out.stream, format).child({ component: 'queue' }) };
}

describe('unlisted lines of a delivered batch', () => {
  it('are, key for key and in the same order, the lines pino writes for the same fields', async () => {
    const batched = logger('info');
    unlistedLineWriter(batched.log)('bind', 'rbl.test', jobs, 1000);
    const plain = logger('info');
    for (const job of jobs) {
      const { client, nas, sessionId: session, event } = job.reason;
      plain.log.info({ client, nas, session, event, addresses: job.targets, job: job.id, backend: 'bind', zone: 'rbl.test', ms: 1000 - job.createdAt }, 'unlisted');
    }
    await settled();
    const parse = (line: string) => {
      const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return rest;
    };
    const got = batched.out.lines().map(parse);
    const wanted = plain.out.lines().map(parse);
    expect(got).toEqual(wanted);
    expect(got.map((line) => Object.keys(line))).toEqual(wanted.map((line) => Object.keys(line)));
    expect(got[1]).toMatchObject({ level: 'info', service: 'rbl-unlist', component: 'queue', msg: 'unlisted', addresses: ['10.64.0.8', '2001:db8::/56'], ms: 5 });
  });

  it('reach the stream in one write for the whole batch', async () => {
    const { out, log } = logger('info');
    unlistedLineWriter(log)('bind', 'rbl.test', jobs, 1000);
    await settled();
    expect(out.writes).toHaveLength(1);
    expect(out.lines()).toHaveLength(3);
  });

  it('escape quotes, backslashes and control characters from a packet so each line stays one JSON line', async () => {
    const { out, log } = logger('info');
    const hostile = { event: 'stop', client: 'ras"1', nas: 'nas\\n\n{"level":"error"}', sessionId: 's\u0000\u2028"x' };
    unlistedLineWriter(log)('bind', 'rbl.test', [{ id: '1', targets: ['10.64.0.1'], reason: hostile, createdAt: 0 }], 5);
    await settled();
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ client: 'ras"1', nas: 'nas\\n\n{"level":"error"}', session: 's\u0000\u2028"x', ms: 5 });
  });

  it('hold any text from a packet as JSON.stringify writes it, plain text left as it is and everything else escaped', async () => {
    // Printable ASCII goes in between quotes without an escaping pass; a quote, a backslash, a
    // control character, non-ASCII text or a lone surrogate takes JSON.stringify's way.
    const text = fc.oneof(fc.string({ unit: 'grapheme-ascii' }), fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\u007f', '\ud800', 'a\u2028b', ''));
    await fc.assert(
      fc.asyncProperty(text, text, text, fc.array(fc.constantFrom('10.64.0.1', '2001:db8::/56'), { minLength: 1, maxLength: 3 }), async (client, nas, sessionId, targets) => {
        const { out, log } = logger('info');
        unlistedLineWriter(log)('bind', 'rbl.test', [{ id: '1', targets, reason: { event: 'stop', client, nas, sessionId }, createdAt: 0 }], 5);
        await settled();
        const lines = out.lines();
        expect(lines).toHaveLength(1);
        const line = lines[0]!;
        expect(line).toContain(`,"client":${JSON.stringify(client)},"nas":${JSON.stringify(nas)},"session":${JSON.stringify(sessionId)},"event":"stop"`);
        expect(line).toContain(`,"addresses":${JSON.stringify(targets)},"job":"1","backend":"bind","zone":"rbl.test","ms":5,`);
        expect(JSON.parse(line)).toMatchObject({ client, nas, session: sessionId, addresses: targets });
      }),
      { numRuns: 300 },
    );
  });

  it('leave out the session of an event without Acct-Session-Id, as pino leaves out what is undefined', async () => {
    const { out, log } = logger('info');
    unlistedLineWriter(log)('bind', 'rbl.test', [{ id: '1', targets: ['10.64.0.1'], reason: { event: 'accounting-on', client: 'ras1', nas: 'n' }, createdAt: 0 }], 1);
    await settled();
    const line = JSON.parse(out.lines()[0]!) as Record<string, unknown>;
    expect('session' in line).toBe(false);
    expect(line).toMatchObject({ event: 'accounting-on', job: '1' });
  });

  it('are not written when the level is warn, and are once the level is lowered to info', async () => {
    const { out, log } = logger('warn');
    const write = unlistedLineWriter(log);
    write('bind', 'rbl.test', jobs, 1000);
    log.warn('a later line');
    log.level = 'info';
    write('bind', 'rbl.test', jobs.slice(0, 1), 1000);
    await settled();
    expect(out.lines().map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['a later line', 'unlisted']);
  });

  it('go through pino, one call each, for a logger whose lines pino adds to (a mixin)', async () => {
    const out = sink();
    const log = pino({ base: null, timestamp: false, mixin: () => ({ mixed: true }) }, out.stream);
    unlistedLineWriter(log)('bind', 'rbl.test', jobs, 1000);
    await settled();
    expect(out.writes).toHaveLength(3);
    expect(out.lines().map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual(
      jobs.map((job) => expect.objectContaining({ mixed: true, msg: 'unlisted', job: job.id, ms: 1000 - job.createdAt })),
    );
  });

  it('each become their own readable line with log.format pretty', async () => {
    const { out, log } = logger('info', 'pretty');
    unlistedLineWriter(log)('bind', 'rbl.test', jobs, 1000);
    await settled();
    expect(out.lines()).toHaveLength(3);
    expect(out.lines()[0]).toMatch(/^\S+ \S+ INFO {2}queue: unlisted client=ras1 nas=192.0.2.1\/nas-1 session=s-1 event=stop addresses=\[10.64.0.7\] job=7 backend=bind zone=rbl.test ms=10$/);
  });
});
