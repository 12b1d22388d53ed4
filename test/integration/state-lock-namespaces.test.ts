/**
 * Two services on one state.dir, each PID 1 in its own PID namespace: two containers sharing a
 * volume, as a Kubernetes rolling update with a ReadWriteOnce volume on one node runs them. Neither
 * can see the other's process, so the lock's pid and start time prove nothing; the holder's
 * heartbeat decides. Needs root (unshare). A service SIGKILLed in one namespace and started again in
 * another is test/integration/state-dir.test.ts's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBuiltCli, runCommand, writeKeyFile } from '../helpers/cli.js';
import { executable, freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { accountingAnswered, buildAccountingRequest } from '../helpers/radius-packets.js';
import { BUILT_CLI, NAS_SECRET, PROJECT_ROOT, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const isRoot = process.getuid?.() === 0;

let temp: { dir: string; remove: () => void };
let stateDir: string;
const services: ServiceHandle[] = [];

beforeEach(() => {
  temp = tempDir('lock-ns');
  stateDir = join(temp.dir, 'state');
});
afterEach(async () => {
  for (const service of services.splice(0)) await service.stop('SIGKILL');
  temp.remove();
});

/** A config on the shared state.dir with its own RADIUS port, as each container has its own address. */
async function configFor(name: string): Promise<{ file: string; radiusPort: number }> {
  const radiusPort = await freePort();
  const keyFile = writeKeyFile(temp.dir, 'tsig.key');
  const backends = [{ type: 'dns-update', server: '127.0.0.1:9', zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '1s' }];
  return { file: writeConfig(temp.dir, serviceConfigYaml({ radiusPort, stateDir, backends }), name), radiusPort };
}

/** unshare's command line: the service as PID 1 of a new PID namespace, SIGTERMed when unshare is stopped. */
const ownPidNamespace = (): string[] => [executable('unshare'), '--pid', '--fork', '--mount-proc', '--kill-child=SIGTERM'];

async function serveInOwnPidNamespace(file: string, timeoutMs?: number): Promise<ServiceHandle> {
  const service = await startService(file, { launcher: ownPidNamespace(), timeoutMs });
  services.push(service);
  return service;
}

const stop = (identifier: number, address: string): Buffer =>
  buildAccountingRequest({
    identifier,
    secret: NAS_SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `ns-${identifier}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': address },
  });

const readLock = (): { pid: number; nonce: string; pidns?: string } => JSON.parse(readFileSync(join(stateDir, 'lock'), 'utf8')) as { pid: number; nonce: string; pidns?: string };

/** The service's pid as this test sees it: unshare's child. */
const servicePid = (service: ServiceHandle): number => Number(readFileSync(`/proc/${service.child.pid}/task/${service.child.pid}/children`, 'utf8').trim());

/** SIGTERMs the service, as `docker stop` does, and waits for it to let go of its lock as it exits. */
async function stopCleanly(service: ServiceHandle): Promise<void> {
  process.kill(servicePid(service), 'SIGTERM');
  await waitFor('the service to release its lock', () => !existsSync(join(stateDir, 'lock')));
  expect(await service.stop()).toBe(0);
}

/** The addresses of the pending unlists, as `queue list` shows them once no service runs. */
async function pendingAddresses(config: string): Promise<string[]> {
  const result = await runBuiltCli(['queue', 'list', '--config', config, '--json'], {}, 15_000);
  expect(result.status, result.stdout + result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { pending: { targets: string[] }[] }).pending.flatMap((job) => job.targets);
}

describe.skipIf(!havePeers('unshare') || !isRoot)('the state.dir lock between services in separate PID namespaces', () => {
  it('keeps a second service off the state.dir a live one holds, names the holder, and the first loses nothing', async () => {
    const a = await configFor('a.yaml');
    const b = await configFor('b.yaml');
    const first = await serveInOwnPidNamespace(a.file);
    const held = readLock();
    expect(held).toMatchObject({ pid: 1, pidns: expect.stringMatching(/^pid:\[\d+\]$/) as unknown });
    expect(await accountingAnswered(stop(1, '10.64.0.1'), a.radiusPort, NAS_SECRET)).toBe(true);

    // The second is PID 1 too, with another start time, and cannot see the first's process.
    const [unshare, ...options] = ownPidNamespace();
    const second = await runCommand(unshare!, [...options, process.execPath, BUILT_CLI, 'serve', '--config', b.file], { cwd: PROJECT_ROOT, env: process.env, timeoutMs: 40_000 });
    const output = second.stdout + second.stderr;
    expect(second.status, output).toBe(1);
    expect(output).toContain(`RBL_STATE_DIR: state.dir ${stateDir} is locked by rbl-unlist serve, pid 1 in PID namespace ${held.pidns} on host ${hostname()}`);
    expect(output).toMatch(/last refreshed \S+ \(\d+(\.\d)? s ago\)/);
    expect(output).toContain('stop it first');

    expect(first.child.exitCode).toBeNull();
    expect(readLock().nonce).toBe(held.nonce);
    expect(await accountingAnswered(stop(2, '10.64.0.2'), a.radiusPort, NAS_SECRET)).toBe(true);
    await stopCleanly(first);
    expect(await pendingAddresses(a.file)).toEqual(expect.arrayContaining([expect.stringContaining('10.64.0.1'), expect.stringContaining('10.64.0.2')]) as unknown);
  }, 60_000);
});
