/**
 * DNS answers that cannot be verified are not believed (RFC 8945 §5.3, §5.4.1): a forger races a
 * real BIND with unsigned errors and made-up MACs. The backend discards them and keeps waiting on
 * the same socket for BIND's signed answer; when only forgeries come, the unlist fails transiently
 * and, in the service, stays pending (never a dead letter) until the real answer gets through.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createDnsUpdateBackend } from '../../src/backends/dns-update/backend.js';
import { parsePrefix } from '../../src/net/address.js';
import { startBind, type BindServer } from '../helpers/bind.js';
import { runBuiltCli } from '../helpers/cli.js';
import { dnsUpdateConfig, rejection } from '../helpers/dns.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { startForgingDns, type Forgery, type ForgingDnsServer } from '../helpers/forging-dns.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const FORGERIES: readonly Forgery[] = [
  'unsigned REFUSED',
  'unsigned FORMERR',
  'unsigned NOTZONE',
  'unsigned NOERROR',
  'NOERROR with a wrong MAC',
  'REFUSED with a wrong MAC',
  'NOTAUTH/BADSIG with a MAC',
  'NOTAUTH/BADKEY with a MAC',
  'unsigned NOTAUTH without a TSIG error',
  'unsigned REFUSED with another message ID',
  'unsigned REFUSED from another port',
];
const ADDRESSES = FORGERIES.map((_, index) => `10.64.9.${index + 1}`);
/** What a server may send unsigned, and so a forger too: believed only when no signed answer comes. */
const UNSIGNED_REJECTIONS: readonly Forgery[] = ['NOTAUTH/BADSIG with an empty MAC', 'NOTAUTH/BADKEY with an empty MAC', 'NOTAUTH/BADTIME with an empty MAC'];
const REJECTED_ADDRESSES = UNSIGNED_REJECTIONS.map((_, index) => `10.64.10.${index + 1}`);

