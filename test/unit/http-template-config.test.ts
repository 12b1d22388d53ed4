/**
 * A generic HTTP backend's templates, method and headers are checked when the config is read: a
 * request must name its target ({address} or {name}), a {word} that is no placeholder is a typo,
 * and a method or header name Node would throw at on every request is refused at once.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { parsePrefix } from '../../src/net/address.js';
import { configRefusal, configWithBackend, parseConfigText } from '../helpers/config-text.js';
import { useRecordingServer } from '../helpers/http-server.js';

const CONFIG_PATH = join('/etc/rbl-unlist', 'config.yaml');
const http = useRecordingServer();

function backend(lines: string): string {
  return configWithBackend(`type: http
    zones: [rbl.example.net]
    ${lines}`);
}

describe('a generic http backend', () => {
  it.each([
    ['a url naming no target', 'url: "http://127.0.0.1:8080/v1/entries/{zone}"', 'backends.0: name the target with {address} or {name} in the url or the body'],
    ['a misspelt placeholder', 'url: "http://127.0.0.1:8080/v1/entries/{ip}"', 'backends.0: {ip} is not a placeholder: use {address}, {name} or {zone}'],
    ['a body whose placeholder is misspelt, naming no target', 'url: "http://127.0.0.1:8080/v1/delete"\n    method: POST\n    body: \'{"ip": "{adress}"}\'', 'backends.0: name the target with {address} or {name} in the url or the body'],
    ['a method of two words', 'url: "http://127.0.0.1:8080/v1/{name}"\n    method: "POST /v2"', 'backends.0.method: "POST /V2" is not an HTTP method'],
    ['a header name with a space', 'url: "http://127.0.0.1:8080/v1/{name}"\n    headers: {"X Key": "v"}', 'backends.0.headers: "X Key" is not a header name'],
    ['a header value with a line break', 'url: "http://127.0.0.1:8080/v1/{name}"\n    headers: {"X-Key": "v\\r\\nX-Evil: 1"}', 'backends.0.headers.X-Key: the value holds a line break or NUL'],
  ])('refuses %s as RBL_CONFIG_INVALID, naming the key', (_, lines, message) => {
    const error = configRefusal(backend(lines), CONFIG_PATH);
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(error.message).toContain(message);
  });

  it('takes a body with braces of its own (a GraphQL selection)', () => {
    const text = backend(`url: "http://127.0.0.1:8080/graphql"\n    method: POST\n    headers: {Content-Type: application/json}\n    body: '{"query": "mutation { unlist(ip: \\\\"{address}\\\\", zone: \\\\"{zone}\\\\") {ok} }"}'`);
    expect((parseConfigText(text, CONFIG_PATH).backends[0] as HttpBackendConfig).body).toContain('{ok}');
  });

  it('takes the target in the body alone, and sends one request per address', async () => {
    const text = backend(`url: "${http.server.origin}/v1/delete"\n    method: POST\n    headers: {Content-Type: application/json}\n    body: '{"ip": "{address}", "zone": "{zone}"}'`);
    const config = parseConfigText(text, CONFIG_PATH).backends[0] as HttpBackendConfig;
    await http.backend(config).unlist('rbl.example.net', [parsePrefix('10.64.0.5'), parsePrefix('10.64.0.6')]);
    expect(http.server.requests.map((request) => request.body)).toEqual(['{"ip": "10.64.0.5", "zone": "rbl.example.net"}', '{"ip": "10.64.0.6", "zone": "rbl.example.net"}']);
  });
});
