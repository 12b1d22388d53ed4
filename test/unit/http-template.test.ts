// URL and body templates, PowerDNS URLs and bodies, and response excerpts: pure code, tables of cases.
import { describe, expect, it } from 'vitest';
import { bodyExcerpt } from '../../src/backends/http/request.js';
import { MAX_NAMES_PER_PATCH, powerDnsPatchBodies, powerDnsZoneUrl, txtContent } from '../../src/backends/http/powerdns.js';
import { expandBody, expandUrl, isJsonContentType, probeUrl } from '../../src/backends/http/template.js';
import { parsePrefix } from '../../src/net/address.js';

const values = { address: '2001:db8::/48', name: '*.0.0.0.0.8.b.d.0.1.0.0.2.rbl.example.net', zone: 'rbl.example.net' };

describe('expandUrl', () => {
  it.each([
    ['https://api/v1/{zone}/entries/{name}', `https://api/v1/rbl.example.net/entries/*.0.0.0.0.8.b.d.0.1.0.0.2.rbl.example.net`],
    ['https://api/v1/delist?ip={address}', 'https://api/v1/delist?ip=2001%3Adb8%3A%3A%2F48'],
    ['https://api/{unknown}/{address}', 'https://api/{unknown}/2001%3Adb8%3A%3A%2F48'],
    ['https://api/fixed', 'https://api/fixed'],
  ])('expands %s', (template, expected) => {
    expect(expandUrl(template, values)).toBe(expected);
  });

  it('encodes characters that would change the URL structure', () => {
    expect(expandUrl('https://api/{name}', { ...values, name: 'a/b?c#d&e' })).toBe('https://api/a%2Fb%3Fc%23d%26e');
  });
});

describe('expandBody', () => {
  it.each([
    ['{"ip":"{address}","zone":"{zone}"}', true, '{"ip":"2001:db8::/48","zone":"rbl.example.net"}'],
    ['{"name":"{name}"}', true, `{"name":"${values.name}"}`],
    ['ip={address}', false, 'ip=2001:db8::/48'],
  ])('expands %s (json %s)', (template, json, expected) => {
    expect(expandBody(template, values, json)).toBe(expected);
  });

  it('escapes quotes and backslashes for a JSON body but not for a plain one', () => {
    const odd = { ...values, name: 'a"b\\c' };
    expect(expandBody('{"n":"{name}"}', odd, true)).toBe('{"n":"a\\"b\\\\c"}');
    expect(JSON.parse(expandBody('{"n":"{name}"}', odd, true))).toEqual({ n: 'a"b\\c' });
    expect(expandBody('n={name}', odd, false)).toBe('n=a"b\\c');
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    ['application/merge-patch+json', true],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
    ['application/jsonp', false],
  ])('%s is JSON: %s', (type, expected) => {
    expect(isJsonContentType(type)).toBe(expected);
  });
});

describe('probeUrl', () => {
  it.each([
    ['https://api/v1/zones/{zone}/entries/{name}', 'https://api/v1/zones/rbl.example.net/entries/'],
    ['https://api/v1/delist/{address}?zone={zone}', 'https://api/v1/delist/'],
    ['https://api/v1/entry-{name}', 'https://api/v1/'],
    ['https://api/v1/delist?ip={address}', 'https://api/v1/delist'],
    ['https://api/v1/zones/{zone}', 'https://api/v1/zones/rbl.example.net'],
  ])('probes %s with GET %s', (template, expected) => {
    expect(probeUrl(template, 'rbl.example.net')).toBe(expected);
  });
});

describe('powerDnsZoneUrl', () => {
  it.each([
    ['http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.', 'rbl.example.net', 'http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.'],
    ['http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.', 'other.example', 'http://127.0.0.1:8081/api/v1/servers/localhost/zones/other.example.'],
    ['http://127.0.0.1:8081/api/v1/servers/localhost/zones/', 'rbl.example.net', 'http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.'],
    ['http://127.0.0.1:8081/api/v1/servers/localhost/zones/{zone}', 'rbl.example.net', 'http://127.0.0.1:8081/api/v1/servers/localhost/zones/rbl.example.net.'],
  ])('turns %s into the URL of zone %s', (url, zone, expected) => {
    expect(powerDnsZoneUrl(url, zone)).toBe(expected);
  });
});

