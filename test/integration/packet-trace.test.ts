/**
 * The packet trace of the built service: at log.level trace each received Accounting-Request is
 * logged decoded, attribute by attribute, named from the RADIUS dictionaries, vendor attributes
 * from FreeRADIUS's own dictionary.cisco included; `serve --trace` with log.format pretty prints
 * it as radclient -x does. Nothing is traced at info.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeKeyFile } from '../helpers/cli.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, buildStatusServer, openNasSocket, sendRadius, vendorSpecific } from '../helpers/radius-packets.js';
import { BUILT_CLI, NAS_SECRET as SECRET, PROJECT_ROOT, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const CISCO_DICTIONARY = '/usr/share/freeradius/dictionary.cisco';
const CISCO = 9;

/** A Stop with a Cisco-AVPair (vendor 9, attribute 1) and an attribute of a vendor no dictionary knows. */
function stopWithVendorAttributes(identifier: number): Buffer {
  return buildAccountingRequest({
    identifier,
    secret: SECRET,
    attributes: [
      ['Acct-Status-Type', 'Stop'],
      ['Acct-Session-Id', 'trace-1'],
      ['User-Name', 'alice@example.net'],
      ['NAS-IP-Address', '192.0.2.1'],
      ['Framed-IP-Address', '10.64.0.9'],
      vendorSpecific(CISCO, [1, Buffer.from('ip:addr-pool=dynamic')]),
      vendorSpecific(99_999, [5, Buffer.from([0xde, 0xad])]),
    ],
  });
}

