/**
 * A state.dir that 0.1.0 left with a dead letter whose message holds an HTTP backend's token (0.1
 * journaled its errors unredacted), opened by the built service against a real BIND: the service
 * warns once, compacts its journal at once so no file in state.dir holds the token any more, keeps
 * the dead letter (redacted) and delivers the pending unlists as before.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBind, type BindServer } from '../helpers/bind.js';
import { runCliCaptured } from '../helpers/cli.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { appendOldDeadLetter, copyFixtureState, filesText, FIXTURE_ZONE as ZONE, fixtureConfigYaml } from '../helpers/old-state.js';
import { freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const TOKEN = 'tok-9c4d-17e2';
/** Jobs 1 and 2 of the fixture stay pending; job 3 (10.64.0.23) is dead-lettered by the record below. */
const PENDING = ['10.64.0.21', '10.64.0.22'];
const DEAD = '10.64.0.23';

describe.skipIf(!havePeers('named', 'tsig-keygen'))('serve on a 0.1 state.dir whose dead letter holds a token', () => {
  let bind: BindServer;
  let temp: { dir: string; remove: () => void };
  let service: ServiceHandle | undefined;
  let config: string;
  let state: string;

  const listed = (address: string): boolean => bind.query(dnsblName(address, ZONE), 'A').includes('127.0.0.2');

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE, records: listingsOf([...PENDING, DEAD], ZONE) }] });
    temp = tempDir('dead-letter-tokens-serve');
    state = copyFixtureState('state-0.1', temp.dir);
    appendOldDeadLetter(state, `api: GET https://rbl.example.net/v1/delist?ip=${DEAD}&api_key=${TOKEN}: 403 "forbidden"`);
    config = writeConfig(temp.dir, fixtureConfigYaml({ radiusPort: await freePort(), bind, stateDir: state, ack: 'journal' }));
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  test('warns, compacts the token off the disk, keeps the dead letter redacted and delivers the rest', async () => {
    expect(filesText(state)).toContain(TOKEN);
    service = await startService(config);
    const warning = await service.waitForLog((line) => line.dead_letters !== undefined);
    expect(warning).toMatchObject({ level: 'warn', component: 'queue', dead_letters: 1, file: join(state, 'journal') });
    await service.waitForLog((line) => line.msg === 'journal compacted');
    expect(filesText(state)).not.toContain(TOKEN);

    await waitFor('the pending unlists of 0.1.0 to reach BIND', () => PENDING.every((address) => !listed(address)), 15_000);
    expect(listed(DEAD), 'a dead letter is not retried by itself').toBe(true);
    const listing = await runCliCaptured(['queue', 'list', '--json', '--config', config]);
    expect(listing.stdout).not.toContain(TOKEN);
    expect(JSON.parse(listing.stdout)).toMatchObject({ dead: [{ id: '3', code: 'RBL_HTTP_STATUS', targets: expect.arrayContaining([DEAD]) }] });
    expect(listing.stdout).toContain('api_key=REDACTED');
  });

  test('a restart on the clean journal neither warns nor compacts at start', async () => {
    expect(await service!.stop('SIGTERM')).toBe(0);
    service = await startService(config);
    expect(service.logs().some((line) => line.dead_letters !== undefined || line.msg === 'journal compacted')).toBe(false);
    expect(filesText(state)).not.toContain(TOKEN);
  });
});
