/**
 * Starting this build on a state.dir an earlier release left (test/fixtures/state-0.*): a copy of
 * the fixture's journal, a config with the lane its pending unlists name (backend `bind`, zone
 * rbl.test) and its pools, and a NAS that checks each Accounting-Response.
 */
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecord, encodeRecord } from '../../src/queue/record.js';
import { buildAccountingRequest, sendRadius, verifyAccountingResponse, type FriendlyAttributes } from './radius-packets.js';
import { NAS_SECRET, PROJECT_ROOT, serviceConfigYaml, type ServiceHandle } from './service.js';

/** The zone of every fixture's lane. */
export const FIXTURE_ZONE = 'rbl.test';

/** Copies test/fixtures/NAME/journal into dir/state (mode 0700, as serve makes it) and returns that state.dir. */
export function copyFixtureState(name: string, dir: string): string {
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  copyFileSync(join(PROJECT_ROOT, 'test/fixtures', name, 'journal'), join(state, 'journal'));
  return state;
}

/**
 * Appends the dead letter an older release journaled for job 3 of state-0.1 or state-0.2
 * (10.64.0.23, pending in bind / rbl.test) after an HTTP backend refused it, with `message` as that
 * release wrote it: 0.1 did not redact query tokens, 0.2 cut a password at its first @ or space.
 */
export function appendOldDeadLetter(stateDir: string, message: string): void {
  appendFileSync(join(stateDir, 'journal'), encodeRecord({ t: 'x', l: `bind\n${FIXTURE_ZONE}`, i: 3, a: 1_795_982_300_000, c: 'RBL_HTTP_STATUS', m: message }));
}

/** The state.dir's journal records, decoded as they are on disk. */
export function journalRecords(stateDir: string): { t: string; [key: string]: unknown }[] {
  const bytes = readFileSync(join(stateDir, 'journal'));
  const records: { t: string; [key: string]: unknown }[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const decoded = decodeRecord(bytes, offset);
    if (decoded.kind !== 'record') throw new Error(`journal record at ${offset}: ${decoded.kind}`);
    records.push(decoded.payload as { t: string });
    offset += decoded.bytes;
  }
  return records;
}

/**
 * Makes the service compact: Interim-Updates of every fixture's fx-open-1 (192.0.2.1, 10.64.0.11),
 * each naming 180 delegated prefixes besides its address (4.5 KB a record), 16 at a time, until it
 * logs `journal compacted`; then one naming its address alone, so the session ends as it began.
 */
export async function interimsUntilCompacted(service: ServiceHandle, account: (attributes: FriendlyAttributes) => Promise<void>): Promise<void> {
  const session = { 'Acct-Session-Id': 'fx-open-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': '10.64.0.11' } as const;
  const prefixes = Array.from({ length: 180 }, (_, index) => `2001:db8:1f0:${index.toString(16)}00::/56`);
  const compacted = (): boolean => service.logs().some((line) => line.msg === 'journal compacted');
  for (let round = 0; round < 100 && !compacted(); round++) {
    await Promise.all(Array.from({ length: 16 }, () => account({ 'Acct-Status-Type': 'Interim-Update', ...session, 'Delegated-IPv6-Prefix': prefixes })));
  }
  await service.waitForLog((line) => line.msg === 'journal compacted');
  await account({ 'Acct-Status-Type': 'Interim-Update', ...session });
}

/** Every file in dir and its folders, as one text: where a secret must not be. */
export function filesText(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) => (statSync(path).isDirectory() ? filesText(path) : readFileSync(path, 'latin1')))
    .join('\n');
}

/** A service config for a fixture's state.dir: its pools, unlist_on [stop], its lane on this BIND. */
export function fixtureConfigYaml(options: {
  readonly radiusPort: number;
  readonly bind: { readonly port: number; readonly keyFile: string };
  readonly stateDir: string;
  readonly ack: 'journal' | 'unlisted';
  readonly httpPort?: number;
}): string {
  return serviceConfigYaml({
    radiusPort: options.radiusPort,
    pools: ['10.64.0.0/16', '2001:db8:100::/40'],
    unlistOn: ['stop'],
    bind: { port: options.bind.port, keyFile: options.bind.keyFile, zones: [FIXTURE_ZONE], name: 'bind', timeout: '2s' },
    stateDir: options.stateDir,
    ack: options.ack,
    ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }),
    // The fixture's sessions must not expire however long after it was made this runs.
    extra: 'sessions:\n  max_age: 36500d',
  });
}

/** A NAS on 127.0.0.1 sending with NAS_SECRET: resolves once a correct Accounting-Response came back, throws otherwise. */
export function fixtureNas(port: () => number): (attributes: FriendlyAttributes) => Promise<void> {
  let identifier = 0;
  return async (attributes) => {
    const request = buildAccountingRequest({ identifier: identifier++ & 0xff, secret: NAS_SECRET, attributes });
    const response = await sendRadius(request, port(), '127.0.0.1', 5000);
    if (!response || !verifyAccountingResponse(response, request, NAS_SECRET)) throw new Error(`no Accounting-Response to ${JSON.stringify(attributes)}`);
  };
}
