/**
 * `queue retry` and `queue drop` while another container holds the state.dir lock: its service is
 * asked, and when it does not answer and no longer refreshes its lock (a container killed a moment
 * ago), the command waits out the lock's STALE_MS and does the work on the journal itself. A holder
 * that still refreshes its lock is left alone, and its silence is the error.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { dropDeadLetters, listQueue } from '../../src/queue/admin.js';
import { LOCK_FILE } from '../../src/queue/lock.js';
import { STALE_MS } from '../../src/queue/lock-liveness.js';
import { FakeBackend, useStateDir } from '../helpers/state-store.js';

const state = useStateDir('admin-takeover');
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
/** A lock as a service in another PID namespace of this host writes it. */
const foreignLock = () => ({ pid: 1, boot: bootId, start: '1', pidns: 'pid:[1]', host: hostname(), nonce: 'theirs', role: 'serve', since: 1, refreshed: Date.now() });
const writeLock = (record: object): void => writeFileSync(join(state.dir, LOCK_FILE), JSON.stringify(record));

/** A journal with one dead letter, left by a service that is gone. */
async function deadLetterLeft(): Promise<string> {
  const bind = new FakeBackend('bind', ['rbl.example.net']);
  bind.behaviour = () => {
    throw new RblError('RBL_DNS_REFUSED', 'REFUSED by 127.0.0.1:53');
  };
  const store = await state.open({ backends: [bind], maxSessionAgeMs: 86_400_000 });
  const commit = store.commit({ unlist: { targets: ['10.64.7.1'], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: 's1' }, createdAt: Date.now() } });
  await expect(commit.done).rejects.toThrow(RblError);
  await store.close();
  return commit.jobId!;
}

describe('queue drop while another container holds the lock', () => {
  it(
    'does the work on the journal once a holder that stopped refreshing its lock is found stale',
    async () => {
      const id = await deadLetterLeft();
      writeLock(foreignLock());
      const journal = join(state.dir, 'journal');
      const { ino } = statSync(journal);
      const started = performance.now();
      expect(await dropDeadLetters(state.dir, [id], { timeoutMs: 200 })).toEqual({ count: 1, notFound: [], via: 'journal' });
      // Not before the lock went STALE_MS unrefreshed while the command watched it.
      expect(performance.now() - started).toBeGreaterThanOrEqual(STALE_MS);
      // Its holder may still run with the journal open: the command wrote to a copy under the name.
      expect(statSync(journal).ino).not.toBe(ino);
      expect((await listQueue(state.dir)).dead).toEqual([]);
    },
    STALE_MS + 15_000,
  );

  it('leaves a holder that keeps refreshing its lock alone, and says that it did not answer', async () => {
    const id = await deadLetterLeft();
    const lock = foreignLock();
    writeLock(lock);
    const heartbeat = setInterval(() => writeLock({ ...lock, refreshed: Date.now() }), 200);
    try {
      await expect(dropDeadLetters(state.dir, [id], { timeoutMs: 300 })).rejects.toMatchObject({
        code: 'RBL_STATE_DIR',
        message: expect.stringMatching(/^the running service did not answer within 0 s, and nothing was applied; check that it is healthy/) as unknown,
      });
    } finally {
      clearInterval(heartbeat);
    }
    expect(JSON.parse(readFileSync(join(state.dir, LOCK_FILE), 'utf8'))).toMatchObject({ nonce: 'theirs' });
    expect((await listQueue(state.dir)).dead.map((letter) => letter.id)).toEqual([id]);
  });
});
