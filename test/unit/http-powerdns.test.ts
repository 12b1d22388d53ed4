// The PowerDNS preset's requests and answers, against a recording server standing in for the API
// (the real pdns_server is in test/integration/powerdns.test.ts).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { parsePrefix } from '../../src/net/address.js';
import { useRecordingServer } from '../helpers/http-server.js';

const http = useRecordingServer();
const ZONE_PATH = '/api/v1/servers/localhost/zones/rbl.example.net.';

function powerDns(overrides: Partial<HttpBackendConfig> = {}): Backend {
  return http.backend({ name: 'pdns', preset: 'powerdns', url: `${http.server.origin}${ZONE_PATH}`, method: 'PATCH', apiKey: 'pdns-key', successStatus: [204], ...overrides });
}

describe('PowerDNS preset', () => {
  it('sends one PATCH with X-API-Key and a JSON list of RRset deletions', async () => {
    await powerDns().unlist('rbl.example.net', [parsePrefix('10.0.0.2'), parsePrefix('10.0.0.3')]);
    expect(http.server.requests).toHaveLength(1);
    const request = http.server.requests[0]!;
    expect(request).toMatchObject({ method: 'PATCH', url: ZONE_PATH });
    expect(request.headers['x-api-key']).toBe('pdns-key');
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      rrsets: [
        { name: '2.0.0.10.rbl.example.net.', type: 'A', changetype: 'DELETE' },
        { name: '2.0.0.10.rbl.example.net.', type: 'TXT', changetype: 'DELETE' },
        { name: '3.0.0.10.rbl.example.net.', type: 'A', changetype: 'DELETE' },
        { name: '3.0.0.10.rbl.example.net.', type: 'TXT', changetype: 'DELETE' },
      ],
    });
  });

  it('addresses a second zone by replacing the zone at the end of the URL', async () => {
    await powerDns({ zones: ['rbl.example.net', 'other.example'] }).unlist('other.example', [parsePrefix('10.0.0.2')]);
    expect(http.server.requests[0]!.url).toBe('/api/v1/servers/localhost/zones/other.example.');
  });

  it('probes with GET ?rrsets=false', async () => {
    http.server.respondWith(() => ({ status: 200, body: '{}' }));
    await powerDns().probe('rbl.example.net');
    expect(http.server.requests[0]).toMatchObject({ method: 'GET', url: `${ZONE_PATH}?rrsets=false` });
  });

  it('checks with GET ?rrset_name= and matches the name itself when the server sends the whole zone', async () => {
    const wholeZone = {
      rrsets: [
        { name: 'rbl.example.net.', type: 'SOA', records: [{ content: 'ns1. h. 1 2 3 4 5', disabled: false }] },
        { name: '2.0.0.10.rbl.example.net.', type: 'A', records: [{ content: '127.0.0.2', disabled: false }] },
        { name: '2.0.0.10.RBL.example.net.', type: 'TXT', records: [{ content: '"spam" " run"', disabled: false }] },
        { name: '2.0.0.10.rbl.example.net.', type: 'A', records: [{ content: '127.0.0.9', disabled: true }] },
        { name: '3.0.0.10.rbl.example.net.', type: 'A', records: [{ content: '127.0.0.3', disabled: false }] },
      ],
    };
    http.server.respondWith(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(wholeZone) }));
    const listing = await powerDns().check('rbl.example.net', parsePrefix('10.0.0.2'));
    expect(http.server.requests[0]!.url).toBe(`${ZONE_PATH}?rrset_name=2.0.0.10.rbl.example.net.`);
    expect(listing).toEqual({ zone: 'rbl.example.net', listed: true, names: [{ name: '2.0.0.10.rbl.example.net', a: ['127.0.0.2'], txt: ['spam run'] }] });
  });

  it('says so when a check answer is not JSON', async () => {
    http.server.respondWith(() => ({ status: 200, body: '<html>login</html>' }));
    await expect(powerDns().check('rbl.example.net', parsePrefix('10.0.0.2'))).rejects.toThrow(/not JSON; is url a PowerDNS zone URL/);
  });

  it.each([
    [422, '{"error": "RRset 2.0.0.10.rbl.example.net. IN A: Name is out of zone"}', 'RBL_HTTP_STATUS', false, /422.*Name is out of zone/],
    [500, '{"error": "database is locked"}', 'RBL_HTTP_STATUS', true, /500.*database is locked.*expected 204$/],
    [404, 'Not Found', 'RBL_HTTP_NOT_FOUND', false, /pdns: zone rbl\.example\.net not found at 127\.0\.0\.1:\d+ \(PATCH .*404 Not Found "Not Found"\): check url/],
    [401, 'Unauthorized', 'RBL_HTTP_AUTH', true, /pdns: API key rejected by 127\.0\.0\.1:\d+ .*: check api_key_file/],
    [403, 'Forbidden', 'RBL_HTTP_AUTH', false, /pdns: API key rejected by 127\.0\.0\.1:\d+ .*403.*: check api_key_file/, true],
  ])('maps a PATCH answered %i %s to its error', async (status, body, code, transient, message, refusal = false) => {
    http.server.respondWith(() => ({ status, body }));
    const error = (await powerDns().unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code, transient, refusal });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('pdns-key');
  });

  it('describes the PATCH without the API key', () => {
    const text = powerDns().describe('rbl.example.net', [parsePrefix('10.0.0.2')]);
    expect(text).toBe(
      `PATCH ${http.server.origin}${ZONE_PATH}\n` +
        '{"rrsets":[{"name":"2.0.0.10.rbl.example.net.","type":"A","changetype":"DELETE"},{"name":"2.0.0.10.rbl.example.net.","type":"TXT","changetype":"DELETE"}]}',
    );
  });

  it('refuses delete: [ANY] at construction, since the API has no such change', () => {
    expect(() => powerDns({ deleteTypes: ['ANY'] })).toThrow(/delete: \[ANY\] cannot be expressed in the PowerDNS API/);
  });
});
