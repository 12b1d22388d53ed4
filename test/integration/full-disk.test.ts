/**
 * End to end on a full disk: the built service's state.dir is a small tmpfs that fills in the middle
 * of a burst of Stops while BIND is down. Whatever was acknowledged is in the journal; what was not
 * is retransmitted, as a NAS does, until it is; /readyz says the journal cannot be written and comes
 * back by itself once the tmpfs is grown; no Stop is queued twice; and with BIND back, every Stop is
 * unlisted. Needs root (mount), as CI runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
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

function stopRequest(i: number): Buffer {
  return buildAccountingRequest({
    identifier: i & 0xff,
    secret: NAS_SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `full-${i}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': list[i]! },
  });
}

describe.skipIf(!havePeers('named', 'tsig-keygen') || !isRoot)('a state.dir that fills up, end to end against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let stateDir: string;
  let service: ServiceHandle | undefined;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(list, ZONE) }] });
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
});
