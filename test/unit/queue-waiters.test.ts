/**
 * Who waits for which deliveries (state.ack: unlisted): a waiter is answered once every delivery it
 * waits on is done, fails with the first dead letter, and follows a delivery merged into newer ones.
 */
import { describe, expect, it } from 'vitest';
import { RblError } from '../../src/errors.js';
import { deliveryKey, DeliveryWaiters } from '../../src/queue/waiters.js';

const settled = async (promise: Promise<void>): Promise<string> => {
  const state = await Promise.race([promise.then(() => 'resolved', (error: Error) => `rejected ${error.message}`), new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);
  return state;
};

describe('delivery waiters', () => {
  it('answers at once when there is nothing to wait for', async () => {
    expect(await settled(new DeliveryWaiters().wait([]))).toBe('resolved');
  });

  it('answers once every delivery it waits on is done, and not before', async () => {
    const waiters = new DeliveryWaiters();
    const waiting = waiters.wait([deliveryKey(1, 'a'), deliveryKey(1, 'b')]);
    waiters.done(deliveryKey(1, 'a'));
    expect(await settled(waiting)).toBe('pending');
    waiters.done(deliveryKey(1, 'b'));
    expect(await settled(waiting)).toBe('resolved');
    expect(waiters.keys()).toEqual([]);
  });

  it('fails with the dead letter of any delivery it waits on', async () => {
    const waiters = new DeliveryWaiters();
    const waiting = waiters.wait([deliveryKey(1, 'a'), deliveryKey(2, 'a')]);
    waiters.failed(deliveryKey(2, 'a'), new RblError('RBL_DNS_REFUSED', 'refused'));
    expect(await settled(waiting)).toBe('rejected refused');
  });

  it('follows a delivery merged into newer ones, and is answered when those are done', async () => {
    const waiters = new DeliveryWaiters();
    const waiting = waiters.wait([deliveryKey(1, 'a')]);
    waiters.moved(deliveryKey(1, 'a'), [deliveryKey(5, 'a'), deliveryKey(6, 'a')]);
    waiters.done(deliveryKey(1, 'a'));
    waiters.done(deliveryKey(5, 'a'));
    expect(await settled(waiting)).toBe('pending');
    waiters.done(deliveryKey(6, 'a'));
    expect(await settled(waiting)).toBe('resolved');
  });

  it('of a delivery done in part, lets a commit merged in for unlisted targets go, and moves the others to the job that goes on', async () => {
    const waiters = new DeliveryWaiters();
    const job = deliveryKey(1, 'api');
    const own = waiters.wait([job]);
    const mergedDone = waiters.wait([job, deliveryKey(9, 'dns')], new Map([[job, ['10.0.0.1']]]));
    const mergedLeft = waiters.wait([job], new Map([[job, ['10.0.0.1', '10.0.0.2']]]));
    waiters.continued(job, deliveryKey(4, 'api'), new Set(['10.0.0.1', '10.0.0.3']));
    waiters.done(deliveryKey(9, 'dns'));
    expect(await settled(mergedDone)).toBe('resolved');
    expect(await settled(own)).toBe('pending');
    expect(await settled(mergedLeft)).toBe('pending');
    // The job that goes on is done in part again: the merged commit's 10.0.0.2 among it this time.
    waiters.continued(deliveryKey(4, 'api'), deliveryKey(5, 'api'), new Set(['10.0.0.2']));
    expect(await settled(mergedLeft)).toBe('resolved');
    expect(await settled(own)).toBe('pending');
    waiters.done(deliveryKey(5, 'api'));
    expect(await settled(own)).toBe('resolved');
    expect(waiters.keys()).toEqual([]);
  });
});
