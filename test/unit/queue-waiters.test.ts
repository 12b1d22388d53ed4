/**
 * Who waits for which deliveries (state.ack: unlisted): a waiter is answered once every delivery it
 * waits on is done, fails with the first dead letter, and follows a delivery merged into newer ones.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { deliveryKey, DeliveryWaiters, type RebuiltDelivery } from '../../src/queue/waiters.js';

/** Waits on each delivery for one target of its own. */
const on = (keys: readonly string[]): Map<string, readonly string[]> => new Map(keys.map((key) => [key, ['10.0.0.1']]));

const settled = async (promise: Promise<void>): Promise<string> => {
  const state = await Promise.race([promise.then(() => 'resolved', (error: Error) => `rejected ${error.message}`), new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);
  return state;
};

describe('delivery waiters', () => {
  it('answers at once when there is nothing to wait for', async () => {
    expect(await settled(new DeliveryWaiters().wait(new Map()))).toBe('resolved');
  });

  it('answers once every delivery it waits on is done, and not before', async () => {
    const waiters = new DeliveryWaiters();
    const waiting = waiters.wait(on([deliveryKey(1, 'a'), deliveryKey(1, 'b')]));
    waiters.done(deliveryKey(1, 'a'));
    expect(await settled(waiting)).toBe('pending');
    waiters.done(deliveryKey(1, 'b'));
    expect(await settled(waiting)).toBe('resolved');
    expect(waiters.keys()).toEqual([]);
  });

  it('fails with the dead letter of any delivery it waits on', async () => {
    const waiters = new DeliveryWaiters();
    const waiting = waiters.wait(on([deliveryKey(1, 'a'), deliveryKey(2, 'a')]));
    waiters.failed(deliveryKey(2, 'a'), new RblError('RBL_DNS_REFUSED', 'refused'));
    expect(await settled(waiting)).toBe('rejected refused');
  });

  it('follows a delivery merged into newer ones, and is answered when those are done', async () => {
    const waiters = new DeliveryWaiters();
    const waiting = waiters.wait(on([deliveryKey(1, 'a')]));
    waiters.moved(deliveryKey(1, 'a'), new Map([[deliveryKey(5, 'a'), new Set(['10.0.0.1'])], [deliveryKey(6, 'a'), new Set(['10.0.0.1'])]]));
    waiters.done(deliveryKey(1, 'a'));
    waiters.done(deliveryKey(5, 'a'));
    expect(await settled(waiting)).toBe('pending');
    waiters.done(deliveryKey(6, 'a'));
    expect(await settled(waiting)).toBe('resolved');
  });

  it('of a delivery done in part, lets a commit merged in for targets not left go, and moves the others to the job that goes on', async () => {
    const waiters = new DeliveryWaiters();
    const job = deliveryKey(1, 'api');
    const own = waiters.wait(new Map([[job, ['10.0.0.1', '10.0.0.2', '10.0.0.3']]]));
    const mergedDone = waiters.wait(new Map([[job, ['10.0.0.1']], [deliveryKey(9, 'dns'), ['10.0.0.1']]]));
    const mergedLeft = waiters.wait(new Map([[job, ['10.0.0.1', '10.0.0.2']]]));
    waiters.moved(job, new Map([[deliveryKey(4, 'api'), new Set(['10.0.0.2', '10.0.0.3'])]]));
    waiters.done(deliveryKey(9, 'dns'));
    expect(await settled(mergedDone)).toBe('resolved');
    expect(await settled(own)).toBe('pending');
    expect(await settled(mergedLeft)).toBe('pending');
    // The job that goes on is done in part again, 10.0.0.2 unlisted this time.
    waiters.moved(deliveryKey(4, 'api'), new Map([[deliveryKey(5, 'api'), new Set(['10.0.0.3'])]]));
    expect(await settled(mergedLeft)).toBe('resolved');
    expect(await settled(own)).toBe('pending');
    waiters.done(deliveryKey(5, 'api'));
    expect(await settled(own)).toBe('resolved');
    expect(waiters.keys()).toEqual([]);
  });

  it('keeps its own targets through a move, so a job it was moved to and then done in part lets it go', async () => {
    const waiters = new DeliveryWaiters();
    const stop = waiters.wait(new Map([[deliveryKey(1, 'api'), ['10.0.0.1']]]));
    waiters.moved(deliveryKey(1, 'api'), new Map([[deliveryKey(2, 'api'), new Set(['10.0.0.1', '10.0.0.2'])]]));
    waiters.moved(deliveryKey(2, 'api'), new Map([[deliveryKey(3, 'api'), new Set(['10.0.0.2'])]]));
    expect(await settled(stop)).toBe('resolved');
  });

  it('superseded by two newer jobs, waits on each only for the targets it covers', async () => {
    const waiters = new DeliveryWaiters();
    const stop = waiters.wait(new Map([[deliveryKey(1, 'api'), ['10.0.0.1']]]));
    waiters.moved(deliveryKey(1, 'api'), new Map([[deliveryKey(2, 'api'), new Set(['10.0.0.1'])], [deliveryKey(3, 'api'), new Set(['10.0.0.2'])]]));
    expect(waiters.keys()).toEqual([deliveryKey(2, 'api')]);
    waiters.done(deliveryKey(2, 'api'));
    expect(await settled(stop)).toBe('resolved');
  });

  it('after a rebuild, waits on what covers its targets when the job it was moved to never reached the disk, and fails or ends as the rebuilt state says', async () => {
    const waiters = new DeliveryWaiters();
    const moved = waiters.wait(new Map([[deliveryKey(1, 'api'), ['10.0.0.1']], [deliveryKey(2, 'api'), ['10.0.0.2']]]));
    const other = waiters.wait(new Map([[deliveryKey(2, 'api'), ['10.0.0.2']]]));
    const own = waiters.wait(new Map([[deliveryKey(7, 'api'), ['10.0.0.7']]]));
    const dead = waiters.wait(new Map([[deliveryKey(3, 'api'), ['10.0.0.3']]]));
    // Its rejection is read below, after others are awaited: handled from now on.
    dead.catch(() => undefined);
    // Jobs 1 and 2 are superseded by job 5, which continues as 6; neither 5 nor 6 reached the disk.
    const both = new Set(['10.0.0.1', '10.0.0.2']);
    waiters.moved(deliveryKey(1, 'api'), new Map([[deliveryKey(5, 'api'), both]]));
    waiters.moved(deliveryKey(2, 'api'), new Map([[deliveryKey(5, 'api'), both]]));
    waiters.moved(deliveryKey(5, 'api'), new Map([[deliveryKey(6, 'api'), both]]));
    const state: Record<string, RebuiltDelivery> = {
      [deliveryKey(1, 'api')]: 'pending',
      [deliveryKey(2, 'api')]: 'pending',
      [deliveryKey(4, 'api')]: 'pending',
      [deliveryKey(3, 'api')]: new RblError('RBL_DNS_REFUSED', 'refused'),
    };
    // After the rebuild, job 1 holds 10.0.0.1 and job 4 (a later Stop on disk) 10.0.0.2; 7 never was.
    const covering: Record<string, string[]> = { '10.0.0.1': [deliveryKey(1, 'api')], '10.0.0.2': [deliveryKey(4, 'api')] };
    waiters.rebuilt(
      (key) => state[key] ?? (Number(key.split(' ')[0]) >= 5 ? 'lost' : 'done'),
      (_key, target) => covering[target] ?? [],
    );
    // Job 2's own waiter went with it to job 5, and now waits on job 4 for 10.0.0.2.
    expect(await settled(other)).toBe('pending');
    expect(await settled(own)).toBe('resolved');
    expect(await settled(dead)).toBe('rejected refused');
    expect(await settled(moved)).toBe('pending');
    expect(waiters.keys().sort()).toEqual([deliveryKey(1, 'api'), deliveryKey(4, 'api')]);
    waiters.done(deliveryKey(1, 'api'));
    expect(await settled(moved)).toBe('pending');
    waiters.done(deliveryKey(4, 'api'));
    expect(await settled(moved)).toBe('resolved');
    expect(await settled(other)).toBe('resolved');
  });
});
