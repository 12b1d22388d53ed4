// A `delete` list naming a type twice (as written, or in two cases) against a real pdns_server: each type is deleted once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpBackend } from '../../src/backends/http/backend.js';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { configWithBackend, parseConfigText } from '../helpers/config-text.js';
import { parsePrefix } from '../../src/net/address.js';
import { havePeers } from '../helpers/peers.js';
import { powerDnsBackendConfig, startPowerDns, type PowerDns } from '../helpers/pdns.js';

const ZONE = 'rbl.example.net';

describe.skipIf(!havePeers('pdns_server', 'pdnsutil', 'sqlite3'))('a PowerDNS delete list with a repeated type', () => {
  let pdns: PowerDns;
  beforeAll(async () => {
    pdns = await startPowerDns({ zones: [{ name: ZONE, records: [{ name: '2.0.0.10', type: 'A', content: '127.0.0.2' }, { name: '2.0.0.10', type: 'TXT', content: '"spam"' }] }] });
  });
  afterAll(async () => {
    await pdns?.stop();
  });

  it('unlists with delete: [A, TXT, a] as the dns-update backend does (it removes the repeat)', async () => {
    // check-config takes `delete: [A, TXT, a]`, and names each type once.
    const parsed = parseConfigText(configWithBackend(`type: http
    preset: powerdns
    url: ${pdns.apiUrl(ZONE)}
    delete: [A, TXT, a]`), '/etc/rbl-unlist/config.yaml').backends[0] as HttpBackendConfig;
    const deleteTypes = parsed.deleteTypes;
    expect(deleteTypes).toEqual(['A', 'TXT']);
    const backend = createHttpBackend(powerDnsBackendConfig(pdns, ZONE, { deleteTypes }));
    try {
      const error = await backend.unlist(ZONE, [parsePrefix('10.0.0.2')]).then(() => undefined, (e: unknown) => e);
      expect(error).toBeUndefined();
      expect(await pdns.query(`2.0.0.10.${ZONE}`, 'A')).toEqual([]);
      expect(await pdns.query(`2.0.0.10.${ZONE}`, 'TXT')).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});
