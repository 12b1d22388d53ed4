/**
 * A dns-update server written in any form of its IPv6 address, against a real BIND on ::1: the
 * SOA probe and a small UPDATE, both over UDP, get their answers taken. The kernel reports an
 * answer's source as ::1 (or ::ffff:127.0.0.1) whatever the config says.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDnsUpdateBackend } from '../../src/backends/dns-update/backend.js';
import { BACKENDS } from '../../src/backends/index.js';
import { parseConfig } from '../../src/config/load.js';
import { parsePrefix } from '../../src/net/address.js';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingsOf } from '../helpers/dnsbl.js';
import { havePeers } from '../helpers/peers.js';

const ZONE = 'rbl.test';

/** Each written form of the server's address, with the address its test unlists. */
const FORMS = [
  ['[0:0:0:0:0:0:0:1]', '10.64.0.1'],
  ['[::0:1]', '10.64.0.2'],
  ['[0::1]', '10.64.0.3'],
  ['[::1]', '10.64.0.4'],
  // BIND on 127.0.0.1, reached from a udp6 socket: the answer comes from ::ffff:127.0.0.1.
  ['[::ffff:7f00:1]', '10.64.0.5'],
] as const;

describe.skipIf(!havePeers('named', 'tsig-keygen', 'nsupdate', 'dig'))('DNS UPDATE to BIND at an IPv6 address written in any form', () => {
  let bind: BindServer;

  beforeAll(async () => {
    bind = await startBind({ ipv6: true, zones: [{ name: ZONE, records: listingsOf(FORMS.map(([, address]) => address), ZONE) }] });
  });

  afterAll(async () => {
    await bind?.close();
  });

  /** The backend the config loader makes of `server: "<host>:<port>"`, as an operator writes it. */
  function backendAt(host: string) {
    const text = [
      'radius: { clients: [{ name: ras1, address: 192.0.2.10/32, secret: s3cret }] }',
      'pools: [10.64.0.0/16]',
      'backends:',
      `  - { type: dns-update, server: "${host}:${bind.port}", zones: [${ZONE}], tsig_key_file: ${bind.keyFile}, timeout: 2s }`,
      '',
    ].join('\n');
    const config = parseConfig(text, '/etc/rbl-unlist/config.yaml', BACKENDS).backends[0]!;
    if (config.type !== 'dns-update') throw new Error(`a ${config.type} backend`);
    return createDnsUpdateBackend(config);
  }

  test.each(FORMS)('a server written as %s answers the SOA probe and a small UPDATE removes %s', async (host, address) => {
    const backend = backendAt(host);
    try {
      await backend.probe(ZONE);
      expect(bind.query(dnsblName(address, ZONE), 'A')).toEqual(['127.0.0.2']);
      await backend.unlist(ZONE, [parsePrefix(address)]);
      expect(bind.query(dnsblName(address, ZONE), 'A')).toEqual([]);
      expect(bind.query(dnsblName(address, ZONE), 'TXT')).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});
