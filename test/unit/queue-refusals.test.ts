/**
 * A signed REFUSED to an UPDATE is a name the key may not change (for good), or a zone frozen for a
 * hand edit (until the thaw); the server refuses the whole UPDATE either way. The lane tries the
 * jobs of a refused batch one per call: the refused name becomes a dead letter and the others are
 * delivered; while every job is refused, nothing is lost and the lane waits for the thaw.
 */
import { describe, expect, it } from 'vitest';
import { tsigKey } from '../../src/backends/dns-update/keyfile.js';
import { checkAnswer, type AnswerContext } from '../../src/backends/dns-update/outcome.js';
import { RefusalPass } from '../../src/queue/refusal-pass.js';
import { FakeBackend, useStateDir, waitUntil } from '../helpers/state-store.js';

const KEY = tsigKey('unlist-key', 'hmac-sha512', Buffer.alloc(64, 1).toString('base64'), 'test');
const UPDATE: AnswerContext = { server: '127.0.0.1:53', zone: 'rbl.example.net', key: KEY, keySource: 'k', what: 'A, TXT', operation: 'update' };
/** What the dns-update backend throws for a signed REFUSED to an UPDATE. */
const refuse = (): never => {
  checkAnswer(5, { valid: true, tsigError: 0, problem: undefined, serverTime: undefined }, UPDATE);
  throw new Error('checkAnswer took a REFUSED');
};
const state = useStateDir('refusals');

function unlist(address: string) {
  return { targets: [address], reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId: `s-${address}` }, createdAt: Date.now() };
}

const open = (backend: FakeBackend) => state.open({ backends: [backend], maxSessionAgeMs: 86_400_000, backoff: { baseMs: 20, maxMs: 40 }, concurrency: 1, requestPollMs: 20 });

describe('refused UPDATEs', () => {
  it('dead-letter the one name the server refuses in a batch, and deliver the others of it', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    bind.behaviour = async (_zone, targets) => {
      await gate;
      if (targets.includes('10.64.9.9')) refuse();
    };
    const store = await open(bind);
    const first = store.commit({ unlist: unlist('10.64.0.1') }, { trackDelivery: true });
    await waitUntil(() => bind.calls.length === 1, 2000);
    // Queued behind the first call, they go out as one batch with the refused name among them.
    const good = Array.from({ length: 20 }, (_, i) => store.commit({ unlist: unlist(`10.64.3.${i}`) }, { trackDelivery: true }));
    const refused = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    release();
    await Promise.all([first.done, ...good.map((commit) => commit.done)]);
    await expect(refused.done).rejects.toMatchObject({ code: 'RBL_DNS_REFUSED', message: expect.stringContaining('refused for these names alone, while the zone took others') as unknown });
    expect(bind.calls.some((call) => call.targets.length > 1 && call.targets.includes('10.64.9.9'))).toBe(true);
    expect(store.deadLetterCount()).toBe(1);
    expect(store.depth()).toBe(0);
  });

  it('lose nothing while the zone refuses everything (frozen), and go out after the thaw', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let frozen = true;
    bind.behaviour = () => {
      if (frozen) refuse();
    };
    const store = await open(bind);
    const commits = Array.from({ length: 12 }, (_, i) => store.commit({ unlist: unlist(`10.64.4.${i}`) }, { trackDelivery: true }));
    // Every job refused alone, the lane pausing between passes.
    await waitUntil(() => new Set(bind.calls.filter((call) => call.targets.length === 1).flatMap((call) => call.targets)).size === 12, 5000);
    await waitUntil(() => state.events.filter((event) => event.type === 'retry-scheduled' && event.delayMs > 0).length >= 2, 5000);
    expect(store.deadLetterCount()).toBe(0);
    frozen = false;
    await Promise.all(commits.map((commit) => commit.done));
    expect(store.deadLetterCount()).toBe(0);
    expect(new Set(bind.delivered('rbl.example.net')).size).toBe(12);
  });

  it('judge a refusal after a pass that ended in a dead letter afresh: a zone frozen since loses nothing', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    let frozen = false;
    bind.behaviour = (_zone, targets) => {
      if (frozen || targets.includes('10.64.9.9')) refuse();
    };
    const store = await open(bind);
    const refused = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    await waitUntil(() => bind.calls.length >= 1, 5000);
    await store.commit({ unlist: unlist('10.64.6.1') }, { trackDelivery: true }).done;
    await expect(refused.done).rejects.toMatchObject({ code: 'RBL_DNS_REFUSED' });
    // The zone is frozen now: a lone Stop's refusal says nothing of its name.
    frozen = true;
    const lone = store.commit({ unlist: unlist('10.64.6.2') }, { trackDelivery: true });
    await waitUntil(() => bind.calls.filter((call) => call.targets.includes('10.64.6.2')).length >= 2, 5000);
    expect(store.deadLetterCount()).toBe(1);
    frozen = false;
    await lone.done;
    expect(store.deadLetterCount()).toBe(1);
  });

  it('retry a name refused alone, and dead-letter it once a later job shows the zone takes others', async () => {
    const bind = new FakeBackend('bind', ['rbl.example.net']);
    bind.behaviour = (_zone, targets) => {
      if (targets.includes('10.64.9.9')) refuse();
    };
    const store = await open(bind);
    const refused = store.commit({ unlist: unlist('10.64.9.9') }, { trackDelivery: true });
    await waitUntil(() => bind.calls.length >= 2, 5000);
    expect(store.deadLetterCount()).toBe(0);
    const later = store.commit({ unlist: unlist('10.64.5.1') }, { trackDelivery: true });
    await later.done;
    await expect(refused.done).rejects.toMatchObject({ code: 'RBL_DNS_REFUSED' });
  });
});

describe('RefusalPass', () => {
  it('splits a refused batch, tries the others before a refused job again, and pauses once every job was refused in a row', () => {
    const pass = new RefusalPass();
    expect(pass.refused(3, 0)).toBe('split');
    expect(pass.refused(1, 2)).toBe('try-others');
    expect(pass.refused(1, 2)).toBe('try-others');
    expect(pass.refused(1, 2)).toBe('pause');
    // A new pass counts afresh.
    expect(pass.refused(1, 2)).toBe('try-others');
  });

  it('dead-letters a job refused after another went through, until a new batch is refused', () => {
    const pass = new RefusalPass();
    expect(pass.refused(2, 0)).toBe('split');
    expect(pass.refused(1, 1)).toBe('try-others');
    pass.succeeded();
    expect(pass.refused(1, 0)).toBe('dead-letter');
    expect(pass.refused(4, 0)).toBe('split');
    expect(pass.refused(1, 3)).toBe('try-others');
  });

  it('pauses a job refused alone with nothing else to try', () => {
    expect(new RefusalPass().refused(1, 0)).toBe('pause');
  });
});
