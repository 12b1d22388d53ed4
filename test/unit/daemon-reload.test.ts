/**
 * What a SIGHUP reload applies to the running service in-process, beyond the backends
 * (queue-lane-reload.test.ts) and the clients (radius-listener tests): sessions.max_age for the
 * next expiry, narrowed pools for the unlists already queued, and the restart-only keys judged
 * against what the service started with.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKENDS, createBackendRegistry } from '../../src/backends/index.js';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { listQueue } from '../../src/queue/admin.js';
import { writeKeyFile } from '../helpers/cli.js';
import { logLineSink } from '../helpers/log-lines.js';
import { freePort, tempDir } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { recordedUnlists, recordingBackend } from '../helpers/recording-backend/index.js';
import { NAS_SECRET, serviceConfigYaml, writeConfig } from '../helpers/service.js';

const registry = createBackendRegistry([...BACKENDS.plugins, recordingBackend]);
let temp: { dir: string; remove: () => void };
let daemon: Daemon | undefined;
let logs: { msg: string; level: number; keys?: string[] }[];

beforeEach(() => {
  temp = tempDir('daemon-reload');
  logs = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await daemon?.close();
  daemon = undefined;
  temp.remove();
});

interface Setup {
  readonly radiusPort: number;
  readonly backend: string;
  /** Writes the config with these differences and returns it loaded. */
  config(options?: { maxAge?: string; httpPort?: number; receiveThread?: boolean }): ReturnType<typeof loadConfig>;
}

async function setup(backend: string): Promise<Setup> {
  const radiusPort = await freePort();
  return {
    radiusPort,
    backend,
    config: ({ maxAge = '1d', httpPort, receiveThread } = {}) =>
      loadConfig(
        writeConfig(
          temp.dir,
          serviceConfigYaml({
            radiusPort,
            httpPort,
            stateDir: join(temp.dir, 'state'),
            backends: [{ type: 'recording', name: backend, zones: ['rbl.test'] }],
            extra: `sessions:\n  max_age: ${maxAge}`,
            radiusExtra: receiveThread === undefined ? undefined : `receive_thread: ${receiveThread}`,
          }),
        ),
        registry,
      ),
  };
}

const accounting = (identifier: number, attributes: Record<string, string>): Buffer =>
  buildAccountingRequest({ identifier, secret: NAS_SECRET, attributes: { 'NAS-IP-Address': '192.0.2.1', 'Acct-Session-Id': 's1', ...attributes } });

