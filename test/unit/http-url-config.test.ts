/**
 * An HTTP backend's url is taken only written so that every tool reads it alike (RFC 3986): it
 * starts with http:// or https://, holds no white space and no #fragment, and its user name and
 * password are percent-encoded. Node's URL takes more (a second @ or a space in a password), but
 * curl refuses such a URL. Each refusal names the key, says what to write, and never shows the
 * password; a percent-encoded password reaches the API decoded and is shown REDACTED.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { httpSummary, type HttpBackendConfig } from '../../src/backends/http/config.js';
import { exitStatusFor, type RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import { configRefusal, configWithBackend, parseConfigText } from '../helpers/config-text.js';
import { useRecordingServer } from '../helpers/http-server.js';

/** Every secret below contains this, so one search finds any of them. */
const MARK = 'S3CRET';

/** A config with one http backend whose url is `url` (a JSON string is a YAML string, escapes and all). */
function configWithUrl(url: string): string {
  return configWithBackend(`type: http
    url: ${JSON.stringify(url)}
    zones: [rbl.example.net]
    timeout: 1s`);
}

const CONFIG_PATH = join('/etc/rbl-unlist', 'config.yaml');
const parse = (url: string) => parseConfigText(configWithUrl(url), CONFIG_PATH);
const refusal = (url: string): RblError => configRefusal(configWithUrl(url), CONFIG_PATH);

const ENCODE = 'the user name and password must be percent-encoded';

describe('an http backend url', () => {
  it.each([
    ['a raw @ in the password', `http://alice:p@ss-${MARK}@127.0.0.1/{name}`, ENCODE],
    ['a raw @ in a token', `https://tok@${MARK}@127.0.0.1/{name}`, ENCODE],
    ['a space in the password', `http://alice:pa ss-${MARK}@127.0.0.1/{name}`, ENCODE],
    ['a quote in the password', `http://alice:pa"ss-${MARK}@127.0.0.1/{name}`, ENCODE],
    ['a tab in the password, which Node would drop', `http://alice:pa\tss-${MARK}@127.0.0.1/{name}`, ENCODE],
    ['a % that starts no escape', `http://alice:100%-${MARK}@127.0.0.1/{name}`, ENCODE],
    ['an escape that is no UTF-8', `http://alice:%FF-${MARK}@127.0.0.1/{name}`, ENCODE],
    ['a space in a token parameter', `http://127.0.0.1/{name}?token=a ${MARK}`, 'white space or a control character'],
    ['a line feed after the host', `http://127.0.0.1/{name}?token=${MARK}\n`, 'white space or a control character'],
    ['a # in a token parameter, which would end it', `http://127.0.0.1/{name}?token=a#${MARK}`, 'a #fragment is never sent'],
    ['no // after http:', `http:alice:${MARK}@127.0.0.1/{name}`, 'write it as http://HOST/PATH or https://HOST/PATH'],
    ['a third / after http:', `http:///alice:${MARK}@127.0.0.1/{name}`, 'write it as http://HOST/PATH or https://HOST/PATH'],
    ['another scheme', `ftp://alice:${MARK}@127.0.0.1/{name}`, 'write it as http://HOST/PATH or https://HOST/PATH'],
    ['a / in the password, which leaves no URL', `http://alice:pa/ss-${MARK}@127.0.0.1/{name}`, 'not a URL'],
    ['a port out of range', `http://alice:${MARK}@127.0.0.1:99999/{name}`, 'not a URL'],
  ])('with %s is refused, saying what to write and not showing the secret', (_what, url, words) => {
    const error = refusal(url);
    expect(error.code).toBe('RBL_CONFIG_INVALID');
    expect(exitStatusFor(error)).toBe(2);
    expect(error.message).toContain('backends.0.url: ');
    expect(error.message).toContain(words);
    expect(error.message).not.toContain(MARK);
  });

  it('tells how to percent-encode a password', () => {
    expect(refusal(`http://alice:p@ss-${MARK}@127.0.0.1/{name}`).message).toMatch(/write @ as %40, % as %25 and a space as %20/);
  });

  it.each([
    ['a password with every character RFC 3986 allows raw in it', `http://alice:aZ09-._~!$&'()*+,;=:${MARK}@127.0.0.1/{name}`],
    ['a percent-encoded password', `http://alice:p%40ss%20${MARK}@127.0.0.1/{name}`],
    ['an @ in the path and the query', `http://127.0.0.1/@me/{name}?owner=a@b.example`],
    ['an upper-case scheme and placeholders', 'HTTPS://127.0.0.1/zones/{zone}/entries/{name}?ip={address}'],
  ])('with %s is taken', (_what, url) => {
    const config = parse(url);
    expect(config.backends[0]!.type === 'http' && config.backends[0]!.url).toBe(url);
  });
});

describe('a percent-encoded password in an http backend url', () => {
  const http = useRecordingServer();

  it('reaches the API decoded, and is shown REDACTED by check-config, --dry-run and the error', async () => {
    const url = `${http.server.origin.replace('http://', `http://alice:p%40ss%20${MARK}@`)}/v1/{name}`;
    const config = parse(url).backends[0] as HttpBackendConfig;
    const backend = http.backend(config);
    http.server.respondWith(() => ({ status: 500, body: 'down' }));
    const error = await backend.unlist('rbl.example.net', [parsePrefix('10.64.0.2')]).catch((caught: unknown) => caught as RblError);
    const basic = Buffer.from(String(http.server.requests[0]!.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
    expect(basic).toBe(`alice:p@ss ${MARK}`);
    expect(error).toMatchObject({ code: 'RBL_HTTP_STATUS' });

    const summary = httpSummary(config);
    expect(summary.how).toBe(`HTTP DELETE ${http.server.origin.replace('http://', 'http://alice:REDACTED@')}/v1/{name}`);
    const shown = [summary.how, JSON.stringify(summary.fields), backend.describe('rbl.example.net', [parsePrefix('10.64.0.2')]), (error as Error).message];
    expect(shown.filter((text) => text.includes(MARK))).toEqual([]);
  });
});
