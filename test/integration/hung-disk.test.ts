/**
 * End to end on a hung disk: the built service's state.dir is an ext4 file system on a loop device,
 * frozen with fsfreeze in the middle of the traffic, so every write and fdatasync to it blocks without
 * failing, as a hung SAN or a dying disk does. Past state.max_unwritten requests waiting for the
 * journal, new ones are not answered (the NAS retransmits) instead of piling up in memory; the
 * service still answers Status-Server and its monitoring endpoint; /readyz says the journal waits
 * for the disk; once the file system thaws, every retransmitted Stop is answered and unlisted in a
 * real BIND. A SIGTERM while it hangs ends the service by its forced exit (the journal's close waits
 * for the write under way), and the next start takes what was not acknowledged. Needs root (mount
 * -o loop, fsfreeze), as CI runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { journalReadiness, sendEachOnce, stillListed } from '../helpers/disk.js';
import { listingsOf } from '../helpers/dnsbl.js';
import { packetsCounted, sample, scrapeMetrics } from '../helpers/metrics.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, buildStatusServer, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const STOPS = 400;
/** Before the freeze, to show the service works on this file system. */
const BEFORE = 20;
const MAX_UNWRITTEN = 50;
const isRoot = process.getuid?.() === 0;
const list = Array.from({ length: STOPS }, (_, i) => `10.64.${30 + Math.floor(i / 250)}.${1 + (i % 250)}`);
/** The SIGTERM test's Stops: the first ten acknowledged before the freeze, the rest sent while frozen. */
const TERM_STOPS = 30;
const termList = Array.from({ length: TERM_STOPS }, (_, i) => `10.64.40.${1 + i}`);

