import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS } from '../../src/backends/index.js';
import { loadConfig, parseConfig, configPath } from '../../src/config/load.js';
import { encodeName } from '../../src/backends/dns-update/message.js';
import { dnsblNames } from '../../src/backends/naming.js';
import { exitStatusFor, isRblError, RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import { configRefusal, configWithBackend } from '../helpers/config-text.js';
import { tempDir } from '../helpers/peers.js';

const KEY_FILE = `key "unlist-key" {
\talgorithm hmac-sha256;
\tsecret "0f3ZCWd0W0Ulu3DKtPnvWMqcyFqOLJ3PMlZ0V9tWnLU=";
};
`;

let dir: string;
let removeDir: () => void;

beforeAll(() => {
  ({ dir, remove: removeDir } = tempDir('config'));
  writeFileSync(join(dir, 'tsig.key'), KEY_FILE, { mode: 0o600 });
  writeFileSync(join(dir, 'ras1.secret'), 's3cret\n', { mode: 0o600 });
  writeFileSync(join(dir, 'loose.secret'), 'loose\n', { mode: 0o644 });
  chmodSync(join(dir, 'loose.secret'), 0o644);
  writeFileSync(join(dir, 'broken.key'), 'key "x" { algorithm hmac-sha256; };\n');
  writeFileSync(join(dir, 'empty.secret'), '\n');
});
afterAll(() => removeDir());

const minimal = configWithBackend(`type: dns-update
    server: 127.0.0.1:53
    zones: [rbl.example.net]
    tsig_key_file: tsig.key`);

const parse = (text: string) => parseConfig(text, join(dir, 'config.yaml'), BACKENDS);

const failure = (text: string): RblError => configRefusal(text, join(dir, 'config.yaml'));

describe('config', () => {
  it('fills every default of a minimal config and freezes it', () => {
    const config = parse(minimal);
    expect(config.radius.listen).toEqual([{ host: '0.0.0.0', port: 1813, family: 4 }]);
    expect(config.radius.receiveThread).toBe('auto');
    expect(config.state).toEqual({ dir: '/var/lib/rbl-unlist', ack: 'journal', maxUnwritten: 10_000 });
    expect([...config.unlistOn]).toEqual(['stop', 'start', 'accounting-on', 'accounting-off']);
    expect(config.http).toEqual({ listen: { host: '127.0.0.1', port: 9813, family: 4 }, probeIntervalMs: 10_000 });
    expect(config.sessions.maxAgeMs).toBe(7 * 86_400_000);
    expect(config.sessions.max).toBe(2_000_000);
    expect(config.log.level).toBe('info');
    const backend = config.backends[0]!;
    expect(backend.type === 'dns-update' && backend.deleteTypes).toEqual(['A', 'TXT']);
    expect(backend.type === 'dns-update' && backend.timeoutMs).toBe(3000);
    expect(backend.type === 'dns-update' && backend.tsig.name).toBe('unlist-key');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.radius.clients[0])).toBe(true);
    expect(config.radius.clients[0]!.maxSessions).toBeUndefined();
  });

  it("takes a client's max_sessions", () => {
    expect(parse(minimal.replace('secret: s3cret', 'secret: s3cret\n      max_sessions: 50000')).radius.clients[0]!.maxSessions).toBe(50_000);
  });

  it('resolves relative paths against the config file', () => {
    const config = parse(`${minimal}state:\n  dir: state\n`);
    expect(config.state.dir).toBe(join(dir, 'state'));
  });

  it('reads a secret_file and notes one readable by others', () => {
    const config = parse(minimal.replace('secret: s3cret', 'secret_file: loose.secret'));
    expect(config.radius.clients[0]!.secret.toString()).toBe('loose');
    expect(config.looseFiles).toEqual([join(dir, 'loose.secret')]);
  });

  it('parses listen addresses for IPv4 and IPv6', () => {
    const config = parse(minimal.replace('radius:\n', 'radius:\n  listen: ["127.0.0.1:11813", "[::1]:11813"]\n'));
    expect(config.radius.listen).toEqual([
      { host: '127.0.0.1', port: 11813, family: 4 },
      { host: '::1', port: 11813, family: 6 },
    ]);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['auto', 'auto'],
  ] as const)('takes radius.receive_thread: %s', (text, value) => {
    expect(parse(minimal.replace('radius:\n', `radius:\n  receive_thread: ${text}\n`)).radius.receiveThread).toBe(value);
  });

  it.each([
    ['a radius.receive_thread that is neither auto nor a boolean', minimal.replace('radius:\n', 'radius:\n  receive_thread: "yes"\n'), 'RBL_CONFIG_INVALID', 'radius.receive_thread: must be auto, true or false'],
    ['an unknown top-level key', `${minimal}colour: blue\n`, 'RBL_CONFIG_UNKNOWN_KEY', 'unknown key colour'],
    ['an unknown nested key', minimal.replace('zones:', 'zonez: [x]\n    zones:'), 'RBL_CONFIG_UNKNOWN_KEY', 'unknown key backends.0.zonez'],
    ['a missing pools', minimal.replace('pools: [10.64.0.0/16]\n', ''), 'RBL_CONFIG_INVALID', 'pools is required'],
    ['a missing radius.clients', minimal.replace(/radius:[\s\S]*?pools/, 'radius: {}\npools'), 'RBL_CONFIG_INVALID', 'radius.clients is required'],
    ['a missing backends', minimal.replace(/backends:[\s\S]*$/, ''), 'RBL_CONFIG_INVALID', 'backends is required'],
    ['a bad pool', minimal.replace('10.64.0.0/16', '10.64.0.0/99'), 'RBL_CONFIG_INVALID', 'pools.0'],
    ['a bad client address', minimal.replace('192.0.2.10/32', 'ras1.example'), 'RBL_CONFIG_INVALID', 'radius.clients.0.address'],
    ['both secret and secret_file', minimal.replace('secret: s3cret', 'secret: a\n      secret_file: ras1.secret'), 'RBL_CONFIG_INVALID', 'exactly one of secret or secret_file'],
    ['a missing secret file', minimal.replace('secret: s3cret', 'secret_file: nope.secret'), 'RBL_SECRET_FILE', 'nope.secret'],
    ['an empty secret file', minimal.replace('secret: s3cret', 'secret_file: empty.secret'), 'RBL_SECRET_FILE', 'is empty'],
    ['a key file that does not parse', minimal.replace('tsig.key', 'broken.key'), 'RBL_TSIG_KEYFILE', 'no secret'],
    ['a bad server', minimal.replace('127.0.0.1:53', '127.0.0.1:99999'), 'RBL_CONFIG_INVALID', 'backends.0.server'],
    ['a bad ack mode', `${minimal}state:\n  ack: never\n`, 'RBL_CONFIG_INVALID', 'state.ack'],
    ['a bad unlist_on', `${minimal}unlist_on: [hangup]\n`, 'RBL_CONFIG_INVALID', 'unlist_on.0'],
    ['a bad duration', `${minimal}sessions:\n  max_age: forever\n`, 'RBL_CONFIG_INVALID', 'sessions.max_age'],
    ['a probe interval of 0', `${minimal}http:\n  probe_interval: 0\n`, 'RBL_CONFIG_INVALID', 'http.probe_interval: a duration above zero'],
    ['a backend timeout of "0ms"', minimal.replace('tsig_key_file: tsig.key', 'tsig_key_file: tsig.key\n    timeout: 0ms'), 'RBL_CONFIG_INVALID', 'backends.0.timeout: a duration above zero'],
    ['a backend timeout of 30 days, past what a timer waits', minimal.replace('tsig_key_file: tsig.key', 'tsig_key_file: tsig.key\n    timeout: 30d'), 'RBL_CONFIG_INVALID', 'backends.0.timeout: a duration of at most 24 days (24d): a longer wait overflows the timer and ends at once'],
    ['a probe interval of 2,147,484 s', `${minimal}http:\n  probe_interval: 2147484\n`, 'RBL_CONFIG_INVALID', 'http.probe_interval: a duration of at most 24 days'],
    ['a RadSec idle timeout of 0.0s', `${minimal.replace('radius:', 'radius:\n  tls: {certificate_file: c.pem, key_file: k.pem, ca_file: ca.pem, idle_timeout: 0.0s}')}`, 'RBL_CONFIG_INVALID', 'a duration above zero'],
    ['a session cap of 0', `${minimal}sessions:\n  max: 0\n`, 'RBL_CONFIG_INVALID', 'sessions.max'],
    ["a client's session cap of 0", minimal.replace('secret: s3cret', 'secret: s3cret\n      max_sessions: 0'), 'RBL_CONFIG_INVALID', 'radius.clients.0.max_sessions'],
    ["a fractional client's session cap", minimal.replace('secret: s3cret', 'secret: s3cret\n      max_sessions: 2.5'), 'RBL_CONFIG_INVALID', 'radius.clients.0.max_sessions'],
    ["a client's session cap given as a word", minimal.replace('secret: s3cret', 'secret: s3cret\n      max_sessions: many'), 'RBL_CONFIG_INVALID', 'radius.clients.0.max_sessions'],
    ['a cap of 0 requests waiting for the disk', `${minimal}state:\n  max_unwritten: 0\n`, 'RBL_CONFIG_INVALID', 'state.max_unwritten'],
    ['a fractional cap of requests waiting for the disk', `${minimal}state:\n  max_unwritten: 2.5\n`, 'RBL_CONFIG_INVALID', 'state.max_unwritten'],
    ['a cap of requests waiting for the disk given as a word', `${minimal}state:\n  max_unwritten: lots\n`, 'RBL_CONFIG_INVALID', 'state.max_unwritten'],
    ['YAML that does not parse', 'radius: [\n', 'RBL_CONFIG_SYNTAX', 'config.yaml'],
    ['a duplicate key', `${minimal}pools: [10.0.0.0/8]\n`, 'RBL_CONFIG_SYNTAX', 'config.yaml'],
    ['an unknown backend type', minimal.replace('type: dns-update', 'type: carrier-pigeon'), 'RBL_CONFIG_INVALID', 'backends.0.type'],
    ['an http backend without a url', `${minimal}  - type: http\n    preset: powerdns\n`, 'RBL_CONFIG_INVALID', 'backends.1.url'],
  ])('refuses %s with exit status 2', (_what, text, code, words) => {
    const error = failure(text);
    expect(error.code).toBe(code);
    expect(error.message).toContain(words);
    expect(exitStatusFor(error)).toBe(2);
  });

  it('reports a missing config file as RBL_CONFIG_READ naming the path', () => {
    let caught: unknown;
    try {
      loadConfig(join(dir, 'missing.yaml'), BACKENDS);
    } catch (error) {
      caught = error;
    }
    expect(isRblError(caught, 'RBL_CONFIG_READ')).toBe(true);
    expect((caught as Error).message).toContain('missing.yaml');
  });

  it('takes the path from --config, then $RBL_UNLIST_CONFIG, then /etc/rbl-unlist/config.yaml', () => {
    expect(configPath('/a.yaml', { RBL_UNLIST_CONFIG: '/b.yaml' })).toBe('/a.yaml');
    expect(configPath(undefined, { RBL_UNLIST_CONFIG: '/b.yaml' })).toBe('/b.yaml');
    expect(configPath(undefined, {})).toBe('/etc/rbl-unlist/config.yaml');
  });

  it('derives the PowerDNS zone from the API URL', () => {
    writeFileSync(join(dir, 'pdns.key'), 'secret-api-key\n', { mode: 0o600 });
    const config = parse(`${minimal}  - type: http\n    preset: powerdns\n    url: http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.\n    api_key_file: pdns.key\n`);
    const backend = config.backends[1]!;
    expect(backend.zones).toEqual(['rbl.example.net']);
    expect(backend.type === 'http' && backend.method).toBe('PATCH');
    expect(backend.type === 'http' && backend.apiKey).toBe('secret-api-key');
  });
});

