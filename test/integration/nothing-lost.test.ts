/**
 * End to end: nothing acknowledged is lost. The built service (state.ack: journal, the default)
 * answers Stops while BIND is down, is killed with SIGKILL, and on the next start, with BIND back,
 * unlists every one of them; a torn journal tail costs only the torn record, and a damaged record
 * in the middle only itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { accountingAnswered, buildAccountingRequest } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const BULK = 500;

/** 10.64.(10+k).x addresses: `count` distinct ones from `first`, all in the pool. */
function addresses(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.64.${10 + Math.floor((first + i) / 250)}.${1 + ((first + i) % 250)}`);
}


function stopRequest(identifier: number, address: string): Buffer {
  return buildAccountingRequest({
    identifier: identifier & 0xff,
    secret: SECRET,
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s-${address}`, 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': address },
  });
}

/**
 * Sends each request from its own socket, at most `window` in flight, retransmitting the same
 * datagram every second like a NAS (RFC 5080 duplicates: the service answers once). Resolves with
 * the requests that got no correct Accounting-Response after `tries` sends.
 */
async function sendAll(requests: readonly Buffer[], port: number, window = 32, tries = 3): Promise<number[]> {
  const unanswered: number[] = [];
  let next = 0;
  const one = async (index: number): Promise<void> => {
    if (!(await accountingAnswered(requests[index]!, port, SECRET, { tries, intervalMs: 1000 }))) unanswered.push(index);
  };
  const lane = async (): Promise<void> => {
    while (next < requests.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, requests.length) }, lane));
  return unanswered;
}

/** The addresses BIND still lists (an A record at their name), asking 50 at a time. */
async function stillListed(port: number, list: readonly string[]): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 50) {
    const answers = await Promise.all(
      list.slice(i, i + 50).map(async (address) => {
        try {
          return (await resolver.resolve4(dnsblName(address, ZONE))).length > 0;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOTFOUND' || code === 'ENODATA') return false;
          throw error;
        }
      }),
    );
    answers.forEach((isListed, j) => {
      if (isListed) out.push(list[i + j]!);
    });
  }
  return out;
}

/** The journal's records: offset, framed size and JSON payload (8-byte header: length LE, CRC-32 LE). */
function journalRecords(file: string): { offset: number; bytes: number; payload: { t: string; j?: { t: string[] } } }[] {
  const data = readFileSync(file);
  const out = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    const length = data.readUInt32LE(offset);
    if (offset + 8 + length > data.length) break;
    out.push({ offset, bytes: 8 + length, payload: JSON.parse(data.subarray(offset + 8, offset + 8 + length).toString('utf8')) });
    offset += 8 + length;
  }
  return out;
}