describe('powerDnsPatchBodies', () => {
  it('deletes each type at each owner name, with the trailing dot', () => {
    const bodies = powerDnsPatchBodies('rbl.example.net', [parsePrefix('10.0.0.2'), parsePrefix('2001:db8::/32')], ['A', 'TXT']);
    expect(bodies.map((body) => JSON.parse(body))).toEqual([
      {
        rrsets: [
          { name: '2.0.0.10.rbl.example.net.', type: 'A', changetype: 'DELETE' },
          { name: '2.0.0.10.rbl.example.net.', type: 'TXT', changetype: 'DELETE' },
          { name: '8.b.d.0.1.0.0.2.rbl.example.net.', type: 'A', changetype: 'DELETE' },
          { name: '8.b.d.0.1.0.0.2.rbl.example.net.', type: 'TXT', changetype: 'DELETE' },
          { name: '*.8.b.d.0.1.0.0.2.rbl.example.net.', type: 'A', changetype: 'DELETE' },
          { name: '*.8.b.d.0.1.0.0.2.rbl.example.net.', type: 'TXT', changetype: 'DELETE' },
        ],
      },
    ]);
  });

  it('sends a name given twice only once', () => {
    const bodies = powerDnsPatchBodies('rbl.example.net', [parsePrefix('10.0.0.2'), parsePrefix('10.0.0.2')], ['A']);
    expect(JSON.parse(bodies[0]!).rrsets).toHaveLength(1);
  });

  it.each([
    [0, 0],
    [1, 1],
    [MAX_NAMES_PER_PATCH, 1],
    [MAX_NAMES_PER_PATCH + 1, 2],
    [3 * MAX_NAMES_PER_PATCH, 3],
  ])('splits %i names into %i requests', (count, requests) => {
    const targets = Array.from({ length: count }, (_, i) => parsePrefix(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    const bodies = powerDnsPatchBodies('rbl.example.net', targets, ['A', 'TXT']);
    expect(bodies).toHaveLength(requests);
    for (const body of bodies) expect(JSON.parse(body).rrsets.length).toBeLessThanOrEqual(2 * MAX_NAMES_PER_PATCH);
  });
});

describe('txtContent', () => {
  it.each([
    ['"listed"', 'listed'],
    ['"spam from" " 10.0.0.2"', 'spam from 10.0.0.2'],
    ['"say \\"hi\\""', 'say "hi"'],
    ['"caf\\195\\169"', 'café'],
    ['"déjà vu"', 'déjà vu'],
    ['"mail 📧 abuse"', 'mail 📧 abuse'],
    ['bare', 'bare'],
    ['""', ''],
  ])('reads %s as %s', (presentation, expected) => {
    expect(txtContent(presentation)).toBe(expected);
  });
});

describe('bodyExcerpt', () => {
  it.each([
    ['Unauthorized', 'Unauthorized'],
    ['{"error": "Could not find domain \'x.\'"}', "Could not find domain 'x.'"],
    ['  line one\n\n  line two ', 'line one line two'],
    ['', ''],
    ['x'.repeat(500), `${'x'.repeat(200)}…`],
  ])('shortens %j to %j', (body, expected) => {
    expect(bodyExcerpt(Buffer.from(body))).toBe(expected);
  });
});

describe('bodyExcerpt with the credentials the request carried', () => {
  /** A base64 token: "/", "+" and "=" are where JSON and percent-encoding change it. */
  const TOKEN = 'AbC/dEf+GhI=';
  it.each([
    ['as sent', `invalid token ${TOKEN}`, 'invalid token REDACTED'],
    ['in PowerDNS\'s error field', JSON.stringify({ error: `invalid token ${TOKEN}` }), 'invalid token REDACTED'],
    ['in JSON with "/" escaped, as PHP writes it', JSON.stringify({ message: `invalid token ${TOKEN}` }).replace(/\//g, '\\/'), '{"message":"invalid token REDACTED"}'],
    ['in another JSON field, unescaped', JSON.stringify({ message: `invalid token ${TOKEN}` }), '{"message":"invalid token REDACTED"}'],
    ['percent-encoded', `<html>invalid token ${encodeURIComponent(TOKEN)}</html>`, '<html>invalid token REDACTED</html>'],
    ['percent-encoded in lower case', `bad key=${encodeURIComponent(TOKEN).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())}`, 'bad key=REDACTED'],
  ])('hides a token echoed %s', (_how, body, shown) => {
    expect(bodyExcerpt(Buffer.from(body), [TOKEN, `Bearer ${TOKEN}`])).toBe(shown);
  });

  it('hides a password with a space echoed as a form encodes it', () => {
    expect(bodyExcerpt(Buffer.from('user=alice&password=pa+ss+word'), ['pa ss word'])).toBe('user=alice&password=REDACTED');
  });
});
