/**
 * Two containers on one state.dir, the first frozen rather than dead (a cgroup freezer, a paused VM,
 * a process stalled on a hung disk): after 15 s without a refresh the second takes the lock over, as
 * it must to come back after a kill. When the first wakes with a Stop waiting in its socket, it
 * must not acknowledge it (the second would never unlist it: the NAS, answered, does not send it
 * again), and what it writes must not land over the second's journal. Real services, each PID 1 of
 * its own PID namespace, SIGSTOP and SIGCONT.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pendingServiceConfig, runBuiltCli } from '../helpers/cli.js';
import { executable, havePeers, tempDir } from '../helpers/peers.js';
import { accountingAnswered, buildAccountingRequest } from '../helpers/radius-packets.js';
import { NAS_SECRET, startService, type ServiceHandle } from '../helpers/service.js';

const isRoot = process.getuid?.() === 0;

let temp: { dir: string; remove: () => void };
const services: ServiceHandle[] = [];
let frozen: number | undefined;

beforeEach(() => {
  temp = tempDir('frozen-holder');
});
afterEach(async () => {
  if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
  frozen = undefined;
  for (const service of services.splice(0)) await service.stop('SIGKILL');
  temp.remove();
});

const configFor = (stateDir: string, name?: string): Promise<{ file: string; radiusPort: number }> => pendingServiceConfig(temp.dir, stateDir, name);

const stop = (identifier: number, address: string): Buffer =>
  buildAccountingRequest({
    identifier,
    secret: NAS_SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `frozen-${identifier}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': address },
  });

describe.skipIf(!havePeers('unshare') || !isRoot)('a service frozen while another container takes its state.dir over', () => {
  it('acknowledges nothing once it wakes, and writes nothing the new holder reads', async () => {
    const stateDir = join(temp.dir, 'state');
    const first = await configFor(stateDir, 'first.yaml');
    const second = await configFor(stateDir, 'second.yaml');
    // Each is PID 1 of a new PID namespace, as in a container: neither can see the other's pid.
    const launcher = [executable('unshare'), '-p', '-f', '--mount-proc', '--kill-child=SIGTERM'];
    const older = await startService(first.file, { launcher });
    services.push(older);
    expect(await accountingAnswered(stop(1, '10.64.1.1'), first.radiusPort, NAS_SECRET, { tries: 3, intervalMs: 1000 })).toBe(true);

    const olderPid = Number(readFileSync(`/proc/${older.child.pid}/task/${older.child.pid}/children`, 'utf8').trim());
    process.kill(olderPid, 'SIGSTOP');
    frozen = olderPid;
    // Found unrefreshed for 15 s: the lock is broken and taken, the journal copied to a new file first.
    const newer = await startService(second.file, { launcher, timeoutMs: 40_000 });
    services.push(newer);
    expect(newer.logs().some((line) => line.msg.startsWith('took state.dir over from an rbl-unlist elsewhere that stopped refreshing its lock'))).toBe(true);
    expect(await accountingAnswered(stop(2, '10.64.1.2'), second.radiusPort, NAS_SECRET, { tries: 3, intervalMs: 1000 })).toBe(true);

    // A Stop waits in the frozen service's socket; it wakes and reads it at once.
    const answered = accountingAnswered(stop(3, '10.64.1.3'), first.radiusPort, NAS_SECRET, { tries: 1, intervalMs: 3000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(olderPid, 'SIGCONT');
    frozen = undefined;
    expect(await answered).toBe(false);
    await older.waitForLog((line) => /^the state\.dir lock .* was taken by another rbl-unlist while this one held it/.test(line.msg), 10_000);
    // Its retransmission goes nowhere either: the older service records nothing more, for good.
    expect(await accountingAnswered(stop(3, '10.64.1.3'), first.radiusPort, NAS_SECRET, { tries: 1, intervalMs: 1000 })).toBe(false);

    expect(await accountingAnswered(stop(4, '10.64.1.4'), second.radiusPort, NAS_SECRET, { tries: 3, intervalMs: 1000 })).toBe(true);
    // Killed, as containers are: what they acknowledged is on disk already.
    await newer.stop('SIGKILL');
    await older.stop('SIGKILL');

    // The journal the newer service left holds every Stop one of them acknowledged, whole.
    const queue = await runBuiltCli(['queue', 'list', '--json', '--config', second.file]);
    expect(queue.status, queue.stderr).toBe(0);
    expect(queue.stderr).not.toMatch(/could not be read/);
    const pending = (JSON.parse(queue.stdout) as { pending: { targets: string[] }[] }).pending.flatMap((entry) => entry.targets).sort();
    expect(pending).toEqual(['10.64.1.1', '10.64.1.2', '10.64.1.4']);
    expect(readdirSync(stateDir).filter((name) => name.startsWith('journal'))).toEqual(['journal']);
  }, 90_000);
});