/** A zone name of `length` characters (184 to 243): three labels of 60 and the rest. */
function zoneOfLength(length: number): string {
  return [...Array<string>(3).fill('z'.repeat(60)), 'z'.repeat(length - 183)].join('.');
}

describe('zones too long for a DNSBL name', () => {
  // The longest name dnsblNames writes: the wildcard below an IPv6 /127, "*" and 32 nibble labels.
  const longestName = (zone: string): string => dnsblNames(parsePrefix('2001:db8::/127'), zone).at(-1)!;
  const withZone = (zone: string): string => minimal.replace('zones: [rbl.example.net]', `zones: [rbl.example.net, ${zone}]`);

  it('takes a zone of 187 characters, whose longest owner name is 255 octets on the wire', () => {
    const zone = zoneOfLength(187);
    expect(zone).toHaveLength(187);
    expect(encodeName(longestName(zone))).toHaveLength(255);
    expect(parse(withZone(zone)).backends[0]!.zones).toEqual(['rbl.example.net', zone]);
  });

  it('refuses a zone of 188 characters, naming its key and the length of the longest name', () => {
    const zone = zoneOfLength(188);
    expect(encodeName(longestName(zone))).toHaveLength(256);
    const error = failure(withZone(`${zone}.`));
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(error.message).toContain(
      `backends.0.zones.1: "${zone}" is too long: the longest owner name under it, the wildcard below an IPv6 /127 (* and 32 nibble labels), ` +
        'would be 256 octets, past the 255 a domain name may have (RFC 1035 §2.3.4); use a zone of at most 187 characters',
    );
    expect(exitStatusFor(error)).toBe(2);
  });

  it('refuses a zone with a label over 63 octets', () => {
    const zone = `${'l'.repeat(64)}.example.net`;
    expect(failure(withZone(zone)).message).toContain(`backends.0.zones.1: "${zone}" has a label of 64 octets, past the 63 a label may have (RFC 1035 §2.3.4)`);
    expect(parse(withZone(zone.slice(1))).backends[0]!.zones).toContain(zone.slice(1));
  });

  it('refuses a PowerDNS API URL that ends in such a zone, naming the url', () => {
    writeFileSync(join(dir, 'pdns.key'), 'secret-api-key\n', { mode: 0o600 });
    const zone = zoneOfLength(188);
    const error = failure(`${minimal}  - type: http\n    preset: powerdns\n    url: http://127.0.0.1:8081/api/v1/servers/localhost/zones/${zone}.\n    api_key_file: pdns.key\n`);
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(error.message).toContain(`backends.1.url: the zone it ends in, "${zone}" is too long`);
  });

  it('refuses a PowerDNS API URL that names no zone (ending in /zones, or a {zone} template) when no zones are listed, and takes it with zones', () => {
    writeFileSync(join(dir, 'pdns.key'), 'secret-api-key\n', { mode: 0o600 });
    for (const [url, says] of [
      ['http://127.0.0.1:8081/api/v1/servers/localhost/zones', 'ending in /zones'],
      ['http://127.0.0.1:8081/api/v1/servers/localhost/zones/', 'ending in /zones'],
      ['http://127.0.0.1:8081/api/v1/servers/localhost/zones/{zone}', 'with {zone}'],
    ] as const) {
      const error = failure(`${minimal}  - type: http\n    preset: powerdns\n    url: ${url}\n    api_key_file: pdns.key\n`);
      expect(error.code).toBe('RBL_CONFIG_INVALID');
      expect(error.message).toContain(`backends.1.zones: list at least one zone: the url (${says}) names none`);
      const listed = parse(`${minimal}  - type: http\n    preset: powerdns\n    url: ${url}\n    api_key_file: pdns.key\n    zones: [rbl.example.net]\n`);
      expect(listed.backends[1]!.zones).toEqual(['rbl.example.net']);
    }
  });
});

