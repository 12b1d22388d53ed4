import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfigYaml, runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server.js';
import { startRecordingServer as startHttpServer } from '../helpers/http-server.js';

let dir: string;
let removeDir: () => void;
let keyFile: string;

beforeAll(() => {
  ({ dir, remove: removeDir } = tempDir('cli-unlist'));
  keyFile = writeKeyFile(dir, 'tsig.key');
});
afterAll(() => removeDir());

// A "server" that records whatever reaches it over UDP or TCP: the dry run must send nothing.
let server: RecordingServer;
let port: number;
let configFile: string;

beforeEach(async () => {
  server = await startRecordingServer();
  port = server.port;
  configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    cliConfigYaml({
      pools: ['10.64.0.0/16', '2001:db8:100::/40'],
      backends: [{ server: `127.0.0.1:${port}`, zones: ['rbl.example.net'], keyFile: 'tsig.key', timeout: '300ms' }],
    }),
  );
});
afterEach(() => server.close());

const unlist = (...args: string[]) => runCliCaptured(['unlist', '--config', configFile, ...args]);

/** The nsupdate lines of a dry run, without its comment lines. */
const updateLines = (stdout: string) => stdout.split('\n').filter((line) => line !== '' && !line.startsWith(';'));

describe('rbl-unlist unlist --dry-run', () => {
  it('prints the IPv4 update in nsupdate syntax and sends nothing', async () => {
    const result = await unlist('--dry-run', '10.64.3.7');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(updateLines(result.stdout)).toEqual([
      `server 127.0.0.1 ${port}`,
      'zone rbl.example.net.',
      'update delete 7.3.64.10.rbl.example.net. A',
      'update delete 7.3.64.10.rbl.example.net. TXT',
      'send',
    ]);
    expect(result.stdout).toContain(`TSIG key unlist-key (hmac-sha256) from ${keyFile}`);
    expect(await server.received()).toEqual([]);
  });

  it('prints an IPv6 address as its 32 nibbles reversed', async () => {
    const result = await unlist('--dry-run', '2001:db8:100::25');
    expect(result.status).toBe(0);
    const name = '5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.8.b.d.0.1.0.0.2.rbl.example.net.';
    expect(updateLines(result.stdout)).toEqual([`server 127.0.0.1 ${port}`, 'zone rbl.example.net.', `update delete ${name} A`, `update delete ${name} TXT`, 'send']);
    expect(await server.received()).toEqual([]);
  });

  it('prints an IPv6 prefix as its name and the wildcard below it', async () => {
    const result = await unlist('--dry-run', '2001:db8:100:1200::/56');
    expect(result.status).toBe(0);
    const name = '2.1.0.0.1.0.8.b.d.0.1.0.0.2.rbl.example.net.';
    expect(updateLines(result.stdout)).toEqual([
      `server 127.0.0.1 ${port}`,
      'zone rbl.example.net.',
      `update delete ${name} A`,
      `update delete ${name} TXT`,
      `update delete *.${name} A`,
      `update delete *.${name} TXT`,
      'send',
    ]);
    expect(await server.received()).toEqual([]);
  });

  it('puts several addresses into one update per zone', async () => {
    const result = await unlist('--dry-run', '10.64.3.7', '10.64.3.8', '10.64.3.7');
    expect(result.status).toBe(0);
    const lines = updateLines(result.stdout);
    expect(lines.filter((line) => line === 'send')).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('update delete'))).toHaveLength(4);
  });

  it('prints one JSON document with the update text under --json', async () => {
    const result = await unlist('--dry-run', '--json', '10.64.3.7');
    expect(result.status).toBe(0);
    const document = JSON.parse(result.stdout) as { ok: boolean; dryRun: boolean; results: { backend: string; zone: string; ok: boolean; update: string }[] };
    expect(document.ok).toBe(true);
    expect(document.dryRun).toBe(true);
    expect(document.results).toHaveLength(1);
    expect(document.results[0]).toMatchObject({ backend: `dns-update 127.0.0.1:${port}`, zone: 'rbl.example.net', ok: true });
    expect(document.results[0]!.update).toContain('update delete 7.3.64.10.rbl.example.net. A');
    expect(await server.received()).toEqual([]);
  });
});

describe('rbl-unlist unlist against a server that fails', () => {
  it('says a transient failure is not retried, as it queued nothing, and exits 1', async () => {
    // The recording server answers nothing: the update times out, a transient failure.
    const result = await unlist('10.64.3.7');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `rbl-unlist: RBL_DNS_TIMEOUT: dns-update 127.0.0.1:${port}, zone rbl.example.net: 127.0.0.1:${port} did not answer over UDP within 300 ms: ` +
        'check that the DNS server runs and listens there; this command tried once and queued nothing, so nothing retries it: run it again later\n',
    );
  });
});

