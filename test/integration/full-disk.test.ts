/**
 * End to end on a full disk: the built service's state.dir is a small tmpfs that fills in the middle
 * of a burst of Stops while BIND is down. Whatever was acknowledged is in the journal; what was not
 * is retransmitted, as a NAS does, until it is; /readyz says the journal cannot be written and comes
 * back by itself once the tmpfs is grown; no Stop is queued twice; and with BIND back, every Stop is
 * unlisted. A restart on a state.dir with no room left waits for space, and then starts with what
 * was pending. Needs root (mount), as CI runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { runBuiltCli } from '../helpers/cli.js';
import { journalReadiness as readiness, sendEachOnce, stillListed } from '../helpers/disk.js';
import { listingsOf } from '../helpers/dnsbl.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const STOPS = 800;
const isRoot = process.getuid?.() === 0;
const list = Array.from({ length: STOPS }, (_, i) => `10.64.${20 + Math.floor(i / 250)}.${1 + (i % 250)}`);
/** Listed too, for the restart on a full state.dir. */
const more = ['10.64.40.1', '10.64.40.2', '10.64.40.3'];

function stopRequest(i: number, addresses = list): Buffer {
  return buildAccountingRequest({
    identifier: i & 0xff,
    secret: NAS_SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `full-${i}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': addresses[i]! },
  });
}

describe.skipIf(!havePeers('named', 'tsig-keygen') || !isRoot)('a state.dir that fills up, end to end against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let stateDir: string;
  let service: ServiceHandle | undefined;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...list, ...more], ZONE) }] });
    temp = tempDir('full-disk');
    stateDir = join(temp.dir, 'state');
    mkdirSync(stateDir);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', stateDir]);
    if (mount.status !== 0) throw new Error(`mount tmpfs: ${mount.stderr.toString()}`);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    if (stateDir) spawnSync('umount', ['-l', stateDir]);
    await bind?.close();
    temp?.remove();
  });

  test('acknowledges only what is durable, reports it in /readyz, recovers once the tmpfs grows, and unlists every Stop once', async () => {
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const yaml = serviceConfigYaml({
      radiusPort,
      httpPort,
      bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], timeout: '1s' },
      stateDir,
      ack: 'journal',
      probeInterval: '1s',
    });
    service = await startService(writeConfig(temp.dir, yaml));
    await bind.stop();

    // /readyz, watched through the burst.
    const seen: { status: number; journal: { ok: boolean; error?: string } | undefined }[] = [];
    let bursting = true;
    const watching = (async () => {
      while (bursting) {
        seen.push(await readiness(httpPort));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const all = list.map((_, i) => i);
    let unanswered = await sendEachOnce(all, radiusPort, NAS_SECRET, stopRequest);
    bursting = false;
    await watching;
    // The disk filled mid-burst: some Stops were acknowledged, the rest were not.
    expect(unanswered.length).toBeGreaterThan(0);
    expect(unanswered.length).toBeLessThan(STOPS);
    await service.waitForLog((line) => line.code === 'RBL_STATE_DIR' && String(line.msg).includes('cannot write the journal'));
    const down = seen.find((report) => report.journal?.ok === false);
    expect(down?.status).toBe(503);
    expect(down?.journal?.error).toMatch(/journal not writable: .*ENOSPC/);
    // While it is full the error is logged a few times a minute, not once per packet.
    expect(service.logs().filter((line) => line.code === 'RBL_STATE_DIR').length).toBeLessThanOrEqual(10);

    const grow = spawnSync('mount', ['-o', 'remount,size=16m', stateDir]);
    expect(grow.status, grow.stderr.toString()).toBe(0);
    // No packet needed: the store finds out by itself.
    await waitFor('/readyz journal check to recover', async () => (await readiness(httpPort)).journal?.ok === true, 20_000, 100);
    await service.waitForLog((line) => line.msg.startsWith('journal writable again'));

    // The NAS retransmits what was not acknowledged until it is.
    for (let round = 0; round < 10 && unanswered.length > 0; round++) unanswered = await sendEachOnce(unanswered, radiusPort, NAS_SECRET, stopRequest);
    expect(unanswered).toEqual([]);

    // Every Stop is pending exactly once: none lost, none queued twice.
    const queue = await runBuiltCli(['queue', 'list', '--json', '--config', service.configFile]);
    expect(queue.status, queue.stderr).toBe(0);
    const pending = (JSON.parse(queue.stdout) as { pending: { targets: string[] }[] }).pending.flatMap((entry) => entry.targets);
    expect(pending.length).toBe(STOPS);
    expect(new Set(pending).size).toBe(STOPS);

    await bind.restart();
    let left = list;
    await waitFor(`all ${STOPS} addresses to be unlisted`, async () => (left = await stillListed(bind.port, ZONE, left)).length === 0, 60_000, 250);
  }, 180_000);

  test('a restart on a state.dir with no room waits for space instead of failing (systemd would give up), then unlists what was pending', async () => {
    const small = join(temp.dir, 'small');
    mkdirSync(small);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', small]);
    expect(mount.status, mount.stderr.toString()).toBe(0);
    let restarted: ServiceHandle | undefined;
    try {
      const radiusPort = await freePort();
      const file = writeConfig(temp.dir, serviceConfigYaml({ radiusPort, bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE], timeout: '1s' }, stateDir: small }), 'small.yaml');
      restarted = await startService(file);
      expect(await stillListed(bind.port, ZONE, more).catch(() => more)).toEqual(more);
      await bind.stop();
      expect(await sendEachOnce([0, 1, 2], radiusPort, NAS_SECRET, (i) => stopRequest(i, more))).toEqual([]);
      await restarted.stop('SIGKILL');

      // Filled to the last byte while it was down.
      const filler = join(small, 'filler');
      for (let size = 256 * 1024; size >= 1; size = Math.floor(size / 2)) {
        for (;;) {
          try {
            writeFileSync(filler, Buffer.alloc(size), { flag: 'a' });
          } catch {
            break;
          }
        }
      }
      restarted = await startService(file, { until: (line) => String(line.msg).startsWith(`cannot start: state.dir ${small} has no room (ENOSPC)`) });
      const full = restarted.logs().find((line) => String(line.msg).startsWith('cannot start'));
      expect(full).toMatchObject({ level: 'error', code: 'RBL_STATE_DIR', errno: 'ENOSPC' });
      // Still there a while later, waiting, not exited.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(restarted.child.exitCode).toBeNull();
      // A stop while it waits is a stop: at once, exit 0 (systemd would otherwise wait and mark it failed).
      const stopping = performance.now();
      expect(await restarted.stop('SIGTERM', 5000)).toBe(0);
      expect(performance.now() - stopping).toBeLessThan(5000);
      restarted = await startService(file, { until: (line) => String(line.msg).startsWith(`cannot start: state.dir ${small} has no room (ENOSPC)`) });

      rmSync(filler);
      await restarted.waitForLog((line) => line.msg === 'rbl-unlist started', 10_000);
      await bind.restart();
      let left = more;
      await waitFor('the pending addresses to be unlisted', async () => (left = await stillListed(bind.port, ZONE, left)).length === 0, 30_000, 250);
    } finally {
      await restarted?.stop('SIGKILL');
      spawnSync('umount', ['-l', small]);
    }
  }, 120_000);
});
