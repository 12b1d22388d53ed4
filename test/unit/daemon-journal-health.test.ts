/**
 * The service in-process, its journal failing as a broken disk does (EIO from the file handle): the
 * Stop gets no Accounting-Response, /readyz's journal check says why, and turns ok again by itself once
 * writes work, with no packet needed; a retransmission is then answered. (The backend here never
 * answers its probes, so /readyz as a whole stays 503; test/integration/full-disk.test.ts has it all.) A `queue` request it cannot answer is
 * logged and leaves readiness alone: it is not the journal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKENDS } from '../../src/backends/index.js';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { listQueue } from '../../src/queue/admin.js';
import { writeKeyFile } from '../helpers/cli.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, writeConfig } from '../helpers/service.js';
import { logLineSink } from '../helpers/log-lines.js';
import { packetsCounted } from '../helpers/metrics.js';
import { fileHandlePrototype } from '../helpers/disk.js';

let fileHandle: FileHandle;
let temp: { dir: string; remove: () => void };
let daemon: Daemon | undefined;
let logs: { msg: string; code?: string }[];

beforeAll(async () => {
  fileHandle = await fileHandlePrototype();
});
beforeEach(() => {
  temp = tempDir('daemon-journal');
  logs = [];
});
afterEach(async () => {
  vi.restoreAllMocks();
  await daemon?.close();
  daemon = undefined;
  temp.remove();
});

async function startDaemon(unlistOn?: readonly string[]): Promise<{ radiusPort: number; httpPort: number; stateDir: string }> {
  const radiusPort = await freePort();
  const httpPort = await freePort();
  const stateDir = join(temp.dir, 'state');
  const keyFile = writeKeyFile(temp.dir, 'tsig.key');
  const file = writeConfig(
    temp.dir,
    serviceConfigYaml({ radiusPort, httpPort, stateDir, unlistOn, backends: [{ type: 'dns-update', server: '127.0.0.1:9', zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '1s' }] }),
  );
  const sink = logLineSink(logs);
  daemon = createDaemon(loadConfig(file, BACKENDS), { logger: createLogger('info', sink), backends: BACKENDS });
  await daemon.start();
  return { radiusPort, httpPort, stateDir };
}

const stop = (identifier: number): Buffer =>
  buildAccountingRequest({
    identifier,
    secret: NAS_SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'eio-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': '10.64.0.7' },
  });

async function journalCheck(httpPort: number): Promise<{ status: number; journal: { ok: boolean; error?: string } }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
  return { status: response.status, journal: ((await response.json()) as { checks: { journal: { ok: boolean; error?: string } } }).checks.journal };
}

/** Makes every journal write fail with `message` (its code first) until `failing` is set to false. */
function failWrites(message: string): { failing: boolean } {
  const disk = { failing: true };
  const original = fileHandle.write;
  vi.spyOn(fileHandle, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    if (disk.failing) return Promise.reject(Object.assign(new Error(message), { code: message.slice(0, message.indexOf(':')) }));
    return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
  } as typeof fileHandle.write);
  return disk;
}

describe('the service when its journal fails', () => {
  it('sends no Accounting-Response for a Stop it could not journal (EIO), reports it in /readyz, and recovers by itself', async () => {
    const { radiusPort, httpPort } = await startDaemon();
    const disk = failWrites('EIO: i/o error, write');

    const request = stop(1);
    const answer = sendRadius(request, radiusPort, '127.0.0.1', 1500);
    // The positive sign that the Stop was handled: it is counted as not acknowledged.
    await waitFor('the Stop to be refused', async () => (await packetsCounted(httpPort, 'not_acknowledged')) === 1, 5000, 20);
    expect(await answer).toBeUndefined();
    const down = await journalCheck(httpPort);
    expect(down.status).toBe(503);
    expect(down.journal).toEqual({ ok: false, error: expect.stringMatching(/^journal not writable: .*EIO/) });

    disk.failing = false;
    await waitFor('/readyz to recover without any packet', async () => (await journalCheck(httpPort)).journal.ok, 10_000, 50);
    const retransmitted = await sendRadius(request, radiusPort, '127.0.0.1', 2000);
    expect(retransmitted).toBeDefined();
    expect(verifyAccountingResponse(retransmitted!, request, NAS_SECRET)).toBe(true);
    expect(logs.some((line) => line.msg.startsWith('journal writable again'))).toBe(true);
  });

  it('does not acknowledge a retransmitted Accounting-On that changes nothing in memory while the disk is full, and unlists once it is recorded', async () => {
    const { radiusPort, httpPort, stateDir } = await startDaemon(['stop', 'accounting-on', 'accounting-off']);
    const start = buildAccountingRequest({
      identifier: 1,
      secret: NAS_SECRET,
      attributes: { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'on-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': '10.64.0.7' },
    });
    expect(await sendRadius(start, radiusPort, '127.0.0.1', 2000)).toBeDefined();
    const disk = failWrites('ENOSPC: no space left on device, write');

    const on = buildAccountingRequest({ identifier: 2, secret: NAS_SECRET, attributes: { 'Acct-Status-Type': 'Accounting-On', 'NAS-IP-Address': '192.0.2.1' } });
    expect(await sendRadius(on, radiusPort, '127.0.0.1', 1000)).toBeUndefined();
    // The first try forgot the session in memory before its write was refused: the retransmission
    // finds nothing to change there, and still must not be told it was recorded.
    expect(await sendRadius(on, radiusPort, '127.0.0.1', 1000)).toBeUndefined();
    expect(await packetsCounted(httpPort, 'not_acknowledged')).toBe(2);

    disk.failing = false;
    await waitFor('/readyz to recover', async () => (await journalCheck(httpPort)).journal.ok, 10_000, 50);
    const answer = await sendRadius(on, radiusPort, '127.0.0.1', 2000);
    expect(answer).toBeDefined();
    expect(verifyAccountingResponse(answer!, on, NAS_SECRET)).toBe(true);
    await daemon!.close();
    daemon = undefined;
    expect((await listQueue(stateDir)).pending.flatMap((entry) => entry.targets)).toEqual(['10.64.0.7']);
  });

  it('stays ready when a queue request cannot be answered, and logs why', async () => {
    const { httpPort, stateDir } = await startDaemon();
    const requests = join(stateDir, 'requests');
    mkdirSync(requests, { recursive: true });
    // The reply's temporary name is taken by a folder: writing the reply fails.
    const name = `${Date.now()}-1-stuck`;
    mkdirSync(join(requests, `${name}.reply.tmp`));
    writeFileSync(join(requests, `${name}.request`), JSON.stringify({ action: 'list' }));
    await waitFor('the request failure to be logged', () => logs.some((line) => line.msg.includes('cannot answer a queue request')), 5000, 20);
    expect((await journalCheck(httpPort)).journal).toEqual({ ok: true });
  });
});
