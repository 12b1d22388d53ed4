/** Redaction of credentials in URLs and in free text: the one function every printed URL goes through. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactUrl, redactUrlsIn } from '../../src/redact.js';

describe('redactUrl', () => {
  it.each([
    ['a password in userinfo', 'https://alice:pw-S3CRET@api.example/v1/x', `https://alice:${REDACTED}@api.example/v1/x`],
    ['a token as the whole userinfo', 'https://tok-S3CRET@api.example/v1/x', `https://${REDACTED}@api.example/v1/x`],
    ['an empty password', 'https://alice:@api.example/', `https://alice:${REDACTED}@api.example/`],
    ['an api_key parameter', 'http://h/x?api_key=S3CRET&a=1', `http://h/x?api_key=${REDACTED}&a=1`],
    ['a token parameter after others', 'http://h/x?a=1&token=S3CRET', `http://h/x?a=1&token=${REDACTED}`],
    ['every credential-like name, in any case', 'http://h/?apikey=1&Access_Token=2&X-Amz-Signature=3&sig=4&password=5&auth=6&client_secret=7&sessionid=8&pwd=9',
      `http://h/?apikey=${REDACTED}&Access_Token=${REDACTED}&X-Amz-Signature=${REDACTED}&sig=${REDACTED}&password=${REDACTED}&auth=${REDACTED}&client_secret=${REDACTED}&sessionid=${REDACTED}&pwd=${REDACTED}`],
    ['a percent-encoded parameter name', 'http://h/?api%5Fkey=S3CRET', `http://h/?api%5Fkey=${REDACTED}`],
    ['parameters separated by ;', 'http://h/?a=1;token=S3CRET', `http://h/?a=1;token=${REDACTED}`],
    ['both at once, with a fragment kept', 'https://u:p@h:8443/p?key=S3CRET#frag', `https://u:${REDACTED}@h:8443/p?key=${REDACTED}#frag`],
  ])('redacts %s', (_case, url, expected) => {
    expect(redactUrl(url)).toBe(expected);
    expect(redactUrl(url)).not.toMatch(/S3CRET|pw-/);
  });

  it.each([
    ['a URL without credentials', 'https://api.example/v1/x?a=1&zone=rbl.test'],
    ['template placeholders', 'http://127.0.0.1:8080/zones/{zone}/entries/{name}?ip={address}'],
    ['an @ in the path, which is not userinfo', 'http://h/users/@me'],
    ['text that is not a URL', 'not a url'],
  ])('leaves %s as it is', (_case, url) => {
    expect(redactUrl(url)).toBe(url);
  });

  it('is idempotent', () => {
    const once = redactUrl('https://u:p@h/?token=t');
    expect(redactUrl(once)).toBe(once);
  });
});

describe('redactUrlsIn', () => {
  it('redacts every URL of a message and nothing else', () => {
    const text = 'http 127.0.0.1: unexpected status (DELETE http://u:pw-S3CRET@127.0.0.1:8080/x?api_key=S3CRET&a=1: 500 "token=abc"), then https://t-S3CRET@h/';
    expect(redactUrlsIn(text)).toBe(
      `http 127.0.0.1: unexpected status (DELETE http://u:${REDACTED}@127.0.0.1:8080/x?api_key=${REDACTED}&a=1: 500 "token=abc"), then https://${REDACTED}@h/`,
    );
  });

  it('returns text without URLs unchanged', () => {
    expect(redactUrlsIn('TSIG key `k` rejected by 127.0.0.1:53 (BADSIG)')).toBe('TSIG key `k` rejected by 127.0.0.1:53 (BADSIG)');
  });
});
