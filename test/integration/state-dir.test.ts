/**
 * The built service and its state.dir, as a container or systemd runs it: as PID 1 in its own PID
 * namespace, SIGKILLed and started again; under umask 000; on a state.dir it cannot create, use or
 * write, where it fails at once, naming the folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pendingServiceConfig, runBuiltCli } from '../helpers/cli.js';
import { executable, havePeers, tempDir } from '../helpers/peers.js';
import { accountingAnswered, buildAccountingRequest } from '../helpers/radius-packets.js';
import { NAS_SECRET, startService, type ServiceHandle } from '../helpers/service.js';

const isRoot = process.getuid?.() === 0;
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

let temp: { dir: string; remove: () => void };
const services: ServiceHandle[] = [];
const mounts: string[] = [];

beforeEach(() => {
  temp = tempDir('state-dir');
});
afterEach(async () => {
  for (const service of services.splice(0)) await service.stop('SIGKILL');
  for (const mount of mounts.splice(0).reverse()) spawnSync('umount', ['-l', mount]);
  temp.remove();
});

const configFor = (stateDir: string, name?: string): Promise<{ file: string; radiusPort: number }> => pendingServiceConfig(temp.dir, stateDir, name);

async function serve(file: string, launcher?: readonly string[], timeoutMs?: number): Promise<ServiceHandle> {
  const service = await startService(file, { launcher, timeoutMs });
  services.push(service);
  return service;
}

describe.skipIf(!havePeers('unshare') || !isRoot)('the service as PID 1 in its own PID namespace', () => {
  it('starts again after it was SIGKILLed, once the lock it left (naming pid 1, which is itself again) has gone unrefreshed', async () => {
    const stateDir = join(temp.dir, 'state');
    const { file } = await configFor(stateDir);
    // --kill-child: when the test stops unshare, the service gets SIGTERM rather than living on.
    const launcher = [executable('unshare'), '-p', '-f', '--mount-proc', '--kill-child=SIGTERM'];
    const first = await serve(file, launcher);
    expect(JSON.parse(readFileSync(join(stateDir, 'lock'), 'utf8'))).toMatchObject({ pid: 1 });
    // The service is unshare's child: SIGKILL it, as the OOM killer or `docker kill` would.
    const servicePid = Number(readFileSync(`/proc/${first.child.pid}/task/${first.child.pid}/children`, 'utf8').trim());
    process.kill(servicePid, 'SIGKILL');
    expect(await first.stop('SIGKILL')).not.toBe(0);
    expect(JSON.parse(readFileSync(join(stateDir, 'lock'), 'utf8'))).toMatchObject({ pid: 1 });

    // A new PID namespace, like the restarted container's: the dead one's lock is stale once unrefreshed for 15 s.
    const second = await serve(file, launcher, 40_000);
    expect(second.logs().some((line) => line.msg === 'rbl-unlist started')).toBe(true);
    expect(JSON.parse(readFileSync(join(stateDir, 'lock'), 'utf8'))).toMatchObject({ pid: 1 });
  }, 60_000);
});

describe('serve and its state.dir', () => {
  it('creates state.dir and its missing parent 0700, and its journal and lock 0600, when started under umask 000', async () => {
    const stateDir = join(temp.dir, 'var', 'state');
    const { file } = await configFor(stateDir);
    await serve(file, ['sh', '-c', 'umask 000; exec "$@"', 'sh']);
    expect(mode(join(temp.dir, 'var'))).toBe('700');
    expect(mode(stateDir)).toBe('700');
    expect(mode(join(stateDir, 'journal'))).toBe('600');
    expect(mode(join(stateDir, 'lock'))).toBe('600');
  });

  it.each([
    ['under a file', (dir: string): string => (writeFileSync(join(dir, 'file'), ''), join(dir, 'file', 'state'))],
    ['that cannot be one', (): string => '/proc/x'],
  ])('fails at once, exit 1, with RBL_STATE_DIR naming a state.dir %s', async (_, where) => {
    const stateDir = where(temp.dir);
    const { file } = await configFor(stateDir);
    const started = Date.now();
    const result = await runBuiltCli(['serve', '--config', file], {}, 20_000);
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain(`RBL_STATE_DIR: state.dir ${stateDir} cannot be created`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it.skipIf(!isRoot)('on a read-only state.dir fails at once, exit 1, and answers no accounting', async () => {
    const stateDir = join(temp.dir, 'state');
    mkdirSync(stateDir);
    const { file, radiusPort } = await configFor(stateDir);
    const bind = spawnSync('mount', ['--bind', stateDir, stateDir]);
    expect(bind.status, bind.stderr.toString()).toBe(0);
    mounts.push(stateDir);
    const ro = spawnSync('mount', ['-o', 'remount,bind,ro', stateDir]);
    expect(ro.status, ro.stderr.toString()).toBe(0);
    const running = runBuiltCli(['serve', '--config', file], {}, 20_000);
    const stop = buildAccountingRequest({
      identifier: 1,
      secret: NAS_SECRET,
      attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'ro-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': '10.64.0.9' },
    });
    const answered = accountingAnswered(stop, radiusPort, NAS_SECRET, { tries: 2, intervalMs: 500 });
    const result = await running;
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(/RBL_STATE_DIR: cannot create the lock .*read-only file system/);
    expect(await answered).toBe(false);
  });
});