/** A config whose one backend is a generic HTTP API at `origin`, named api. */
function apiConfig(name: string, origin: string): string {
  const file = join(dir, name);
  writeFileSync(file, cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [] }).replace('backends:\n', `backends:\n  - type: http\n    name: api\n    url: "${origin}/{zone}/{name}"\n    zones: [rbl.example.net]\n`));
  return file;
}

describe('rbl-unlist unlist against an HTTP API that fails one name', () => {
  it('says which addresses it unlisted and which not, on stdout, stderr and in --json', async () => {
    const api = await startHttpServer((request) => ({ status: request.url.endsWith('/5.3.64.10.rbl.example.net') ? 500 : 204 }));
    try {
      const config = apiConfig('http.yaml', api.origin);
      const result = await runCliCaptured(['unlist', '--config', config, '10.64.3.4', '10.64.3.5', '10.64.3.6']);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('unlisted 10.64.3.4, 10.64.3.6 from api, zone rbl.example.net (not 10.64.3.5: see the error)\n');
      expect(result.stderr).toMatch(/^rbl-unlist: RBL_HTTP_STATUS: api, zone rbl\.example\.net: api: unexpected status from .*5\.3\.64\.10\.rbl\.example\.net: 500.*this command tried once and queued nothing/);
      const json = await runCliCaptured(['unlist', '--json', '--config', config, '10.64.3.4', '10.64.3.5']);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: false,
        unlisted: ['10.64.3.4'],
        results: [{ backend: 'api', ok: false, unlisted: ['10.64.3.4'], failed: [{ address: '10.64.3.5', code: 'RBL_HTTP_STATUS' }], error: { code: 'RBL_HTTP_STATUS' } }],
      });
    } finally {
      await api.close();
    }
  });

  it('names every failed address with its own failure, and those it did not send', async () => {
    // 10.64.3.7 is refused (404), 10.64.3.8 fails (500), 10.64.3.9 is taken.
    const api = await startHttpServer((request) => ({ status: request.url.endsWith('/7.3.64.10.rbl.example.net') ? 404 : request.url.endsWith('/8.3.64.10.rbl.example.net') ? 500 : 204 }));
    try {
      const config = apiConfig('http2.yaml', api.origin);
      const result = await runCliCaptured(['unlist', '--config', config, '10.64.3.7', '10.64.3.8', '10.64.3.9']);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('unlisted 10.64.3.9 from api, zone rbl.example.net (not 10.64.3.7, 10.64.3.8: see the error)\n');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines.find((line) => line.includes('7.3.64.10'))).toMatch(/RBL_HTTP_NOT_FOUND.*not found/);
      expect(lines.find((line) => line.includes('7.3.64.10'))).not.toContain('run it again');
      expect(lines.find((line) => line.includes('8.3.64.10'))).toMatch(/RBL_HTTP_STATUS.*500.*run it again later$/);
    } finally {
      await api.close();
    }
  });
});

