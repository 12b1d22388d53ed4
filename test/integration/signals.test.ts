/**
 * End to end: the built service under the signals systemd sends. SIGHUP reloads a good config
 * (a new RADIUS client is answered after it, not before) and refuses a bad one (logged, naming
 * the key; the running config kept); SIGTERM with unlists still pending, or with a DNS UPDATE
 * hanging on a frozen BIND, exits 0 within a few seconds and the next start finishes the work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { accountingAnswered, buildAccountingRequest, type FriendlyAttributes } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const OTHER_SECRET = 'other-nas-secret';
/** A second NAS: a loopback source address the first config does not know. */
const OTHER_SOURCE = '127.0.0.2';

let identifier = 0;

/** Bytes waiting unread in the receive queue of the UDP socket bound to 127.0.0.1:port (Linux /proc/net/udp). */
function udpBytesQueuedAt(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let queued = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // BIND may bind one socket per worker (SO_REUSEPORT): count them all.
    if (fields[1] === local) queued += Number.parseInt(fields[4]!.split(':')[1]!, 16);
  }
  return queued;
}

/** Sends one Stop from `source` and resolves with whether a correct Accounting-Response came back within timeoutMs. */
function sendStop(port: number, address: string, options: { source?: string; secret?: string; timeoutMs?: number } = {}): Promise<boolean> {
  const secret = options.secret ?? SECRET;
  const attributes: FriendlyAttributes = { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s-${address}-${identifier}`, 'NAS-IP-Address': options.source ?? '127.0.0.1', 'Framed-IP-Address': address };
  const request = buildAccountingRequest({ identifier: identifier++ & 0xff, secret, attributes });
  return accountingAnswered(request, port, secret, { source: options.source, intervalMs: options.timeoutMs ?? 5000 });
}

function configYaml(options: { radiusPort: number; bindPort: number; keyFile: string; stateDir: string; timeout?: string; otherClient?: boolean; extra?: string }): string {
  const nas1 = { name: 'nas1', address: '127.0.0.1/32', secret: SECRET };
  return serviceConfigYaml({
    radiusPort: options.radiusPort,
    clients: options.otherClient ? [nas1, { name: 'nas2', address: `${OTHER_SOURCE}/32`, secret: OTHER_SECRET }] : [nas1],
    radiusExtra: options.extra,
    bind: { port: options.bindPort, keyFile: options.keyFile, zones: [ZONE], timeout: options.timeout ?? '1s' },
    stateDir: options.stateDir,
    ack: 'journal',
  });
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('signals to the service, end to end against a real BIND', () => {
  const reload = ['10.64.6.1', '10.64.6.2', '10.64.6.3', '10.64.6.4'];
  const pending = Array.from({ length: 20 }, (_, i) => `10.64.7.${i + 1}`);
  const hanging = ['10.64.8.1', '10.64.8.2'];
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  const services: ServiceHandle[] = [];
  let frozen: number | undefined;

  const listed = (address: string): boolean => bind.query(dnsblName(address, ZONE), 'A').includes('127.0.0.2');
  const waitUnlisted = (list: readonly string[], timeoutMs = 10_000) => waitFor(`${list.join(', ')} to be unlisted`, () => list.every((address) => !listed(address)), timeoutMs, 100);

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...reload, ...pending, ...hanging], ZONE) }] });
    temp = tempDir('signals');
  });

  afterEach(async () => {
    if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
    frozen = undefined;
    for (const service of services.splice(0)) await service.stop('SIGKILL');
  });

  afterAll(async () => {
    await bind?.close();
    temp?.remove();
  });

  async function setUp(name: string, options: { timeout?: string } = {}) {
    const radiusPort = await freePort();
    const yaml = (more: { otherClient?: boolean; extra?: string } = {}) =>
      configYaml({ radiusPort, bindPort: bind.port, keyFile: bind.keyFile, stateDir: join(temp.dir, name), ...options, ...more });
    const config = writeConfig(temp.dir, yaml(), `${name}.yaml`);
    const start = async (): Promise<ServiceHandle> => {
      const service = await startService(config);
      services.push(service);
      return service;
    };
    return { radiusPort, config, yaml, start, rewrite: (text: string) => writeConfig(temp.dir, text, `${name}.yaml`) };
  }

  test('SIGHUP with a good config answers a new client after the reload and not before; a bad one is refused, naming the key, and the running config kept', async () => {
    const { radiusPort, yaml, start, rewrite } = await setUp('reload');
    const service = await start();
    const [first, second, third, fourth] = reload as [string, string, string, string];

    // Not yet a client: silently discarded (RFC 5080 §2.3.3), so no answer and nothing unlisted.
    expect(await sendStop(radiusPort, first, { source: OTHER_SOURCE, secret: OTHER_SECRET, timeoutMs: 700 })).toBe(false);
    await service.waitForLog((line) => line.msg === 'packet discarded: unknown_client' && String(line.source).startsWith(`${OTHER_SOURCE}:`));

    rewrite(yaml({ otherClient: true }));
    service.child.kill('SIGHUP');
    expect(await service.waitForLog((line) => line.msg === 'config reloaded')).toMatchObject({ clients: 2 });
    expect(await sendStop(radiusPort, second, { source: OTHER_SOURCE, secret: OTHER_SECRET })).toBe(true);
    await waitUnlisted([second]);
    expect(listed(first)).toBe(true);

    // Bad: an unknown key, and without nas2, so applying it would show.
    rewrite(yaml({ extra: 'bogus_key: 1' }));
    service.child.kill('SIGHUP');
    const refused = await service.waitForLog((line) => line.msg.startsWith('config reload refused'));
    expect(refused).toMatchObject({ level: 'error', code: 'RBL_CONFIG_UNKNOWN_KEY' });
    expect(refused.msg).toContain('radius.bogus_key');
    expect(refused.msg).toContain('keeping the running config');
    expect(service.child.exitCode).toBeNull();
    expect(service.logs().filter((line) => line.msg === 'config reloaded')).toHaveLength(1);

    expect(await sendStop(radiusPort, third, { source: OTHER_SOURCE, secret: OTHER_SECRET })).toBe(true);
    expect(await sendStop(radiusPort, fourth)).toBe(true);
    await waitUnlisted([third, fourth]);
  });

  test('SIGTERM with Stops acknowledged while BIND is down exits 0 within a few seconds, and the next start, with BIND back, unlists them', async () => {
    const { radiusPort, start } = await setUp('pending');
    const service = await start();
    await bind.stop();
    try {
      for (const address of pending) expect(await sendStop(radiusPort, address), address).toBe(true);
      await service.waitForLog((line) => line.msg.endsWith('; retrying'));

      const stopping = Date.now();
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(5000);
      expect(service.logs().map((line) => line.msg)).toEqual(expect.arrayContaining(['SIGTERM: stopping', 'rbl-unlist stopped']));
    } finally {
      await bind.restart();
    }
    expect(pending.filter(listed)).toEqual(pending);

    const again = await start();
    expect(await again.waitForLog((line) => line.msg === 'rbl-unlist started')).toMatchObject({ pending: pending.length });
    await waitUnlisted(pending);
  });

  test('SIGTERM while a DNS UPDATE hangs on a frozen BIND exits 0 within a few seconds, and the next start unlists the addresses', async () => {
    const { radiusPort, start } = await setUp('hanging', { timeout: '30s' });
    const service = await start();
    // SIGSTOP: BIND's sockets stay open but nothing answers, so the update waits out its 30 s timeout.
    const pid = Number(readFileSync(join(bind.dir, 'named.pid'), 'utf8').trim());
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGSTOP');
    frozen = pid;
    for (const address of hanging) expect(await sendStop(radiusPort, address), address).toBe(true);
    // The update is sent once it waits in the frozen BIND's socket; only then is "nothing came back" a finding.
    await waitFor('the DNS UPDATE to reach the frozen BIND', () => udpBytesQueuedAt(bind.port) > 0);
    expect(service.logs().some((line) => line.msg === 'unlisted' || line.msg.endsWith('; retrying'))).toBe(false);

    const stopping = Date.now();
    expect(await service.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(5000);
    expect(service.logs().some((line) => line.msg === 'rbl-unlist stopped')).toBe(true);

    process.kill(pid, 'SIGCONT');
    frozen = undefined;
    const again = await start();
    expect(await again.waitForLog((line) => line.msg === 'rbl-unlist started')).toMatchObject({ pending: hanging.length });
    await waitUnlisted(hanging);
    await again.waitForLog((line) => line.msg === 'unlisted');
  });
});
