/**
 * End to end against a real BIND: Stops pile up while the configured DNS server does not answer
 * (a loopback port where nothing listens), and the lane backs off further with each failed call.
 * The operator points the backend at the server that works and sends SIGHUP: the backlog is
 * unlisted at once, not after the pause the lane took for the old server. Without `name:`, a new
 * `server:` is a backend of another name: its backlog is handed over to it, at a restart and at a
 * reload, and nothing is lost.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { accountingAnswered, buildAccountingRequest } from '../helpers/radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type LogLine, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const ADDRESSES = ['10.64.9.1', '10.64.9.2', '10.64.9.3'];
const RENAMED = ['10.64.10.1', '10.64.10.2', '10.64.10.3'];

describe.skipIf(!havePeers('named', 'tsig-keygen'))('a reload that points the backend at a DNS server that answers', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle | undefined;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...ADDRESSES, ...RENAMED], ZONE) }] });
    temp = tempDir('reload-backend');
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('unlists the backlog at once after SIGHUP, before the backoff the lane took for the old server ends', async () => {
    const radiusPort = await freePort();
    const yaml = (dnsPort: number) =>
      serviceConfigYaml({ radiusPort, bind: { port: dnsPort, keyFile: bind.keyFile, zones: [ZONE], name: 'dns', timeout: '300ms' }, stateDir: join(temp.dir, 'state') });
    const file = writeConfig(temp.dir, yaml(await freePort()));
    service = await startService(file);

    for (const [i, address] of ADDRESSES.entries()) {
      const attributes = { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s-${i}`, 'NAS-IP-Address': '127.0.0.1', 'Framed-IP-Address': address } as const;
      expect(await accountingAnswered(buildAccountingRequest({ identifier: i, secret: NAS_SECRET, attributes }), radiusPort, NAS_SECRET)).toBe(true);
    }
    // Wait for a pause long enough that its end cannot be mistaken for the reload's effect (attempt 3 or 4: 2 to 8 s).
    const isLongPause = (line: LogLine) => line.msg.endsWith('; retrying') && Number(line.retry_in_ms) >= 3000;
    const paused = await service.waitForLog(isLongPause, 20_000);
    const pauseEnds = Date.parse(String(paused.time)) + Number(paused.retry_in_ms);

    writeConfig(temp.dir, yaml(bind.port));
    service.child.kill('SIGHUP');
    await service.waitForLog((line) => line.msg === 'config reloaded');
    await waitFor('the backlog to be unlisted in BIND', () => ADDRESSES.every((address) => bind.query(dnsblName(address, ZONE), 'A').length === 0), 10_000, 50);

    // BIND may answer before the service's `unlisted` lines reach its log file: wait for them too.
    const unlistedLines = () => service!.logs().filter((line) => line.msg === 'unlisted');
    await waitFor('the unlisted lines to be logged', () => unlistedLines().flatMap((line) => line.addresses as string[]).length >= ADDRESSES.length, 5_000, 50);
    const unlisted = unlistedLines();
    expect(unlisted.flatMap((line) => line.addresses as string[]).sort()).toEqual(ADDRESSES);
    for (const line of unlisted) expect(Date.parse(String(line.time))).toBeLessThan(pauseEnds);
    // No later retry of the old pause: the lane's failures were reset with its new backend.
    expect(service.logs().filter((line) => line.msg.endsWith('; retrying') && Date.parse(String(line.time)) > Date.parse(String(paused.time)))).toEqual([]);
  });

  test('hands the backlog of a backend without a name to its new server: at a restart, through another, and at a reload', async () => {
    const radiusPort = await freePort();
    const stateDir = join(temp.dir, 'state-renamed');
    const yaml = (dnsPort: number) => serviceConfigYaml({ radiusPort, bind: { port: dnsPort, keyFile: bind.keyFile, zones: [ZONE], timeout: '300ms' }, stateDir });
    const [first, second] = [await freePort(), await freePort()];
    await service?.stop();
    const file = writeConfig(temp.dir, yaml(first), 'renamed.yaml');
    service = await startService(file);
    for (const [i, address] of RENAMED.entries()) {
      const attributes = { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `r-${i}`, 'NAS-IP-Address': '127.0.0.1', 'Framed-IP-Address': address } as const;
      expect(await accountingAnswered(buildAccountingRequest({ identifier: i, secret: NAS_SECRET, attributes }), radiusPort, NAS_SECRET)).toBe(true);
    }
    expect(await service.stop()).toBe(0);

    // Restarted on another server that does not answer either: the backlog follows the new name.
    writeConfig(temp.dir, yaml(second), 'renamed.yaml');
    service = await startService(file);
    const handedOver = (line: LogLine) => line.msg.startsWith('pending unlists handed over');
    expect(await service.waitForLog(handedOver)).toMatchObject({
      level: 'warn',
      backend: `dns-update 127.0.0.1:${first}`,
      zone: ZONE,
      to: [`dns-update 127.0.0.1:${second}`],
      jobs: RENAMED.length,
    });
    expect(service.logs().filter((line) => line.msg.startsWith('pending unlists kept as dead letters'))).toEqual([]);
    expect(await service.stop()).toBe(0);

    // Started again on the same config: the handover is in the journal, nothing to hand over again.
    service = await startService(file);
    expect(service.logs().filter(handedOver)).toEqual([]);
    writeConfig(temp.dir, yaml(bind.port), 'renamed.yaml');
    service.child.kill('SIGHUP');
    expect(await service.waitForLog(handedOver)).toMatchObject({ backend: `dns-update 127.0.0.1:${second}`, to: [`dns-update 127.0.0.1:${bind.port}`], jobs: RENAMED.length });
    await waitFor('the handed-over backlog to be unlisted in BIND', () => RENAMED.every((address) => bind.query(dnsblName(address, ZONE), 'A').length === 0), 10_000, 50);
  });
});
