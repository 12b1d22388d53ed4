/**
 * radius.receive_thread against the built service and a real BIND: each setting, and `auto` on a
 * process that may run on one CPU (started under taskset, or in a cgroup whose CPU quota is one
 * CPU's time) or on all of this machine's (a thread only with more than two), reads its UDP socket the way it says in /status and in
 * the "rbl-unlist started" line, and unlists a Stop.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { executable, freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { makeQuotaCgroup, type QuotaCgroup } from '../helpers/cgroup.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig } from '../helpers/service.js';
import type { StatusReport } from '../../src/http/status.js';

const ZONE = 'rbl.test';
const ADDRESSES = ['10.64.3.1', '10.64.3.2', '10.64.3.3', '10.64.3.4', '10.64.3.5', '10.64.3.6'];

describe.skipIf(!havePeers('named', 'tsig-keygen', 'taskset'))('radius.receive_thread', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let next = 0;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf(ADDRESSES, ZONE, 'rate limit exceeded') }] });
    temp = tempDir('receive-thread-setting');
  });

  afterAll(async () => {
    await bind?.close();
    temp?.remove();
  });

  /** Starts the service with `setting` through `launcher`, checks what it says it reads the socket with, and has it unlist a Stop. */
  const startAndUnlist = async (setting: string, launcher: readonly string[] | undefined, threaded: boolean): Promise<void> => {
    const index = next++;
    const address = ADDRESSES[index]!;
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        httpPort,
        bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE] },
        stateDir: join(temp.dir, `state-${index}`),
        radiusExtra: setting.startsWith('auto') ? undefined : `receive_thread: ${setting}`,
      }),
      `config-${index}.yaml`,
    );
    const service = await startService(config, { launcher });
    try {
      const started = service.logs().find((line) => line.msg === 'rbl-unlist started')!;
      expect(started.radius).toEqual([expect.objectContaining({ transport: 'udp', port: radiusPort, receiveThread: threaded })]);
      const status = (await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as StatusReport;
      expect(status.listeners).toEqual([expect.objectContaining({ transport: 'udp', port: radiusPort, receive_thread: threaded })]);
      const stop = buildAccountingRequest({ identifier: 1, secret: NAS_SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s${index}`, 'Framed-IP-Address': address } });
      expect((await sendRadius(stop, radiusPort))?.[0]).toBe(5);
      await waitFor(`${address} unlisted`, () => bind.query(dnsblName(address, ZONE), 'A').length === 0, 10_000);
      // The other addresses are still listed: this service unlisted its own Stop's address only.
      expect(bind.query(dnsblName(ADDRESSES[(index + 1) % ADDRESSES.length]!, ZONE), 'A').length).toBeGreaterThan(0);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  };

  test.each([
    ['false', 'all its CPUs', false],
    ['true', 'one CPU', true],
    ['auto (the default)', 'one CPU', false],
    ['auto (the default)', 'all its CPUs', availableParallelism() > 2],
  ] as const)('%s on %s: a receive thread %s, and a Stop is unlisted', async (setting, where, threaded) => {
    // taskset limits the process's CPU affinity, which is what os.availableParallelism() reports.
    await startAndUnlist(setting, where === 'one CPU' ? [executable('taskset'), '-c', '0'] : undefined, threaded);
  }, 30_000);

  test('auto (the default) in a cgroup allowed one CPU\'s time, as a container with --cpus 1: no receive thread, and a Stop is unlisted', async (context) => {
    // The affinity still covers every CPU here: only the cgroup's CFS quota says one.
    let cgroup: QuotaCgroup;
    try {
      cgroup = makeQuotaCgroup(`rbl-unlist-test-${process.pid}`, 1);
    } catch (error) {
      // Under CI a machine that cannot make the cgroup fails the test; elsewhere (no root) it is skipped.
      if (process.env.CI) throw error;
      context.skip(`cannot make a cgroup with a CPU quota here: ${(error as Error).message}`);
      return;
    }
    try {
      await startAndUnlist('auto', cgroup.launcher, false);
    } finally {
      cgroup.remove();
    }
  }, 30_000);
});
