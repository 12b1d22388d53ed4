/**
 * The files the package ships in deploy/ are what they claim to be: the example config is a valid
 * config that spells out every default, the systemd unit passes `systemd-analyze verify`, and the
 * BIND and Knot snippets pass their servers' own config checks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/index.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchemaFor } from '../../src/config/schema.js';
import { executable, havePeers, tempDir } from '../helpers/peers.js';
import { PROJECT_ROOT } from '../helpers/service.js';

const DEPLOY = join(PROJECT_ROOT, 'deploy');
const EXAMPLE = join(DEPLOY, 'config.example.yaml');

/** The example with its commented-out http backend switched on ("#~ " removed). */
function exampleWithHttpBackend(): string {
  return readFileSync(EXAMPLE, 'utf8').replace(/^(\s*)#~ /gm, '$1');
}

const temps: { remove: () => void }[] = [];
afterEach(() => temps.splice(0).forEach((temp) => temp.remove()));
function newTemp(prefix: string): string {
  const temp = tempDir(prefix);
  temps.push(temp);
  return temp.dir;
}

describe('deploy/config.example.yaml', () => {
  it.each([
    ['as shipped', () => readFileSync(EXAMPLE, 'utf8')],
    ['with the http backend uncommented', exampleWithHttpBackend],
  ])('%s, writes out every key that has a default, with that default', (_name, text) => {
    const written = parseDocument(text()).toJS() as Record<string, unknown>;
    const configSchema = configSchemaFor(BACKENDS);
    const parsed = configSchema.parse(written);
    // Defaults fill in nothing the example left out.
    expect(parsed).toEqual(written);

    // And what the example writes is the default: compare with a config of the required keys only.
    const minimal = configSchema.parse({
      radius: { clients: [{ name: 'x', address: '127.0.0.1/32', secret: 's' }] },
      pools: ['10.64.0.0/16'],
      backends: [
        { type: 'dns-update', server: '127.0.0.1', zones: ['rbl.example.net'], tsig_key_file: 'k' },
        { type: 'http', url: 'http://127.0.0.1/' },
      ],
    });
    expect({ ...parsed.radius, clients: [] }).toEqual({ ...minimal.radius, clients: [] });
    expect(parsed.radius.clients[0]!.pools).toEqual(minimal.radius.clients[0]!.pools);
    const { unlist_on, state, sessions, http, log } = parsed;
    expect({ unlist_on, state, sessions, http, log }).toEqual({
      unlist_on: minimal.unlist_on,
      state: minimal.state,
      sessions: minimal.sessions,
      http: minimal.http,
      log: minimal.log,
    });
    for (const backend of parsed.backends) {
      const defaults = minimal.backends.find((candidate) => candidate.type === backend.type)!;
      expect({ delete: backend.delete, timeout: backend.timeout }).toEqual({ delete: defaults.delete, timeout: defaults.timeout });
      if (backend.type === 'http' && defaults.type === 'http') expect({ zones: backend.zones, headers: backend.headers }).toEqual({ zones: defaults.zones, headers: defaults.headers });
    }
  });

  it('loads with rbl-unlist\'s own loader once its secret and key files exist beside it', () => {
    const dir = newTemp('example-config');
    writeFileSync(join(dir, 'config.yaml'), exampleWithHttpBackend());
    writeFileSync(join(dir, 'radius-freeradius.secret'), 'relay-secret\n', { mode: 0o600 });
    writeFileSync(join(dir, 'tsig.key'), 'key "unlist-key" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";\n};\n', { mode: 0o600 });
    writeFileSync(join(dir, 'pdns-api.key'), 'api-key\n', { mode: 0o600 });

    const config = loadConfig(join(dir, 'config.yaml'), BACKENDS);

    expect(config.backends.map((backend) => backend.name)).toEqual(['primary', 'powerdns']);
    expect(config.radius.clients[0]!.secretSource).toBe(join(dir, 'radius-freeradius.secret'));
    expect(config.looseFiles).toEqual([]);
  });
});

describe('deploy/systemd/rbl-unlist.service', () => {
  // .ci/run installs systemd: under CI=true a missing systemd-analyze fails, as every other peer does.
  const systemdAnalyze = havePeers('systemd-analyze') ? executable('systemd-analyze') : undefined;

  it.skipIf(systemdAnalyze === undefined)('passes systemd-analyze verify, and its exposure score stays at 2.0 or below', () => {
    const dir = newTemp('systemd');
    // verify insists that ExecStart's binary exists: point it at a stand-in, change nothing else.
    const standIn = join(dir, 'rbl-unlist');
    writeFileSync(standIn, '#!/bin/sh\n', { mode: 0o755 });
    const unitText = readFileSync(join(DEPLOY, 'systemd', 'rbl-unlist.service'), 'utf8');
    expect(unitText).toContain('ExecStart=/usr/bin/rbl-unlist serve --config /etc/rbl-unlist/config.yaml');
    const unit = join(dir, 'rbl-unlist.service');
    writeFileSync(unit, unitText.replaceAll('/usr/bin/rbl-unlist', standIn));

    const verify = spawnSync(systemdAnalyze!, ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
    expect(verify.status, verify.stderr).toBe(0);
    // Other units' warnings may appear; none may be about this one.
    expect(verify.stderr.split('\n').filter((line) => line.includes('rbl-unlist'))).toEqual([]);

    const security = spawnSync(systemdAnalyze!, ['security', '--offline=true', '--threshold=20', '--no-pager', unit], { encoding: 'utf8', timeout: 30_000 });
    expect(security.status, `${security.stdout}${security.stderr}`).toBe(0);
  });
});

describe('deploy/dns', () => {
  const bindTools = havePeers('named-checkconf', 'tsig-keygen');
  const knotTools = havePeers('knotc', 'keymgr');

  it.skipIf(!bindTools)('the BIND snippet passes named-checkconf with a key from tsig-keygen, granting the key only A and TXT', () => {
    const dir = newTemp('bind-snippet');
    const key = spawnSync('tsig-keygen', ['-a', 'hmac-sha256', 'unlist-key'], { encoding: 'utf8' });
    expect(key.status, key.stderr).toBe(0);
    writeFileSync(join(dir, 'unlist-key.key'), key.stdout);
    const snippet = readFileSync(join(DEPLOY, 'dns', 'bind', 'named.conf.rbl-unlist'), 'utf8');
    expect(snippet).toMatch(/^\s*grant unlist-key zonesub A TXT;/m);
    writeFileSync(join(dir, 'named.conf'), snippet.replaceAll('/etc/bind/unlist-key.key', join(dir, 'unlist-key.key')));

    const check = spawnSync('named-checkconf', [join(dir, 'named.conf')], { encoding: 'utf8', timeout: 20_000 });

    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it.skipIf(!knotTools)('the Knot snippet passes knotc conf-check with a key from keymgr', () => {
    const dir = newTemp('knot-snippet');
    const key = spawnSync('keymgr', ['-t', 'unlist-key', 'hmac-sha256'], { encoding: 'utf8' });
    expect(key.status, key.stderr).toBe(0);
    writeFileSync(join(dir, 'unlist-key.conf'), key.stdout);
    const snippet = readFileSync(join(DEPLOY, 'dns', 'knot', 'knot.conf.rbl-unlist'), 'utf8');
    writeFileSync(join(dir, 'knot.conf'), snippet.replaceAll('/etc/knot/unlist-key.conf', join(dir, 'unlist-key.conf')).replaceAll('/var/lib/knot', dir));

    const check = spawnSync('knotc', ['-c', join(dir, 'knot.conf'), 'conf-check'], { encoding: 'utf8', timeout: 20_000 });

    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});

describe('deploy/Dockerfile', () => {
  // No container engine here to build it: this checks what the file says, not the image it makes.
  it('says to build with npm ci, run as a non-root user with the state on a volume, and copies only files that exist', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm ci --no-audit/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^USER rbl-unlist$/m);
    expect(dockerfile).toContain('VOLUME ["/var/lib/rbl-unlist"]');
    expect(dockerfile).toContain('EXPOSE 1813/udp 9813/tcp');
    expect(dockerfile).toContain('ENTRYPOINT ["rbl-unlist", "serve"]');
    // Every file it copies from the build context exists.
    for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const path of source!.split(/\s+/)) expect(existsSync(join(PROJECT_ROOT, path)), path).toBe(true);
    }
  });
});