describe('rbl-unlist unlist against an API whose error quotes control characters', () => {
  it('shows them escaped on stderr, so the answer cannot clear or rewrite the terminal', async () => {
    const api = await startHttpServer(() => ({ status: 500, headers: { 'Content-Type': 'text/plain' }, body: 'oops\u001b[2J\u001b]0;pwned\u0007\rdone \u009b31m' }));
    try {
      const result = await runCliCaptured(['unlist', '--config', apiConfig('controls.yaml', api.origin), '10.64.3.4']);
      expect(result.status).toBe(1);
      // The excerpt is quoted as JSON (C0 controls as \u00XX, white space folded); JSON leaves an
      // 8-bit CSI (U+009B) as it is, which the line shows escaped.
      expect(result.stderr).toContain('"oops\\u001b[2J\\u001b]0;pwned\\u0007 done \\x9b31m"');
      // eslint-disable-next-line no-control-regex -- looking for control characters is the point.
      expect(result.stderr.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    } finally {
      await api.close();
    }
  });
});

describe('rbl-unlist unlist with a key the API rejects', () => {
  it('says the key is what to fix, not the time to wait, and exits 1', async () => {
    const api = await startHttpServer(() => ({ status: 401 }));
    try {
      const result = await runCliCaptured(['unlist', '--config', apiConfig('rejected.yaml', api.origin), '10.64.3.4']);
      expect(result.status).toBe(1);
      expect(result.stdout).not.toMatch(/^unlisted/m);
      expect(result.stderr).toMatch(/^rbl-unlist: RBL_HTTP_AUTH: api, zone rbl\.example\.net: api: .*401.*this command tried once and queued nothing: run it again once the key is right$/m);
      expect(result.stderr).not.toContain('run it again later');
    } finally {
      await api.close();
    }
  });
});

describe('rbl-unlist unlist behind a captive portal', () => {
  it('unlists nothing when a 200 HTML page answers in the API\'s place, and says it queued nothing', async () => {
    const api = await startHttpServer(() => ({ status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: '<html><title>Guest Wi-Fi login</title></html>' }));
    try {
      const config = apiConfig('portal.yaml', api.origin);
      const result = await runCliCaptured(['unlist', '--config', config, '10.64.3.4']);
      expect(result.status).toBe(1);
      expect(result.stdout).not.toMatch(/^unlisted/m);
      expect(result.stderr).toMatch(
        /^rbl-unlist: RBL_HTTP_STATUS: api, zone rbl\.example\.net: api: 127\.0\.0\.1:\d+ answered 200 with an HTML page \(DELETE .*"<html><title>Guest Wi-Fi login<\/title><\/html>"\), not the API's answer: is a captive portal or a proxy's login page in the way\? Nothing was taken as unlisted; .*this command tried once and queued nothing, so nothing retries it: run it again later$/m,
      );
    } finally {
      await api.close();
    }
  });
});

describe('rbl-unlist unlist arguments and safety rules', () => {
  it('says which prefix it used when a prefix has host bits set, and says nothing for a clean one', async () => {
    const result = await unlist('--dry-run', '10.64.0.5/24', '2001:db8:100:1::5/64', '10.64.1.0/24');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      'rbl-unlist: note: 10.64.0.5/24 has host bits set; unlisting 10.64.0.0/24\n' +
        'rbl-unlist: note: 2001:db8:100:1::5/64 has host bits set; unlisting 2001:db8:100:1::/64\n',
    );
    expect(updateLines(result.stdout)).toContain('update delete 0.64.10.rbl.example.net. A');
    expect(await server.received()).toEqual([]);
  });

  it('exits 2 naming an address that does not parse, and sends nothing for the others', async () => {
    const result = await unlist('10.64.3.7', '10.64.3', '2001:db8::/129');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^rbl-unlist: RBL_ADDRESS_INVALID: /);
    expect(result.stderr).toContain('"10.64.3"');
    expect(result.stderr).toContain('"2001:db8::/129"');
    expect(result.stderr).toContain('nothing was sent');
    expect(result.stdout).toBe('');
    expect(await server.received()).toEqual([]);
  });

  it('refuses an address outside the pools without --force and exits 1', async () => {
    const result = await unlist('--dry-run', '192.0.2.1');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rbl-unlist: RBL_ADDRESS_OUTSIDE_POOLS: 192\.0\.2\.1 is outside the configured pools/);
    expect(updateLines(result.stdout)).toEqual([]);
  });

  it('unlists an address outside the pools with --force', async () => {
    const result = await unlist('--dry-run', '--force', '192.0.2.1');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(updateLines(result.stdout)).toContain('update delete 1.2.0.192.rbl.example.net. A');
  });

  it('still unlists the pool addresses when another one is refused, and exits 1', async () => {
    const result = await unlist('--dry-run', '--json', '192.0.2.1', '10.64.3.7');
    expect(result.status).toBe(1);
    const document = JSON.parse(result.stdout) as { ok: boolean; refused: { address: string; code: string }[]; results: { addresses: string[]; update: string }[] };
    expect(document.ok).toBe(false);
    expect(document.refused).toEqual([expect.objectContaining({ address: '192.0.2.1', code: 'RBL_ADDRESS_OUTSIDE_POOLS' })]);
    expect(document.results[0]!.addresses).toEqual(['10.64.3.7']);
    expect(document.results[0]!.update).toContain('7.3.64.10.rbl.example.net.');
    expect(document.results[0]!.update).not.toContain('1.2.0.192');
  });

  it.each(['127.0.0.2', '::1', '::ffff:127.0.0.2', '127.0.0.0/8'])('never unlists the RFC 5782 test entry %s, even with --force', async (address) => {
    const result = await unlist('--dry-run', '--force', address);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rbl-unlist: RBL_ADDRESS_PROTECTED: .*RFC 5782/);
    expect(updateLines(result.stdout)).toEqual([]);
    expect(await server.received()).toEqual([]);
  });
});
