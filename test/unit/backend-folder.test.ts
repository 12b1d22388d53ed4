/**
 * Adding a backend type is adding a folder (design.md "Extending it", STYLE.md 11): the tests' own
 * recording backend (test/helpers/recording-backend/) is listed with the product's types, and the
 * config and the daemon serve it unchanged: its entries are checked by its own schema (problems
 * reported with the file's others), a Stop unlists through it, and its probe is its readiness.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, createBackendRegistry } from '../../src/backends/index.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { RblError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { freePort, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius, verifyAccountingResponse } from '../helpers/radius-packets.js';
import { recordedUnlists, recordingBackend } from '../helpers/recording-backend/index.js';
import { NAS_SECRET, serviceConfigYaml, writeConfig } from '../helpers/service.js';
import { logLineSink } from '../helpers/log-lines.js';

const withRecording = createBackendRegistry([...BACKENDS.plugins, recordingBackend]);

let temp: { dir: string; remove: () => void };
let daemon: Daemon | undefined;
let logs: { msg: string }[];

beforeEach(() => {
  temp = tempDir('backend-folder');
  logs = [];
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  temp.remove();
});

function failure(run: () => unknown): RblError {
  try {
    run();
  } catch (error) {
    if (error instanceof RblError) return error;
    throw error;
  }
  throw new Error('the config was accepted');
}

async function readyz(httpPort: number): Promise<{ status: number; checks: Record<string, { ok: boolean; error?: string }> }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, { ok: boolean; error?: string }> }).checks };
}

describe('a backend type added as a folder of its own', () => {
  it('unlists a Stop\'s address through the daemon, and its probe decides its /readyz check', async () => {
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const healthFile = join(temp.dir, 'healthy');
    writeFileSync(healthFile, 'yes\n');
    const file = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        httpPort,
        stateDir: join(temp.dir, 'state'),
        probeInterval: '100ms',
        backends: [{ type: 'recording', name: 'recorder', zones: ['RBL.test.'], health_file: 'healthy' }],
      }),
    );
    const config = loadConfig(file, withRecording);
    expect(config.backends[0]).toMatchObject({ type: 'recording', name: 'recorder', zones: ['rbl.test'], deleteTypes: ['A', 'TXT'], timeoutMs: 1000 });
    const sink = logLineSink(logs);
    daemon = createDaemon(config, { logger: createLogger('info', sink), backends: withRecording });
    await daemon.start();

    await waitFor('the recording backend to be probed ready', async () => (await readyz(httpPort)).status === 200, 5000, 20);
    const request = buildAccountingRequest({
      identifier: 7,
      secret: NAS_SECRET,
      attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'folder-1', 'NAS-IP-Address': '192.0.2.1', 'Framed-IP-Address': '10.64.0.7' },
    });
    const answer = await sendRadius(request, radiusPort, '127.0.0.1', 2000);
    expect(answer && verifyAccountingResponse(answer, request, NAS_SECRET)).toBe(true);
    await waitFor('the unlist to reach the recording backend', () => recordedUnlists('recorder').length > 0, 5000, 20);
    expect(recordedUnlists('recorder')).toEqual([{ zone: 'rbl.test', targets: ['10.64.0.7'] }]);
    await waitFor('the unlisted line', () => logs.some((line) => line.msg === 'unlisted'), 5000, 20);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain('rbl_unlist_backend_unlists_total{backend="recorder",outcome="success"} 1');
    expect(metrics).toMatch(/rbl_unlist_backend_request_duration_seconds_count\{backend="recorder"\} 1\n/);

    writeFileSync(healthFile, '');
    await waitFor('its failing probe to make the service unready', async () => (await readyz(httpPort)).status === 503, 5000, 20);
    expect((await readyz(httpPort)).checks['backend recorder zone rbl.test']).toMatchObject({ ok: false, error: expect.stringContaining('is empty') });
  });

  it('checks its entries by its own schema and reports their problems together with the file\'s others', () => {
    const text = serviceConfigYaml({
      radiusPort: 1813,
      stateDir: '/tmp/unused',
      backends: [
        { type: 'recording', zones: ['rbl.test'], colour: 'blue' },
        { type: 'recording', zones: ['not a zone'] },
      ],
    }).concat('shape: round\n');
    const schemaError = failure(() => parseConfig(text, join(temp.dir, 'config.yaml'), withRecording));
    expect(schemaError.code).toBe('RBL_CONFIG_UNKNOWN_KEY');
    expect(schemaError.message).toContain('2 problems:\n');
    expect(schemaError.message).toContain('\n  - unknown key backends.0.colour');
    expect(schemaError.message).toContain('\n  - unknown key shape');

    const resolveError = failure(() =>
      parseConfig(text.replace('    colour: "blue"\n', '').replace('shape: round\n', '').replace('pools: ["10.64.0.0/16"]', 'pools: ["10.64.0.0/99"]'), join(temp.dir, 'config.yaml'), withRecording),
    );
    expect(resolveError.message).toContain('2 problems:\n');
    expect(resolveError.message).toContain('\n  - backends.1.zones.0: "not a zone" is not a domain name');
    expect(resolveError.message).toContain('\n  - pools.0: "10.64.0.0/99" is not an address or CIDR prefix');
  });

  it('is unknown to the product\'s own list, which names its types', () => {
    const text = serviceConfigYaml({ radiusPort: 1813, stateDir: '/tmp/unused', backends: [{ type: 'recording', zones: ['rbl.test'] }] });
    const error = failure(() => parseConfig(text, join(temp.dir, 'config.yaml'), BACKENDS));
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(error.message).toContain('backends.0.type');
  });
});

describe('the config layer', () => {
  it('imports no backend folder\'s internals, only the backend list', () => {
    const dir = join(import.meta.dirname, '..', '..', 'src', 'config');
    const imports = readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => [...readFileSync(join(dir, name), 'utf8').matchAll(/from '([^']+)'/g)].map((match) => `${name}: ${match[1]}`));
    expect(imports.filter((line) => /backends\/(?!index\.js)/.test(line))).toEqual([]);
    expect(imports.some((line) => line.endsWith('../backends/index.js'))).toBe(true);
  });
});
