/**
 * End to end: a delivery a backend refuses for good is not lost either: it becomes a dead letter
 * that the operator sees with `queue list`, re-drives with `queue retry` and removes with
 * `queue drop`, all through the built CLI while the built service runs on the same state.dir.
 * The service is told of a second zone BIND does not serve, so every update there is answered with
 * a signed NOTAUTH, a refusal for good (a zone that REFUSES every name is retried: it may be frozen
 * for an edit).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startBind, type BindServer } from '../helpers/bind.js';
import { runBuiltCli } from '../helpers/cli.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { NAS_SECRET as SECRET, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const ZONE = 'rbl.test';
const UNSERVED = 'unserved.test';
const ADDRESS = '10.64.5.1';

interface Listing {
  ok: boolean;
  pending: { id: string; zone: string }[];
  dead: { id: string; backend: string; zone: string; targets: string[]; code: string; message: string; reason: { event: string; sessionId?: string } }[];
  unreadableBytes: number;
}

describe.skipIf(!havePeers('named', 'tsig-keygen'))('dead letters through the command line, end to end against a real BIND', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle;
  let config: string;
  let httpPort: number;

  const queue = async (...args: string[]) => {
    const result = await runBuiltCli(['queue', ...args, '--config', config, '--json'], {}, 15_000);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const list = async () => (await queue('list')) as unknown as Listing;
  const metric = async (pattern: RegExp): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const match = pattern.exec(text);
    return match ? Number(match[1]) : 0;
  };
  const deadLetterLogs = () => service.logs().filter((line) => line.msg.startsWith('dead letter:') && line.zone === UNSERVED);

  beforeAll(async () => {
    const records = listingRecords(ADDRESS, ZONE);
    bind = await startBind({
      zones: [
        { name: ZONE, records },
      ],
    });
    temp = tempDir('dead-letters');
    const radiusPort = await freePort();
    httpPort = await freePort();
    config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        bind: { port: bind.port, keyFile: bind.keyFile, zones: [ZONE, UNSERVED], name: 'bind', timeout: '2s' },
        stateDir: join(temp.dir, 'state'),
        httpPort,
      }),
    );
    service = await startService(config);
    const request = buildAccountingRequest({
      identifier: 1,
      secret: SECRET,
      attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'dl-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': ADDRESS },
    });
    expect((await sendRadius(request, radiusPort, '127.0.0.1', 5000))?.[0]).toBe(5);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('a delivery refused for good is a dead letter that queue list shows while the service runs, and the other zone is unlisted', async () => {
    await service.waitForLog((line) => line.msg.startsWith('dead letter:') && line.zone === UNSERVED);
    await service.waitForLog((line) => line.msg === 'unlisted' && line.zone === ZONE);
    expect(bind.query(dnsblName(ADDRESS, ZONE), 'A')).toEqual([]);

    const listing = await list();
    expect(listing.pending).toEqual([]);
    expect(listing.unreadableBytes).toBe(0);
    expect(listing.dead).toHaveLength(1);
    expect(listing.dead[0]).toMatchObject({ backend: 'bind', zone: UNSERVED, targets: [ADDRESS], code: 'RBL_DNS_NOTAUTH', reason: { event: 'stop', sessionId: 'dl-1' } });
    expect(listing.dead[0]!.message).toContain('NOTAUTH');
    expect(await metric(/^rbl_unlist_queue_dead_letters (\d+)$/m)).toBe(1);
  });

  test('queue retry re-drives the dead letter through the service, which is refused again', async () => {
    const [{ id }] = (await list()).dead as [Listing['dead'][number]];
    const before = await metric(/^rbl_unlist_backend_unlists_total\{[^}]*outcome="dead_letter"[^}]*\} (\d+)$/m);
    expect(before).toBe(1);

    expect(await queue('retry')).toMatchObject({ ok: true, action: 'retry', count: 1, notFound: [], via: 'service' });
    await service.waitForLog((line) => line.msg === 'queue retry applied' && line.count === 1);
    await waitFor('the second dead letter', () => deadLetterLogs().length === 2, 10_000);
    expect(deadLetterLogs()[1]).toMatchObject({ job: id, code: 'RBL_DNS_NOTAUTH', addresses: [ADDRESS] });
    expect(await metric(/^rbl_unlist_backend_unlists_total\{[^}]*outcome="dead_letter"[^}]*\} (\d+)$/m)).toBe(2);

    const listing = await list();
    expect(listing.pending).toEqual([]);
    expect(listing.dead.map((letter) => letter.id)).toEqual([id]);
  });

  test('queue drop ID removes the dead letter for good', async () => {
    const [{ id }] = (await list()).dead as [Listing['dead'][number]];
    expect(await queue('drop', id)).toMatchObject({ ok: true, action: 'drop', count: 1, notFound: [], via: 'service' });
    const listing = await list();
    expect(listing.dead).toEqual([]);
    expect(listing.pending).toEqual([]);
    await waitFor('the dead-letter gauge to fall to 0', async () => (await metric(/^rbl_unlist_queue_dead_letters (\d+)$/m)) === 0, 5000);

    // An ID that has no dead letter any more is reported, exit status 1.
    const again = await runBuiltCli(['queue', 'drop', id, '--config', config, '--json'], {}, 15_000);
    expect(again.status).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, count: 0, notFound: [id] });
  });
});