describe('config errors an operator can act on', () => {
  it('reports every problem of the file at once, one line each, with the first problem\'s code', () => {
    const text = minimal
      .replace('radius:\n', 'radius:\n  listen: ["127.0.0.1:1813"]\n  clientz: []\n')
      .replace('zones:', 'zoens: [x]\n    zones:')
      .concat('colour: blue\n');
    const error = failure(text);
    expect(error.code).toBe('RBL_CONFIG_UNKNOWN_KEY');
    expect(error.message).toContain('config.yaml: 3 problems:\n');
    expect(error.message).toContain('\n  - unknown key radius.clientz (did you mean clients?)');
    expect(error.message).toContain('\n  - unknown key backends.0.zoens (did you mean zones?)');
    expect(error.message).toContain('\n  - unknown key colour');
    expect(error.message).not.toContain('colour (did you mean');
  });

  it('reports every bad value found after the schema too: addresses, ports and key files together', () => {
    const text = minimal.replace('192.0.2.10/32', 'ras1.example').replace('[10.64.0.0/16]', '[10.64.0.0/99]').replace('127.0.0.1:53', '127.0.0.1:99999');
    const error = failure(text);
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(error.message).toMatch(/3 problems:\n {2}- radius\.clients\.0\.address: .*\n {2}- backends\.0\.server: .*\n {2}- pools\.0: /);
  });

  it('suggests the key of the right backend type', () => {
    const error = failure(`${minimal}  - type: http\n    preset: powerdns\n    url: http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.\n    api_key: k\n`);
    expect(error.message).toContain('unknown key backends.1.api_key (did you mean api_key_file?)');
    expect(failure(minimal.replace('tsig_key_file:', 'tsig_key_flie:')).message).toContain('unknown key backends.0.tsig_key_flie (did you mean tsig_key_file?)');
    // ca_file exists only for http backends: a dns-update backend gets no such suggestion.
    expect(failure(minimal.replace('zones:', 'ca_flie: x\n    zones:')).message).toMatch(/unknown key backends\.0\.ca_flie$/);
    expect(failure(`${minimal}  - type: http\n    url: http://127.0.0.1/{name}\n    zones: [z]\n    ca_flie: x\n`).message).toContain('(did you mean ca_file?)');
  });

  it('calls a port above 65535 out of range, naming the key', () => {
    const error = failure(minimal.replace('127.0.0.1:53', '127.0.0.1:70000'));
    expect(error.message).toContain('backends.0.server: "127.0.0.1:70000": port 70000 is out of range (0 to 65535)');
  });

  it('ends a YAML error with the offending line, not a dangling colon', () => {
    const error = failure(minimal.replace('      address: 192.0.2.10/32', '      address: 192.0.2.10/32: oops'));
    expect(error.code).toBe('RBL_CONFIG_SYNTAX');
    expect(error.message).toMatch(/config\.yaml: line \d+, column \d+: .+: " {6}address: 192\.0\.2\.10\/32: oops"$/);
    expect(error.message).not.toMatch(/:\s*$/);
    expect(error.message).not.toContain('\n\n');
  });

  it.each([
    ['a client secret', '      secret: s3cret', '      secret: s3cret: oops', '      secret: REDACTED'],
    ['a quoted key', '      secret: s3cret', '      "secret": s3cret: oops', '      "secret": REDACTED'],
    ['a list item', '    - name: ras1', '    - secret: s3cret: oops', '    - secret: REDACTED'],
    ['a client written as a flow map', '    - name: ras1', '    - {name: ras1, secret: s3cret]', '    - {name: ras1, secret: REDACTED]'],
    ['an inline TSIG key written as a flow map', '      secret: s3cret', '      tsig: {name: k, algorithm: hmac-sha256, secret: s3cret]', '      tsig: {name: k, algorithm: hmac-sha256, secret: REDACTED]'],
    ['a quoted secret in a flow map', '      secret: s3cret', "      tsig: {secret: 'ab s3cret, x', name: k]", '      tsig: {secret: REDACTED, name: k]'],
    ['an Authorization header in a flow map', '      secret: s3cret', '      headers: {Authorization: Bearer s3cret]', '      headers: {Authorization: REDACTED]'],
    ['an API key header after another', '      secret: s3cret', '      headers: {Accept: text/plain, X-API-Key: s3cret]', '      headers: {Accept: text/plain, X-API-Key: REDACTED]'],
    ['a block secret holding a comma', '      secret: s3cret', '      secret: a,s3cret: oops', '      secret: REDACTED'],
  ])('quotes a YAML error on the line of %s with the secret REDACTED', (_case, from, to, shown) => {
    const error = failure(minimal.replace(from, to));
    expect(error.code).toBe('RBL_CONFIG_SYNTAX');
    expect(error.message).toContain(JSON.stringify(shown));
    expect(error.message).not.toContain('s3cret');
  });

  it.each([
    ['a double quote the key line opened', '      secret: "hunter2\n  s3cret" x'],
    ['a double quote open over several lines', '      secret: "hunter2\n    more\n  s3cret" x'],
    ['a single quote', "      secret: 'hunter2\n  s3cret' x"],
    ['a plain value on the next line, more indented', '      secret: hunter2\n        s3cret: x: y'],
    ['a block scalar', '      secret: |\n        hunter2\n       s3cret: x: y'],
    ['a quote opened in a flow map', '      tsig: {name: k, secret: "hunter2\n  s3cret" x}'],
  ])('does not quote an error line that continues a secret: %s', (_case, to) => {
    const error = failure(minimal.replace('      secret: s3cret', to));
    expect(error.code).toBe('RBL_CONFIG_SYNTAX');
    expect(error.message).not.toMatch(/s3cret|hunter2/);
  });

  it('still quotes an error line after a secret that ended', () => {
    const error = failure(minimal.replace('      secret: s3cret', '      secret: "hunter2\n        x"\n      address: 192.0.2.10/32: oops'));
    expect(error.code).toBe('RBL_CONFIG_SYNTAX');
    expect(error.message).toContain('"      address: 192.0.2.10/32: oops"');
  });

  it('quotes the path of a *_file key as it is, whatever its name', () => {
    const error = failure(minimal.replace('      secret: s3cret', '      tsig: {token_file: /etc/rbl-unlist/token]'));
    expect(error.code).toBe('RBL_CONFIG_SYNTAX');
    expect(error.message).toContain('token_file: /etc/rbl-unlist/token]');
  });

  it('says how to give a config when the file does not exist', () => {
    let caught: unknown;
    try {
      loadConfig(join(dir, 'nowhere.yaml'), BACKENDS);
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toBe(`cannot read config ${join(dir, 'nowhere.yaml')}: no such file (ENOENT); give the config file with --config FILE or $RBL_UNLIST_CONFIG (the default is /etc/rbl-unlist/config.yaml)`);
  });
});