function configYaml(options: { radiusPort: number; bindPort: number; keyFile: string; stateDir: string }): string {
  return serviceConfigYaml({
    radiusPort: options.radiusPort,
    bind: { port: options.bindPort, keyFile: options.keyFile, zones: [ZONE], timeout: '1s' },
    stateDir: options.stateDir,
    ack: 'journal',
  });
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('nothing acknowledged is lost, end to end against a real BIND', () => {
  const bulk = addresses(0, BULK);
  const torn = addresses(BULK, 6);
  const damaged = addresses(BULK + 6, 7);
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  const services: ServiceHandle[] = [];

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...bulk, ...torn, ...damaged], ZONE) }] });
    temp = tempDir('nothing-lost');
  });

  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop('SIGKILL');
    // Each test stops BIND; the next one finds it running again.
    await bind.restart();
  });

  afterAll(async () => {
    await bind?.close();
    temp?.remove();
  });

  async function serve(name: string): Promise<{ config: string; stateDir: string; radiusPort: number; start: () => Promise<ServiceHandle> }> {
    const radiusPort = await freePort();
    const stateDir = join(temp.dir, name);
    const config = writeConfig(temp.dir, configYaml({ radiusPort, bindPort: bind.port, keyFile: bind.keyFile, stateDir }), `${name}.yaml`);
    const start = async (): Promise<ServiceHandle> => {
      const service = await startService(config);
      services.push(service);
      return service;
    };
    return { config, stateDir, radiusPort, start };
  }

  test('500 Stops acknowledged while BIND is down survive a SIGKILL and are all unlisted once BIND and the service are back', async () => {
    expect(await stillListed(bind.port, bulk)).toHaveLength(BULK);
    const { radiusPort, start } = await serve('bulk');
    const first = await start();
    await bind.stop();

    const unanswered = await sendAll(bulk.map((address, i) => stopRequest(i, address)), radiusPort);
    expect(unanswered.map((i) => bulk[i])).toEqual([]);
    // Every Stop is in the journal; the worker could not deliver any of them.
    expect(first.logs().filter((line) => line.msg === 'unlisted')).toEqual([]);
    expect(await first.stop('SIGKILL')).toBeNull();

    await bind.restart();
    expect(await stillListed(bind.port, bulk)).toHaveLength(BULK);
    const second = await start();
    expect(await second.waitForLog((line) => line.msg === 'rbl-unlist started')).toMatchObject({ pending: BULK });
    let left = bulk;
    await waitFor(`all ${BULK} addresses to be unlisted`, async () => (left = await stillListed(bind.port, left)).length === 0, 20_000, 200);
    await waitFor('the queue to drain', () => second.logs().filter((line) => line.msg === 'unlisted').length === BULK, 5000);
  });

  test('a torn journal tail is skipped with a warning, and the Stops acknowledged before the tear are still unlisted', async () => {
    const [torn1, torn2, torn3, torn4, torn5, tornLast] = torn as [string, string, string, string, string, string];
    const before = [torn1, torn2, torn3, torn4, torn5];
    const { stateDir, radiusPort, start } = await serve('torn');
    const first = await start();
    await bind.stop();
    expect(await sendAll(before.map((address, i) => stopRequest(i, address)), radiusPort)).toEqual([]);
    // The last Stop alone, so its commit is the journal's last record.
    expect(await sendAll([stopRequest(99, tornLast)], radiusPort)).toEqual([]);
    expect(await first.stop('SIGKILL')).toBeNull();

    const journal = join(stateDir, 'journal');
    const records = journalRecords(journal);
    const last = records.at(-1)!;
    expect(last.offset + last.bytes).toBe(statSync(journal).size);
    expect(last.payload).toMatchObject({ t: 'c', j: { t: [tornLast] } });
    // Tear it: keep half of the last record, then garbage, as a crash in mid-write can leave.
    truncateSync(journal, last.offset + Math.floor(last.bytes / 2));
    appendFileSync(journal, Buffer.alloc(13, 0xab));
    const skipped = statSync(journal).size - last.offset;

    await bind.restart();
    const second = await start();
    const warning = await second.waitForLog((line) => line.code === 'RBL_JOURNAL_CORRUPT');
    expect(warning).toMatchObject({ level: 'warn', skipped_bytes: skipped, good_bytes: last.offset, file: journal });
    expect(warning.msg).toContain(`${skipped} bytes skipped`);
    expect(existsSync(warning.saved_as as string)).toBe(true);
    expect(await second.waitForLog((line) => line.msg === 'rbl-unlist started')).toMatchObject({ pending: before.length });

    let left = before;
    await waitFor('the Stops before the tear to be unlisted', async () => (left = await stillListed(bind.port, left)).length === 0, 10_000, 100);
    // The torn record is the one thing lost: its address was never unlisted.
    expect(await stillListed(bind.port, [tornLast])).toEqual([tornLast]);
    // The journal was cut back to its good records, so appends follow good data.
    expect(journalRecords(join(stateDir, 'journal')).slice(0, records.length - 1).map((record) => record.payload)).toEqual(
      records.slice(0, -1).map((record) => record.payload),
    );
  });

  test('a damaged record in the middle of the journal is skipped with a warning, and the Stops after it are unlisted too', async () => {
    const hit = damaged[3]!;
    const others = damaged.filter((address) => address !== hit);
    const { stateDir, radiusPort, start } = await serve('damaged');
    const first = await start();
    await bind.stop();
    // One Stop at a time, so each is a record of its own.
    for (const [i, address] of damaged.entries()) expect(await sendAll([stopRequest(i, address)], radiusPort)).toEqual([]);
    expect(await first.stop('SIGKILL')).toBeNull();

    const journal = join(stateDir, 'journal');
    const target = journalRecords(journal).find((record) => record.payload.j?.t.includes(hit))!;
    expect(target).toBeDefined();
    // A bit flipped in its payload, as a failing disk returns a sector.
    const bytes = readFileSync(journal);
    bytes[target.offset + 20] = bytes[target.offset + 20]! ^ 0x04;
    writeFileSync(journal, bytes);
    const damagedBytes = bytes.subarray(target.offset, target.offset + target.bytes);

    await bind.restart();
    const second = await start();
    const warning = await second.waitForLog((line) => line.code === 'RBL_JOURNAL_CORRUPT');
    expect(warning).toMatchObject({ level: 'warn', skipped_bytes: target.bytes, stretches: 1, file: journal });
    expect(warning.msg).toBe(`journal recovered past a corrupt stretch: ${target.bytes} bytes skipped (a checksum mismatch), the records after replayed`);
    expect(readFileSync(warning.saved_as as string)).toEqual(damagedBytes);
    expect(await second.waitForLog((line) => line.msg === 'rbl-unlist started')).toMatchObject({ pending: others.length });

    let left = others;
    await waitFor('the Stops before and after the damaged record to be unlisted', async () => (left = await stillListed(bind.port, left)).length === 0, 10_000, 100);
    // The damaged record is the one thing lost.
    expect(await stillListed(bind.port, [hit])).toEqual([hit]);
    // The service compacts at once, so the next start has nothing to skip.
    await waitFor('the journal to be rewritten without the damaged record', () => !readFileSync(journal).includes(damagedBytes), 10_000, 50);
    expect(await second.stop('SIGTERM')).toBe(0);
    const third = await start();
    await third.waitForLog((line) => line.msg === 'rbl-unlist started');
    expect(third.logs().filter((line) => line.code === 'RBL_JOURNAL_CORRUPT')).toEqual([]);
  });
});

