/**
 * A service started on a full state.dir waits for room (src/queue/wait-for-space.ts). Meanwhile its
 * HTTP endpoint is up: /healthz says the process runs, /readyz and rbl_unlist_ready say it is not
 * ready and why, /status answers 503 with the reason, so the shipped alerts and `rbl-unlist status`
 * see a service that waits, not one that is gone.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKENDS } from '../../src/backends/index.js';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { fileHandlePrototype } from '../helpers/disk.js';
import { logLineSink } from '../helpers/log-lines.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { serviceConfigYaml, writeConfig } from '../helpers/service.js';

let fileHandle: FileHandle;
let temp: { dir: string; remove: () => void };
let daemon: Daemon | undefined;
let starting: Promise<void> | undefined;
let logs: { msg: string; code?: string }[];
beforeAll(async () => {
  fileHandle = await fileHandlePrototype();
});
beforeEach(() => {
  temp = tempDir('daemon-start-full');
  logs = [];
});
afterEach(async () => {
  vi.restoreAllMocks();
  await daemon?.close();
  await starting?.catch(() => undefined);
  daemon = undefined;
  temp.remove();
});

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

describe('a service that starts on a full state.dir', () => {
  it('serves /healthz, and a /readyz, /status and rbl_unlist_ready that say it waits for room, until it starts', async () => {
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const keyFile = writeKeyFile(temp.dir, 'tsig.key');
    const yaml = serviceConfigYaml({
      radiusPort,
      httpPort,
      stateDir: join(temp.dir, 'state'),
      backends: [{ type: 'dns-update', server: '127.0.0.1:9', zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '1s' }],
    });
    for (const method of ['datasync', 'sync', 'write', 'writeFile'] as const) vi.spyOn(fileHandle, method).mockRejectedValue(enospc());
    const configFile = writeConfig(temp.dir, yaml);
    daemon = createDaemon(loadConfig(configFile, BACKENDS), { logger: createLogger('info', logLineSink(logs)), backends: BACKENDS });
    starting = daemon.start();
    await waitFor('the "waiting for space" line', () => logs.some((line) => line.msg.startsWith('cannot start: state.dir')), 10_000, 50);
    const get = (path: string) => fetch(`http://127.0.0.1:${httpPort}${path}`);

    expect((await get('/healthz')).status).toBe(200);
    const readyz = await get('/readyz');
    expect(readyz.status).toBe(503);
    const report = (await readyz.json()) as { ready: boolean; checks: Record<string, { ok: boolean; error?: string }> };
    expect(report.ready).toBe(false);
    expect(report.checks.journal).toEqual({ ok: false, error: `state.dir ${join(temp.dir, 'state')} has no room (ENOSPC): waiting for space` });
    const status = await get('/status');
    expect(status.status).toBe(503);
    expect(await status.json()).toEqual({ error: { code: 'RBL_STATE_DIR', message: `starting: state.dir ${join(temp.dir, 'state')} has no room (ENOSPC): waiting for space` } });
    expect((await get('/addresses/10.64.0.1')).status).toBe(503);
    expect(await (await get('/metrics')).text()).toMatch(/^rbl_unlist_ready 0$/m);
    const cli = await runCliCaptured(['status', '--config', configFile]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain(`rbl-unlist: RBL_STATE_DIR: the service at http://127.0.0.1:${httpPort} is not serving yet: starting: state.dir ${join(temp.dir, 'state')} has no room (ENOSPC): waiting for space`);

    // Room again: the start completes on the same HTTP endpoint.
    vi.restoreAllMocks();
    await starting;
    expect(logs.some((line) => line.msg === 'rbl-unlist started')).toBe(true);
    expect((await get('/status')).status).toBe(200);
    expect(((await (await get('/readyz')).json()) as { checks: Record<string, { ok: boolean }> }).checks.journal).toEqual({ ok: true });
  }, 30_000);
});
