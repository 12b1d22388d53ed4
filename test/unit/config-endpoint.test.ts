/** Endpoints in the config (backends' server, radius.listen, http.listen): one canonical host for each address, and a prefix refused. */
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../src/config/load.js';
import { exitStatusFor, type RblError } from '../../src/errors.js';
import { configRefusal, configWithBackend, parseConfigText } from '../helpers/config-text.js';

const PATH = '/etc/rbl-unlist/config.yaml';

const config = (server: string, extra = ''): string =>
  configWithBackend(
    `type: dns-update
    server: "${server}"
    zones: [rbl.example.net]
    tsig: { name: unlist-key, algorithm: hmac-sha256, secret: 0f3ZCWd0W0Ulu3DKtPnvWMqcyFqOLJ3PMlZ0V9tWnLU= }`,
    extra,
  );

const failure = (text: string): RblError => configRefusal(text, PATH);

describe('config endpoints', () => {
  it.each([
    ['127.0.0.1:53', '127.0.0.1', 53, 4],
    ['127.0.0.1', '127.0.0.1', 53, 4],
    ['[::1]:53', '::1', 53, 6],
    ['[0:0:0:0:0:0:0:1]:53', '::1', 53, 6],
    ['[::0:1]:53', '::1', 53, 6],
    ['[0::1]', '::1', 53, 6],
    ['[2001:db8:0::53]:5353', '2001:db8::53', 5353, 6],
    ['[2001:DB8::53]:53', '2001:db8::53', 53, 6],
    ['[::ffff:127.0.0.1]:53', '::ffff:7f00:1', 53, 6],
    ['[::ffff:7f00:1]:53', '::ffff:7f00:1', 53, 6],
    ['[0:0:0:0:0:0:0:0]:9813', '::', 9813, 6],
    // The zone index picks the interface of a link-local address: it is kept.
    ['[fe80::0:1%eth0]:53', 'fe80::1%eth0', 53, 6],
  ])('reads %s as host %s, port %d, IPv%d', (text, host, port, family) => {
    expect(endpoint(text, 'backends.0.server', PATH, 53)).toEqual({ host, port, family });
  });

  it.each([
    ['127.0.0.1/8', 'backends.0.server: "127.0.0.1/8" is a prefix, not an address: give the address alone, as "127.0.0.1:53"'],
    ['127.0.0.1/32:5353', 'backends.0.server: "127.0.0.1/32:5353" is a prefix, not an address: give the address alone, as "127.0.0.1:5353"'],
    ['[::1/128]', 'backends.0.server: "[::1/128]" is a prefix, not an address: give the address alone, as "[::1]:53"'],
    ['[2001:db8::/64]:53', 'backends.0.server: "[2001:db8::/64]:53" is a prefix, not an address: give the address alone, as "[2001:db8::]:53"'],
    ['dns.example.net:53', 'backends.0.server: "dns.example.net:53" is not host:port (use "[::1]:53" for IPv6)'],
    ['::1:53', 'backends.0.server: "::1:53" is not host:port (use "[::1]:53" for IPv6)'],
  ])('refuses the server %s with an error naming the key', (server, message) => {
    const error = failure(config(server));
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(error.message).toBe(`${PATH}: ${message}`);
    expect(exitStatusFor(error)).toBe(2);
  });

  it('refuses a prefix as a listen address of RADIUS or of the monitoring endpoint', () => {
    const error = failure(config('127.0.0.1:53', 'http:\n  listen: 127.0.0.1/8:9813\n').replace('radius:\n', 'radius:\n  listen: ["[::1/128]:1813"]\n'));
    expect(error.message).toContain('radius.listen.0: "[::1/128]:1813" is a prefix, not an address: give the address alone, as "[::1]:1813"');
    expect(error.message).toContain('http.listen: "127.0.0.1/8:9813" is a prefix, not an address: give the address alone, as "127.0.0.1:9813"');
  });

  it('sends to the canonical host and keeps the default backend name as written, which names its queued jobs in state.dir', () => {
    const backend = parseConfigText(config('[0:0:0:0:0:0:0:1]:53'), PATH).backends[0]!;
    expect(backend.type === 'dns-update' && backend.server).toEqual({ host: '::1', port: 53, family: 6 });
    expect(backend.name).toBe('dns-update [0:0:0:0:0:0:0:1]:53');
  });
});
