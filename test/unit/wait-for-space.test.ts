/**
 * A start on a state.dir without room (src/queue/wait-for-space.ts): tried again while the file
 * system says ENOSPC or EDQUOT, in the error or any cause under it; any other failure, or a
 * service that is closing, ends it at once. test/integration/full-disk.test.ts runs the service so.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { openWaitingForSpace, outOfSpaceCode } from '../../src/queue/wait-for-space.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: no room`), { code });

describe('a start that waits for space', () => {
  it.each([
    ['ENOSPC itself', errno('ENOSPC'), 'ENOSPC'],
    ['EDQUOT under an RblError', new RblError('RBL_STATE_DIR', 'cannot create the lock', { cause: errno('EDQUOT') }), 'EDQUOT'],
    ['ENOSPC two causes down', new Error('outer', { cause: new Error('middle', { cause: errno('ENOSPC') }) }), 'ENOSPC'],
    ['EACCES', errno('EACCES'), undefined],
    ['no error at all', 'ENOSPC', undefined],
  ])('finds the code of %s', (_case, error, code) => {
    expect(outOfSpaceCode(error)).toBe(code);
  });

  it('tries again while there is no room, telling each failure, and returns what the first good try opened', async () => {
    const told: [string, number][] = [];
    let tries = 0;
    const opened = await openWaitingForSpace(
      async () => {
        if (++tries < 3) throw new RblError('RBL_STATE_DIR', 'cannot create the lock', { cause: errno('ENOSPC') });
        return 'store';
      },
      { onFull: (_error, code, failures) => told.push([code, failures]), abandoned: () => false, retryMs: 1 },
    );
    expect(opened).toBe('store');
    expect(told).toEqual([
      ['ENOSPC', 1],
      ['ENOSPC', 2],
    ]);
  });

  it('throws any other failure at once, and a full disk once the service is closing', async () => {
    let tries = 0;
    const failing = (error: Error) => () => (tries++, Promise.reject(error));
    await expect(openWaitingForSpace(failing(errno('EACCES')), { onFull: () => undefined, abandoned: () => false, retryMs: 1 })).rejects.toMatchObject({ code: 'EACCES' });
    expect(tries).toBe(1);
    await expect(openWaitingForSpace(failing(errno('ENOSPC')), { onFull: () => undefined, abandoned: () => true, retryMs: 1 })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(tries).toBe(2);
  });

  it('cuts the wait between tries short when told to stop, and gives the last error', async () => {
    const stop = new AbortController();
    let stopping = false;
    const waiting = openWaitingForSpace(() => Promise.reject(errno('ENOSPC')), {
      onFull: () => {
        stopping = true;
        stop.abort();
      },
      abandoned: () => stopping,
      retryMs: 3_600_000,
      signal: stop.signal,
    });
    await expect(waiting).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});