describe('a reload of sessions.max_age', () => {
  it('keeps a session the old, shorter age would have expired, so its Stop without an address still unlists it', async () => {
    // Only the store's once-a-minute expiry is driven by hand; everything else runs in real time.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const service = await setup('rec-max-age');
    daemon = createDaemon(service.config({ maxAge: '1s' }), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    expect(await sendRadius(accounting(1, { 'Acct-Status-Type': 'Start', 'Framed-IP-Address': '10.64.0.5' }), service.radiusPort, '127.0.0.1', 3000)).toBeDefined();
    await daemon.reload(service.config({ maxAge: '7d' }));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    vi.advanceTimersByTime(61_000);
    vi.useRealTimers();
    expect(logs.map((line) => line.msg)).not.toContain('sessions expired (sessions.max_age)');
    const before = recordedUnlists('rec-max-age').length;
    expect(await sendRadius(accounting(2, { 'Acct-Status-Type': 'Stop' }), service.radiusPort, '127.0.0.1', 3000)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recordedUnlists('rec-max-age').slice(before).flatMap((call) => call.targets)).toEqual(['10.64.0.5']);
  });

  it('expires by a shortened age at the next expiry', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const service = await setup('rec-max-age-short');
    daemon = createDaemon(service.config({ maxAge: '7d' }), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    expect(await sendRadius(accounting(1, { 'Acct-Status-Type': 'Start', 'Framed-IP-Address': '10.64.0.6' }), service.radiusPort, '127.0.0.1', 3000)).toBeDefined();
    await daemon.reload(service.config({ maxAge: '1s' }));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    vi.advanceTimersByTime(61_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logs.map((line) => line.msg)).toContain('sessions expired (sessions.max_age)');
  });
});

describe('a reload that narrows the pools', () => {
  it('drops the queued unlists of addresses the pools no longer hold, and says so', async () => {
    const radiusPort = await freePort();
    const keyFile = writeKeyFile(temp.dir, 'tsig.key');
    const stateDir = join(temp.dir, 'state');
    // Its server never answers: every unlist stays pending.
    const config = (pools: string[]) =>
      loadConfig(
        writeConfig(temp.dir, serviceConfigYaml({ radiusPort, stateDir, pools, backends: [{ type: 'dns-update', server: '127.0.0.1:9', zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '1s' }] })),
        registry,
      );
    daemon = createDaemon(config(['10.64.0.0/16', '10.65.0.0/16']), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    for (const [identifier, address] of [
      [1, '10.64.0.1'],
      [2, '10.65.0.7'],
    ] as const) {
      expect(await sendRadius(accounting(identifier, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s${identifier}`, 'Framed-IP-Address': address }), radiusPort, '127.0.0.1', 3000)).toBeDefined();
    }
    // 10.65.0.0/16 goes to static business customers.
    await daemon.reload(config(['10.64.0.0/16']));
    expect(logs.find((line) => line.msg.startsWith('pending unlists of addresses outside the pools dropped'))).toMatchObject({ addresses: ['10.65.0.7'], count: 1, jobs: 1 });
    expect((await listQueue(stateDir)).pending.map((entry) => entry.targets)).toEqual([['10.64.0.1']]);
  });
});

describe('sessions of a client the config no longer names', () => {
  it('are named in a warning at the reload that renames the client and at each start after, until the name is back', async () => {
    const radiusPort = await freePort();
    const stateDir = join(temp.dir, 'state');
    const config = (client: string) =>
      loadConfig(
        writeConfig(
          temp.dir,
          serviceConfigYaml({ radiusPort, stateDir, clients: [{ name: client, address: '127.0.0.0/24', secret: NAS_SECRET }], backends: [{ type: 'recording', name: 'rec-renamed', zones: ['rbl.test'] }] }),
        ),
        registry,
      );
    const gone = (): unknown[] => logs.filter((line) => line.msg.startsWith('sessions recorded for clients the config no longer names')).map((line) => (line as { clients?: unknown }).clients);
    daemon = createDaemon(config('ras-net'), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    expect(await sendRadius(accounting(1, { 'Acct-Status-Type': 'Start', 'Framed-IP-Address': '10.64.0.9' }), radiusPort, '127.0.0.1', 3000)).toBeDefined();
    expect(gone()).toEqual([]);

    // The NAS gets an entry of its own, under another name.
    await daemon.reload(config('ras7'));
    expect(gone()).toEqual([{ 'ras-net': 1 }]);
    await daemon.close();
    daemon = createDaemon(config('ras7'), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    expect(gone()).toEqual([{ 'ras-net': 1 }, { 'ras-net': 1 }]);
    await daemon.reload(config('ras-net'));
    expect(gone()).toHaveLength(2);
  });
});

describe('the restart-only keys at a reload', () => {
  it('are compared with what the service started with: announced at every reload until a restart, and not once the file is put back', async () => {
    const service = await setup('rec-restart-only');
    const [started, moved] = [await freePort(), await freePort()];
    daemon = createDaemon(service.config({ httpPort: started }), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    const warned = (): string[][] => logs.filter((line) => line.msg.includes('take effect only after a restart')).map((line) => line.keys ?? []);

    await daemon.reload(service.config({ httpPort: moved }));
    await daemon.reload(service.config({ httpPort: moved, maxAge: '2d' }));
    expect(warned()).toEqual([['http.listen'], ['http.listen']]);
    await daemon.reload(service.config({ httpPort: started }));
    expect(warned()).toHaveLength(2);
    expect(daemon.addresses().http?.port).toBe(started);
  });

  it('name radius.receive_thread as the file does, and keep the transport the service started with', async () => {
    const service = await setup('rec-receive-thread');
    daemon = createDaemon(service.config({ receiveThread: false }), { logger: createLogger('info', logLineSink(logs)), backends: registry });
    await daemon.start();
    await daemon.reload(service.config({ receiveThread: true }));
    expect(logs.filter((line) => line.msg.includes('take effect only after a restart')).map((line) => line.keys)).toEqual([['radius.receive_thread']]);
    expect(daemon.addresses().radius).toEqual([expect.objectContaining({ transport: 'udp', receiveThread: false })]);
  });
});
