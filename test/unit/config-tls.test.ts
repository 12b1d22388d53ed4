/** The RadSec keys of the config: radius.tls and the clients' transport and certificate_name. */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/index.js';
import { parseConfig } from '../../src/config/load.js';
import { exitStatusFor, RblError } from '../../src/errors.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeRadsecCertificates, type RadsecCertificates } from '../helpers/certs.js';
import { havePeers, tempDir } from '../helpers/peers.js';

const config = (radius: string): string => `
radius:
${radius.trim().split('\n').map((line) => `  ${line}`).join('\n')}
pools: [10.64.0.0/16]
backends:
  - type: dns-update
    server: 127.0.0.1:53
    zones: [rbl.example.net]
    tsig: {name: k, secret: "0f3ZCWd0W0Ulu3DKtPnvWMqcyFqOLJ3PMlZ0V9tWnLU="}
`;

const TLS = `tls:
  certificate_file: server.crt
  key_file: server.key
  ca_file: ca.crt`;

const TLS_CLIENT = `clients:
  - name: proxy1
    address: 192.0.2.20/32
    transport: tls
    certificate_name: proxy1.test`;

describe.runIf(havePeers('openssl'))('RadSec configuration', () => {
  let dir: string;
  let removeDir: () => void;
  let certs: RadsecCertificates;
  beforeAll(() => {
    ({ dir, remove: removeDir } = tempDir('config-tls'));
    certs = makeRadsecCertificates(dir);
    copyFileSync(certs.server.certificateFile, join(dir, 'server.crt'));
    copyFileSync(certs.server.keyFile, join(dir, 'server.key'));
    copyFileSync(certs.ca.certificateFile, join(dir, 'ca.crt'));
    copyFileSync(certs.client.keyFile, join(dir, 'other.key'));
    writeFileSync(join(dir, 'garbage.crt'), 'not a certificate\n');
  });
  afterAll(() => removeDir());

  const parse = (text: string) => parseConfig(text, join(dir, 'config.yaml'), BACKENDS);
  const failure = (text: string): RblError => {
    try {
      parse(text);
    } catch (error) {
      if (error instanceof RblError) return error;
      throw error;
    }
    throw new Error('the config was accepted');
  };

  it('fills the defaults of radius.tls and reads its files relative to the config', () => {
    const { radius } = parse(config(`${TLS}\n${TLS_CLIENT}`));
    expect(radius.tls).toMatchObject({
      listen: [{ host: '0.0.0.0', port: 2083, family: 4 }],
      certificateFile: join(dir, 'server.crt'),
      caFile: join(dir, 'ca.crt'),
      idleTimeoutMs: 60_000,
      maxConnections: 256,
      maxConnectionsPerClient: 8,
    });
    expect(radius.tls!.certificate).toEqual(certs.server.certificate);
    expect(Object.isFrozen(radius.tls)).toBe(true);
  });

  it('gives a tls client the RFC 6614 §2.3 secret "radsec" and its certificate_name', () => {
    const [client] = parse(config(`${TLS}\n${TLS_CLIENT}`)).radius.clients;
    expect(client).toMatchObject({ transport: 'tls', certificateName: 'proxy1.test', secretSource: 'radsec (RFC 6614 default)' });
    expect(client!.secret.toString()).toBe('radsec');
  });

  it('leaves radius.tls out by default, and clients on udp', () => {
    const { radius } = parse(config('clients:\n  - {name: ras1, address: 192.0.2.10, secret: s}'));
    expect(radius.tls).toBeUndefined();
    expect(radius.clients[0]!.transport).toBe('udp');
  });

  it.each([
    ['a tls client without radius.tls', TLS_CLIENT, 'RBL_CONFIG_INVALID', /radius\.tls: a client has transport: tls/],
    ['a udp client without a secret', 'clients:\n  - {name: ras1, address: 192.0.2.10}', 'RBL_CONFIG_INVALID', /exactly one of secret or secret_file/],
    ['certificate_name on a udp client', 'clients:\n  - {name: ras1, address: 192.0.2.10, secret: s, certificate_name: x.test}', 'RBL_CONFIG_INVALID', /certificate_name: only a client with transport: tls/],
    ['an unknown transport', 'clients:\n  - {name: ras1, address: 192.0.2.10, secret: s, transport: dtls}', 'RBL_CONFIG_INVALID', /transport/],
    ['radius.tls without ca_file', `tls:\n  certificate_file: server.crt\n  key_file: server.key\n${TLS_CLIENT}`, 'RBL_CONFIG_INVALID', /radius\.tls\.ca_file is required/],
    ['an unknown radius.tls key', `${TLS}\n  verify: none\n${TLS_CLIENT}`, 'RBL_CONFIG_UNKNOWN_KEY', /radius\.tls\.verify/],
    ['a missing key file', `${TLS.replace('server.key', 'missing.key')}\n${TLS_CLIENT}`, 'RBL_SECRET_FILE', /radius\.tls\.key_file: cannot read .*missing\.key/],
    ['a certificate file that is no PEM', `${TLS.replace('server.crt', 'garbage.crt')}\n${TLS_CLIENT}`, 'RBL_TLS_CERTIFICATE', /radius\.tls: /],
    ['a key that is not the certificate\'s', `${TLS.replace('server.key', 'other.key')}\n${TLS_CLIENT}`, 'RBL_TLS_CERTIFICATE', /radius\.tls: .*key values mismatch/],
    ['max_connections of 0', `${TLS}\n  max_connections: 0\n${TLS_CLIENT}`, 'RBL_CONFIG_INVALID', /radius\.tls\.max_connections/],
  ])('rejects %s, exit 2', (_name, radius, code, message) => {
    const error = failure(config(radius));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(exitStatusFor(error)).toBe(2);
  });

  it('check-config names the RadSec listener, its files and each tls client, never the key', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, config(`${TLS}\n${TLS_CLIENT}`));
    const result = await runCliCaptured(['check-config', '--config', file]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`radius tls: listen 0.0.0.0:2083, certificate ${join(dir, 'server.crt')}, client CA ${join(dir, 'ca.crt')}`);
    expect(result.stdout).toContain('proxy1: 192.0.2.20, over RadSec as proxy1.test, secret radsec (RFC 6614 default)');
    expect(result.stdout).not.toContain(certs.server.key.toString().split('\n')[1]!);
  });

  it('never prints the key in an error', () => {
    const error = failure(config(`${TLS.replace('server.crt', 'garbage.crt')}\n${TLS_CLIENT}`));
    expect(error.message).not.toContain(certs.server.key.toString().split('\n')[1]!);
  });
});