/** The i-th Stop of a test: session `${prefix}-i`, for the i-th address of `addresses`. */
function stopsOf(prefix: string, addresses: readonly string[]): (i: number) => Buffer {
  return (i) =>
    buildAccountingRequest({
      identifier: i & 0xff,
      secret: NAS_SECRET,
      attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `${prefix}-${i}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': addresses[i]! },
    });
}

const stopRequest = stopsOf('hung', list);
const termRequest = stopsOf('term', termList);

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr?.toString() ?? result.error?.message}`);
}

describe.skipIf(!havePeers('named', 'tsig-keygen', 'fsfreeze', 'mkfs.ext4') || !isRoot)('a state.dir whose disk hangs, end to end against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let stateDir: string;
  let mounted = false;
  let service: ServiceHandle | undefined;
  const thaw = (): void => void spawnSync('fsfreeze', ['--unfreeze', stateDir]);

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...list, ...termList], ZONE) }] });
    temp = tempDir('hung-disk');
    stateDir = join(temp.dir, 'state');
    mkdirSync(stateDir);
    const image = join(temp.dir, 'state.img');
    run('truncate', ['-s', '32M', image]);
    run('mkfs.ext4', ['-q', '-F', image]);
    run('mount', ['-o', 'loop', image, stateDir]);
    mounted = true;
    run('chmod', ['0700', stateDir]);
  });

  afterAll(async () => {
    // A process blocked on a frozen file system cannot even be killed: thaw first, whatever happened.
    if (mounted) thaw();
    await service?.stop('SIGKILL');
    if (mounted) spawnSync('umount', [stateDir]);
    await bind?.close();
    temp?.remove();
  });

  test('refuses what it cannot write past state.max_unwritten, stays responsive, and unlists every retransmitted Stop once the disk is back', async () => {
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const yaml = serviceConfigYaml({
      radiusPort,
      httpPort,
      bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], timeout: '1s' },
      stateDir,
      maxUnwritten: MAX_UNWRITTEN,
      probeInterval: '1s',
    });
    service = await startService(writeConfig(temp.dir, yaml));
    const before = Array.from({ length: BEFORE }, (_, i) => i);
    expect(await sendEachOnce(before, radiusPort, NAS_SECRET, stopRequest)).toEqual([]);

    run('fsfreeze', ['--freeze', stateDir]);
    let unanswered: number[];
    try {
      const frozen = Array.from({ length: STOPS - BEFORE }, (_, i) => BEFORE + i);
      unanswered = await sendEachOnce(frozen, radiusPort, NAS_SECRET, stopRequest);
      // Nothing can be made durable, so nothing is acknowledged...
      expect(unanswered).toEqual(frozen);
      // ...and past the cap the requests are refused at once rather than kept waiting in memory.
      const refusal = /^not recorded: \d+ requests already wait for the journal's write to disk \(state\.max_unwritten 50\); the disk is slow or hung$/;
      const line = await service.waitForLog((entry) => refusal.test(String(entry.msg)));
      expect(line).toMatchObject({ level: 'error', code: 'RBL_STATE_DIR', client: 'nas1' });
      expect(await packetsCounted(httpPort, 'not_acknowledged')).toBeGreaterThanOrEqual(frozen.length - MAX_UNWRITTEN);
      expect(sample(await scrapeMetrics(httpPort), 'rbl_unlist_journal_waiting')).toBeGreaterThanOrEqual(MAX_UNWRITTEN);
      // A flood of them writes a few lines a minute, not one each.
      expect(service.logs().filter((entry) => refusal.test(String(entry.msg))).length).toBeLessThanOrEqual(5);

      // The service itself is alive: Status-Server is answered, and /readyz says what is wrong.
      const status = buildStatusServer({ identifier: 7, secret: NAS_SECRET });
      const answer = await sendRadius(status, radiusPort);
      expect(answer && verifyAccountingResponse(answer, status, NAS_SECRET)).toBe(true);
      expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
      let report = await journalReadiness(httpPort);
      await waitFor('/readyz to report the journal waiting for the disk', async () => (report = await journalReadiness(httpPort)).journal?.ok === false, 15_000, 250);
      expect(report.status).toBe(503);
      expect(report.journal?.error).toMatch(/^journal not writable: a write to the journal .*journal has waited \d+ s for the disk$/);
    } finally {
      thaw();
    }

    // No packet needed: once the write returns, the journal is healthy again.
    await waitFor('/readyz journal check to recover', async () => (await journalReadiness(httpPort)).journal?.ok === true, 20_000, 100);
    await waitFor('nothing to wait for the disk', async () => (sample(await scrapeMetrics(httpPort), 'rbl_unlist_journal_waiting')) === 0, 10_000, 100);
    // The NAS retransmits what was not acknowledged until it is.
    for (let round = 0; round < 10 && unanswered.length > 0; round++) unanswered = await sendEachOnce(unanswered, radiusPort, NAS_SECRET, stopRequest);
    expect(unanswered).toEqual([]);

    // Every Stop, before, during and after the freeze, ends unlisted: nothing was lost.
    let left = list;
    await waitFor(`all ${STOPS} addresses to be unlisted`, async () => (left = await stillListed(bind.port, ZONE, left)).length === 0, 60_000, 250);
  }, 180_000);

  test('a SIGTERM while the disk hangs ends the service by its forced exit, and the next start takes what it did not acknowledge', async () => {
    await service?.stop();
    const radiusPort = await freePort();
    const yaml = serviceConfigYaml({ radiusPort, bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], timeout: '1s' }, stateDir });
    const file = writeConfig(temp.dir, yaml, 'term.yaml');
    service = await startService(file);
    const acknowledged = Array.from({ length: 10 }, (_, i) => i);
    const frozen = Array.from({ length: TERM_STOPS - 10 }, (_, i) => 10 + i);
    expect(await sendEachOnce(acknowledged, radiusPort, NAS_SECRET, termRequest)).toEqual([]);

    run('fsfreeze', ['--freeze', stateDir]);
    let exited: Promise<number | null>;
    try {
      expect(await sendEachOnce(frozen, radiusPort, NAS_SECRET, termRequest)).toEqual(frozen);
      const signalledAt = Date.now();
      // SIGKILL only if it outlives this test's own limit; the service is expected to end itself.
      exited = service.stop('SIGTERM', 60_000);
      // The journal's close waits for the write that hangs; the promise to systemd holds anyway.
      const line = await service.waitForLog((entry) => entry.msg === 'did not close within 10 s; exiting anyway', 20_000);
      expect(line).toMatchObject({ level: 'error' });
      expect(Date.parse(String(line.time)) - signalledAt).toBeGreaterThanOrEqual(9_000);
      // It has exited as far as it can: the kernel keeps a process whose thread waits on a frozen
      // file system until that write returns (SIGKILL cannot end it either).
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(service.child.exitCode).toBeNull();
    } finally {
      // A thread blocked on the frozen file system holds the process until the write returns.
      thaw();
    }
    expect(await exited).toBe(1);

    // Started again on the same state.dir: the NAS retransmits what was never acknowledged.
    service = await startService(file);
    let unanswered = frozen;
    for (let round = 0; round < 5 && unanswered.length > 0; round++) unanswered = await sendEachOnce(unanswered, radiusPort, NAS_SECRET, termRequest);
    expect(unanswered).toEqual([]);
    let left = termList;
    await waitFor(`all ${TERM_STOPS} addresses to be unlisted`, async () => (left = await stillListed(bind.port, ZONE, left)).length === 0, 30_000, 250);
  }, 120_000);
});