describe.skipIf(!havePeers('named', 'tsig-keygen'))('forged DNS answers in front of a real BIND', () => {
  let bind: BindServer;
  let forger: ForgingDnsServer | undefined;

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...ADDRESSES, ...REJECTED_ADDRESSES, '10.64.8.1', '10.64.8.2', '10.64.8.3'], ZONE) }] });
  });
  afterEach(async () => {
    await forger?.close();
    forger = undefined;
  });
  afterAll(async () => {
    await bind?.close();
  });

  const backendVia = (port: number, timeoutMs = 3000) => createDnsUpdateBackend(dnsUpdateConfig(port, [ZONE], bind.key, { tsigSource: bind.keyFile, timeoutMs }));

  test.each(FORGERIES.map((forgery, index) => [forgery, ADDRESSES[index]!] as const))('an unlist raced by "%s" waits for the real answer and succeeds', async (forgery, address) => {
    forger = await startForgingDns({ key: bind.key, forgeries: [forgery], upstreamPort: bind.port, letThrough: true });
    await backendVia(forger.port).unlist(ZONE, [parsePrefix(address)]);
    expect(forger.forged()).toBe(1);
    expect(forger.relayed()).toBe(1);
    expect(bind.query(dnsblName(address, ZONE), 'A')).toEqual([]);
  });

  test.each(UNSIGNED_REJECTIONS.map((forgery, index) => [forgery, REJECTED_ADDRESSES[index]!] as const))(
    'an unlist raced by "%s" (which a server may send) waits for the signed answer and succeeds',
    async (forgery, address) => {
      forger = await startForgingDns({ key: bind.key, forgeries: [forgery], upstreamPort: bind.port, letThrough: true });
      await backendVia(forger.port).unlist(ZONE, [parsePrefix(address)]);
      expect(forger.forged()).toBe(1);
      expect(bind.query(dnsblName(address, ZONE), 'A')).toEqual([]);
    },
  );

  test('with only an unsigned BADKEY and no signed answer, the unlist fails transiently with BADKEY once the timeout is over', async () => {
    forger = await startForgingDns({ key: bind.key, forgeries: ['NOTAUTH/BADKEY with an empty MAC'], upstreamPort: bind.port });
    const started = Date.now();
    const error = await rejection(backendVia(forger.port, 600).unlist(ZONE, [parsePrefix('10.64.8.3')]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(error).toMatchObject({ code: 'RBL_DNS_BADKEY', transient: true });
    expect(bind.query(dnsblName('10.64.8.3', ZONE), 'A')).toEqual(['127.0.0.2']);
  });

  test('check and probe, raced by every forgery at once, read the real answer', async () => {
    forger = await startForgingDns({ key: bind.key, forgeries: FORGERIES, upstreamPort: bind.port, letThrough: true });
    const backend = backendVia(forger.port);
    await backend.probe(ZONE);
    const listing = await backend.check(ZONE, parsePrefix('10.64.8.2'));
    expect(listing.listed).toBe(true);
    expect(forger.forged()).toBe(forger.requests() * FORGERIES.length);
  });

  test('with only forgeries, the unlist fails transiently after the timeout, naming what was discarded, and BIND is untouched', async () => {
    forger = await startForgingDns({ key: bind.key, forgeries: FORGERIES, upstreamPort: bind.port });
    const started = Date.now();
    const error = await rejection(backendVia(forger.port, 600).unlist(ZONE, [parsePrefix('10.64.8.1')]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(error).toMatchObject({ code: 'RBL_DNS_BAD_RESPONSE', transient: true });
    // The two with another ID or source never reach the judge: they are not answers to us at all.
    expect(error.message).toContain(`${FORGERIES.length - 2} discarded`);
    expect(forger.forged()).toBe(FORGERIES.length);
    expect(bind.query(dnsblName('10.64.8.1', ZONE), 'A')).toEqual(['127.0.0.2']);
  });
});

describe.skipIf(!havePeers('named', 'tsig-keygen'))('the service behind a DNS forger', () => {
  const ADDRESS = '10.64.7.1';
  let bind: BindServer;
  let forger: ForgingDnsServer;
  let service: ServiceHandle;
  let temp: { dir: string; remove: () => void };
  let config: string;
  let radiusPort: number;

  interface Listing {
    pending: { targets: string[]; attempts: number; lastError?: string }[];
    dead: unknown[];
  }
  const list = async (): Promise<Listing> => {
    const result = await runBuiltCli(['queue', 'list', '--config', config, '--json'], {}, 15_000);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Listing;
  };

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([ADDRESS], ZONE) }] });
    forger = await startForgingDns({ key: bind.key, forgeries: ['unsigned REFUSED', 'NOERROR with a wrong MAC', 'NOTAUTH/BADSIG with a MAC'], upstreamPort: bind.port });
    temp = tempDir('forged-dns');
    radiusPort = await freePort();
    config = writeConfig(
      temp.dir,
      serviceConfigYaml({ radiusPort, bind: { port: forger.port, keyFile: bind.keyFile, zones: [ZONE], name: 'bind', timeout: '1s' }, stateDir: join(temp.dir, 'state') }),
    );
    service = await startService(config);
  });

  afterAll(async () => {
    await service?.stop();
    await forger?.close();
    await bind?.close();
    temp?.remove();
  });

  test('a Stop whose updates meet only forgeries stays pending, is retried, never becomes a dead letter, and is unlisted once BIND gets through', async () => {
    const request = buildAccountingRequest({ identifier: 1, secret: SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'forged-1', 'Framed-IP-Address': ADDRESS } });
    const answer = await sendRadius(request, radiusPort, '127.0.0.1', 5000);
    expect(answer && verifyAccountingResponse(answer, request, SECRET)).toBe(true);
    // Two requests reached the forger: the first attempt ended and was retried, not dead-lettered.
    await waitFor('a retried update', () => forger.requests() >= 2, 15_000);
    const pending = await list();
    expect(pending.dead).toEqual([]);
    expect(pending.pending).toEqual([expect.objectContaining({ targets: [ADDRESS] })]);
    expect(bind.query(dnsblName(ADDRESS, ZONE), 'A')).toEqual(['127.0.0.2']);

    forger.letThrough(true);
    await waitFor('BIND to unlist the address', () => bind.query(dnsblName(ADDRESS, ZONE), 'A').length === 0, 20_000, 200);
    await waitFor('the queue to drain', async () => (await list()).pending.length === 0, 10_000, 300);
    expect((await list()).dead).toEqual([]);
    expect(service.logs().filter((line) => line.msg.startsWith('dead letter'))).toEqual([]);
  });
});