describe.skipIf(!havePeers('freeradius'))('the packet trace', () => {
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function config(logLevel: string): Promise<{ file: string; radiusPort: number }> {
    expect(existsSync(CISCO_DICTIONARY), `${CISCO_DICTIONARY} comes with FreeRADIUS (freeradius-common)`).toBe(true);
    const temp = tempDir('trace');
    cleanups.push(temp.remove);
    const radiusPort = await freePort();
    const keyFile = writeKeyFile(temp.dir, 'tsig.key');
    const file = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        radiusExtra: `dictionaries: [${JSON.stringify(CISCO_DICTIONARY)}]`,
        // Nothing answers there: the Stop is journaled and acknowledged, its unlist retried.
        backends: [{ type: 'dns-update', name: 'nowhere', server: `127.0.0.1:${await freePort()}`, zones: ['rbl.test'], tsig_key_file: keyFile, timeout: '200ms' }],
        stateDir: join(temp.dir, 'state'),
        logLevel,
      }),
    );
    return { file, radiusPort };
  }

  async function started(file: string): Promise<ServiceHandle> {
    const service = await startService(file);
    cleanups.push(async () => void (await service.stop('SIGKILL')));
    return service;
  }

  test('at log.level trace a Stop is logged with every attribute named, Cisco-AVPair and an unknown vendor included', async () => {
    const { file, radiusPort } = await config('trace');
    const service = await started(file);
    expect((await sendRadius(stopWithVendorAttributes(42), radiusPort))?.[0]).toBe(5);
    const line = await service.waitForLog((entry) => entry.msg.startsWith('Received Accounting-Request Id 42 '));
    expect(line).toMatchObject({ level: 'trace', component: 'radius', client: 'nas1' });
    expect(line.msg).toMatch(/^Received Accounting-Request Id 42 from 127\.0\.0\.1:\d+ length \d+$/);
    expect(line.attributes).toEqual([
      'Acct-Status-Type = Stop',
      'Acct-Session-Id = "trace-1"',
      'User-Name = "alice@example.net"',
      'NAS-IP-Address = 192.0.2.1',
      'Framed-IP-Address = 10.64.0.9',
      'Cisco-AVPair = "ip:addr-pool=dynamic"',
      'Vendor-99999-Attr-5 = 0xdead',
    ]);
  });

  test('a retransmission, a Status-Server and a packet with the wrong secret are traced with their outcome, the secret never', async () => {
    const { file, radiusPort } = await config('trace');
    const service = await started(file);
    const nas = await openNasSocket(radiusPort);
    cleanups.push(() => nas.close());
    const stop = stopWithVendorAttributes(50);
    nas.send(stop);
    await nas.answerTo(stop);
    // The NAS missed the answer and sends the same datagram again: answered from the duplicate cache.
    nas.send(stop);
    const duplicate = await service.waitForLog((entry) => entry.outcome === 'duplicate');
    expect(duplicate).toMatchObject({ level: 'trace', component: 'radius', client: 'nas1' });
    expect(duplicate.msg).toMatch(/^Received Accounting-Request Id 50 from 127\.0\.0\.1:\d+ length \d+$/);
    expect(duplicate.attributes).toContain('Cisco-AVPair = "ip:addr-pool=dynamic"');
    const status = buildStatusServer({ identifier: 51, secret: SECRET });
    nas.send(status);
    await nas.answerTo(status);
    expect(await service.waitForLog((entry) => entry.outcome === 'status_server')).toMatchObject({ level: 'trace', msg: expect.stringMatching(/^Received Status-Server Id 51 /) });
    // Sent with another secret: silently discarded towards the NAS, traced for the operator.
    nas.send(buildAccountingRequest({ identifier: 52, secret: 'the-old-secret', attributes: [['Acct-Status-Type', 'Stop'], ['Framed-IP-Address', '10.64.0.10']] }));
    const discarded = await service.waitForLog((entry) => entry.level === 'trace' && entry.outcome === 'bad_authenticator');
    expect(discarded).toMatchObject({ msg: expect.stringMatching(/^Received Accounting-Request Id 52 /), reason: "Request Authenticator does not match the client's secret" });
    expect(discarded.attributes).toEqual(['Acct-Status-Type = Stop', 'Framed-IP-Address = 10.64.0.10']);
    expect(JSON.stringify(service.logs())).not.toContain(SECRET);
  });

  test('at log.level info nothing is traced', async () => {
    const { file, radiusPort } = await config('info');
    const service = await started(file);
    // The Accounting-Response comes after the packet went through the accounting path, where the trace is written.
    expect((await sendRadius(stopWithVendorAttributes(43), radiusPort))?.[0]).toBe(5);
    await service.waitForLog((entry) => entry.msg.endsWith('; retrying'));
    expect(service.logs().filter((entry) => entry.msg.startsWith('Received '))).toEqual([]);
  });

  test('serve --trace with log.format pretty prints the packet as radclient -x does, one attribute a line', async () => {
    const { file, radiusPort } = await config('info');
    writeFileSync(file, readFileSync(file, 'utf8').replace('log:\n  level: info\n', 'log:\n  level: info\n  format: pretty\n'));
    let output = '';
    const child: ChildProcess = spawn(process.execPath, [BUILT_CLI, 'serve', '--trace', '--config', file], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor(`the pretty start line; output so far:\n${output}`, () => / INFO {2}rbl-unlist started /.test(output), 15_000);
    expect((await sendRadius(stopWithVendorAttributes(44), radiusPort))?.[0]).toBe(5);
    await waitFor('the trace', () => output.includes('\tVendor-99999-Attr-5 = 0xdead\n'), 5000);
    const lines = output.split('\n');
    const header = lines.findIndex((text) => / TRACE radius: Received Accounting-Request Id 44 from 127\.0\.0\.1:\d+ length \d+ client=nas1$/.test(text));
    expect(header, output).toBeGreaterThan(-1);
    expect(lines[header]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} TRACE radius: /);
    expect(lines.slice(header + 1, header + 8)).toEqual([
      '\tAcct-Status-Type = Stop',
      '\tAcct-Session-Id = "trace-1"',
      '\tUser-Name = "alice@example.net"',
      '\tNAS-IP-Address = 192.0.2.1',
      '\tFramed-IP-Address = 10.64.0.9',
      '\tCisco-AVPair = "ip:addr-pool=dynamic"',
      '\tVendor-99999-Attr-5 = 0xdead',
    ]);
    // Not one JSON line: the whole log is for a person.
    expect(lines.filter((text) => text.startsWith('{'))).toEqual([]);
  });
});
