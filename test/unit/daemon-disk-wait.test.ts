/**
 * The service in-process while its disk does not finish a write (every journal write held, as a
 * hung disk holds it): past state.max_unwritten requests waiting for the journal a new one is refused
 * before it changes anything, a SIGHUP reload that raises the cap takes effect for the next request,
 * and once the disk returns every request that waited is answered and the refused one is processed
 * when it is retransmitted. test/integration/hung-disk.test.ts does the same with a frozen file
 * system and the built service.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKENDS } from '../../src/backends/index.js';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { writeKeyFile } from '../helpers/cli.js';
import { fileHandlePrototype, holdWrites } from '../helpers/disk.js';
import { logLineSink } from '../helpers/log-lines.js';
import { packetsCounted, sample, scrapeMetrics } from '../helpers/metrics.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, writeConfig } from '../helpers/service.js';

let fileHandle: FileHandle;
let temp: { dir: string; remove: () => void };
let daemon: Daemon | undefined;
let logs: { msg: string; code?: string }[];
let releaseDisk: () => void = () => undefined;

beforeAll(async () => {
  fileHandle = await fileHandlePrototype();
});
beforeEach(() => {
  temp = tempDir('daemon-disk-wait');
  logs = [];
});
afterEach(async () => {
  releaseDisk();
  vi.restoreAllMocks();
  await daemon?.close();
  daemon = undefined;
  temp.remove();
});

const stop = (i: number): Buffer =>
  buildAccountingRequest({
    identifier: i,
    secret: NAS_SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `wait-${i}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': `10.64.0.${i}` },
  });

const waiting = async (httpPort: number): Promise<number> => sample(await scrapeMetrics(httpPort), 'rbl_unlist_journal_waiting');

describe('the service while its disk does not finish a write', () => {
  it('refuses requests past state.max_unwritten, takes a raised cap on reload, and answers what waited once the disk returns', async () => {
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const keyFile = writeKeyFile(temp.dir, 'tsig.key');
    const yaml = (maxUnwritten: number): string =>
      serviceConfigYaml({
        radiusPort,
        httpPort,
        stateDir: join(temp.dir, 'state'),
        maxUnwritten,
        backends: [{ type: 'dns-update', server: '127.0.0.1:9', zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '1s' }],
      });
    daemon = createDaemon(loadConfig(writeConfig(temp.dir, yaml(2)), BACKENDS), { logger: createLogger('info', logLineSink(logs)), backends: BACKENDS });
    await daemon.start();
    releaseDisk = holdWrites(fileHandle).release;

    // Two Stops wait for the disk: the cap is reached.
    const first = [1, 2].map((i) => sendRadius(stop(i), radiusPort, '127.0.0.1', 10_000));
    await waitFor('two requests waiting for the disk', async () => (await waiting(httpPort)) === 2, 5000, 20);
    // The third is refused at once, with the line that says why.
    expect(await sendRadius(stop(3), radiusPort, '127.0.0.1', 1000)).toBeUndefined();
    await waitFor('the third to be refused', async () => (await packetsCounted(httpPort, 'not_acknowledged')) === 1, 5000, 20);
    expect(logs).toContainEqual(
      expect.objectContaining({ code: 'RBL_STATE_DIR', msg: "not recorded: 2 requests already wait for the journal's write to disk (state.max_unwritten 2); the disk is slow or hung" }),
    );
    expect(await waiting(httpPort)).toBe(2);

    // A reload that raises the cap: the next request waits like the first two instead of being refused.
    await daemon.reload(loadConfig(writeConfig(temp.dir, yaml(10)), BACKENDS));
    const fourth = sendRadius(stop(4), radiusPort, '127.0.0.1', 10_000);
    await waitFor('the fourth request waiting for the disk', async () => (await waiting(httpPort)) === 3, 5000, 20);
    expect(await packetsCounted(httpPort, 'not_acknowledged')).toBe(1);

    // The disk returns: what waited is answered, and the refused Stop, sent again, is processed.
    releaseDisk();
    const answers = await Promise.all([...first, fourth]);
    [1, 2, 4].forEach((i, n) => expect(answers[n] && verifyAccountingResponse(answers[n], stop(i), NAS_SECRET)).toBe(true));
    const retransmitted = await sendRadius(stop(3), radiusPort, '127.0.0.1', 5000);
    expect(retransmitted && verifyAccountingResponse(retransmitted, stop(3), NAS_SECRET)).toBe(true);
    expect(await waiting(httpPort)).toBe(0);
  });
});
