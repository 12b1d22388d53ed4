/**
 * `queue retry|drop` hand their request to the running service through files in state.dir. A
 * command that stops waiting says truly whether the service has the request (it is being applied,
 * on a slow disk, and will be) or not (nothing was applied, and now never is).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendRequest, serveRequests, type AdminReply, type AdminRequest } from '../../src/queue/requests.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rbl-unlist-requests-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a queue request the command stops waiting for', () => {
  it('is said to be applied still when the service took it, and the service finishes it', async () => {
    let finish: (reply: AdminReply) => void = () => undefined;
    const applied: AdminRequest[] = [];
    const sent = sendRequest(dir, { action: 'drop', ids: ['7'] }, 400);
    const rejected = expect(sent).rejects.toMatchObject({
      code: 'RBL_STATE_DIR',
      message: expect.stringMatching(/^the running service took the request but did not finish it within 0 s \(a slow or hung disk\?\): it applies it when it can/) as unknown,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The service reads it and is held up applying it (a hung disk) past the command's wait.
    const serving = serveRequests(dir, (request) => {
      applied.push(request);
      return new Promise<AdminReply>((resolve) => (finish = resolve));
    });
    await rejected;
    finish({ count: 1, notFound: [] });
    await serving;
    expect(applied).toEqual([{ action: 'drop', ids: ['7'] }]);
  });

  it('is said to be not applied when the service never read it, and is never applied later', async () => {
    await expect(sendRequest(dir, { action: 'retry', ids: undefined }, 200)).rejects.toMatchObject({
      code: 'RBL_STATE_DIR',
      message: expect.stringMatching(/^the running service did not answer within 0 s, and nothing was applied/) as unknown,
    });
    const applied: AdminRequest[] = [];
    await serveRequests(dir, async (request) => {
      applied.push(request);
      return { count: 0, notFound: [] };
    });
    expect(applied).toEqual([]);
    expect(readdirSync(join(dir, 'requests'))).toEqual([]);
  });
});
