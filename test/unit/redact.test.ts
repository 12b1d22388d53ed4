/** Redaction of credentials in URLs, in free text and in printed request bodies: the functions every printed URL and body goes through. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactBody, redactSecretsIn, redactUrl, redactUrlsIn, urlCredentials } from '../../src/redact.js';

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
    // Node's URL reads the userinfo up to the last @ before the host, and sends all of it.
    ['a password holding a raw @', 'http://alice:p@ss-S3CRET@api.example/v1/{name}', `http://alice:${REDACTED}@api.example/v1/{name}`],
    ['a token holding a raw @', 'https://tok@S3CRET@api.example/', `https://${REDACTED}@api.example/`],
    ['a password holding a space', 'http://alice:pa ss-S3CRET@api.example/v1/{name}', `http://alice:${REDACTED}@api.example/v1/{name}`],
    ['a password holding a tab, which Node drops', 'http://alice:pa\tss-S3CRET@api.example/', `http://alice:${REDACTED}@api.example/`],
    ['a password holding quotes and brackets', 'http://alice:it\'s"<S3CRET>`@api.example/', `http://alice:${REDACTED}@api.example/`],
    // URLSearchParams, and so the API, reads a ; as part of the value.
    ['a secret parameter whose value holds a ;', 'http://h/x?token=a;tail-S3CRET&b=1', `http://h/x?token=${REDACTED}&b=1`],
  ])('redacts %s', (_case, url, expected) => {
    expect(redactUrl(url)).toBe(expected);
    expect(redactUrl(url)).not.toMatch(/S3CRET|pw-/);
  });

  it.each([
    ['a URL without credentials', 'https://api.example/v1/x?a=1&zone=rbl.test'],
    ['template placeholders', 'http://127.0.0.1:8080/zones/{zone}/entries/{name}?ip={address}'],
    ['an @ in the path, which is not userinfo', 'http://h/users/@me'],
    ['an @ in the query, which is not userinfo', 'http://h/x?owner=a@b.example'],
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

  it('redacts a password holding a raw @ or a space, as 0.2 and 0.3 journaled it in a dead letter', () => {
    // 0.2 cut the userinfo at its first @ and at white space.
    for (const message of ['api: DELETE http://alice:REDACTED@ss-S3CRET@127.0.0.1:8080/x: 500 "down"', 'api: DELETE http://alice:pa ss-S3CRET@127.0.0.1:8080/x: 500 "down"']) {
      expect(redactUrlsIn(message)).toBe(`api: DELETE http://alice:${REDACTED}@127.0.0.1:8080/x: 500 "down"`);
    }
  });

  it('redacts a token up to the & that ends it, across a ;', () => {
    expect(redactUrlsIn('api: GET http://h/x?a=1;token=S3CRET;tail-S3CRET&view=all: 403')).toBe(`api: GET http://h/x?a=1;token=${REDACTED}&view=all: 403`);
  });

  it('returns text without URLs unchanged', () => {
    expect(redactUrlsIn('TSIG key `k` rejected by 127.0.0.1:53 (BADSIG)')).toBe('TSIG key `k` rejected by 127.0.0.1:53 (BADSIG)');
  });
});

describe('whatever Node\'s URL takes as a password, a token or a secret parameter', () => {
  // Every printable ASCII character, a tab, a line feed and a letter beyond ASCII, inside the secret.
  const CHARACTERS = [...Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index)), '\t', '\n', 'é'];

  function nodeReads(url: string): URL | undefined {
    try {
      return new URL(url);
    } catch {
      return undefined;
    }
  }

  it('never shows the secret, neither in the URL nor in a message that holds it', () => {
    const refused: string[] = [];
    for (const character of CHARACTERS) {
      for (const url of [`http://alice:pw${character}S3CRET@api.example/v1/x`, `https://tok${character}S3CRET@api.example/`]) {
        const read = nodeReads(url);
        if (read?.host !== 'api.example') {
          refused.push(character);
          continue;
        }
        expect(`${read.username}:${read.password}`).toContain('S3CRET');
        expect(redactUrl(url), url).not.toContain('S3CRET');
        const message = redactUrlsIn(`api: DELETE ${url}: 500 "down"`);
        expect(message, url).not.toContain('S3CRET');
        // A dead letter journaled redacted is not counted as one that held a credential when read again.
        expect(redactUrlsIn(message)).toBe(message);
      }
    }
    // Only these end the host part before the secret: the URL is not one (http:// takes \\ as /).
    expect([...new Set(refused)].sort()).toEqual(['#', '/', '?', '\\']);
  });

  it('never shows a secret parameter\'s value as the API reads it', () => {
    for (const character of CHARACTERS) {
      const url = `http://api.example/v1/x?token=a${character}S3CRET&view=all`;
      if (!nodeReads(url)?.searchParams.get('token')?.includes('S3CRET')) continue;
      expect(redactUrl(url), url).toBe(`http://api.example/v1/x?token=${REDACTED}&view=all`);
      // In free text a URL ends at white space: the config refuses white space in a url (http-url-config.test.ts).
      if (/\s/.test(character)) continue;
      expect(redactUrlsIn(`api: DELETE ${url}: 500 "down"`), url).not.toContain('S3CRET');
    }
  });
});

describe('urlCredentials', () => {
  it.each([
    ['a password, raw and decoded', 'https://alice:p%40ss@api.example/x', ['p%40ss', 'p@ss']],
    ['a userinfo without a password, whole', 'https://TOKEN-1@api.example/x', ['TOKEN-1']],
    ['secret query values, not the others', 'https://api.example/x?ip=1&api_key=k1&sig=s%2B1', ['k1', 's%2B1', 's+1']],
    ['a secret value after a ; in another value, as redactUrl finds it', 'https://api.example/x?ip=1;token=t0k3n&a=b', ['t0k3n']],
    ['nothing in a URL without credentials', 'https://api.example/x?ip=10.0.0.1', []],
    ['nothing in text that is not a URL', 'not a url', []],
  ])('finds %s', (_case, url, found) => {
    expect([...new Set(urlCredentials(url))].sort()).toEqual([...found].sort());
  });
});

describe('redactSecretsIn', () => {
  it('replaces each secret wherever it is, the longest first, and leaves ones under 4 characters', () => {
    expect(redactSecretsIn('key abcd-1234 and abcd and ok', ['abcd', 'abcd-1234', 'ok'])).toBe(`key ${REDACTED} and ${REDACTED} and ok`);
  });
});

describe('redactBody', () => {
  it.each([
    ['a JSON string', '{"ip":"{address}","api_key":"lit-secret-1"}', '{"ip":"{address}","api_key":"REDACTED"}'],
    ['a JSON number or word, with spaces', '{ "zone": "{zone}", "Password" : 12345678, "token": null }', '{ "zone": "{zone}", "Password" : REDACTED, "token": REDACTED }'],
    ['a member inside an object, the object itself judged by its members', '{"auth":{"user":"ops","secret":"s3cr\\"et"},"ip":"{address}"}', '{"auth":{"user":"ops","secret":"REDACTED"},"ip":"{address}"}'],
    ['members in an array', '[{"access_token":"t-1"},{"name":"{name}"}]', '[{"access_token":"REDACTED"},{"name":"{name}"}]'],
    ['a form', 'ip={address}&apikey=lit-secret-2&zone={zone}', 'ip={address}&apikey=REDACTED&zone={zone}'],
    ['a form whose first field is the secret', 'token=abc;def&ip={address}', 'token=REDACTED&ip={address}'],
    [
      'a SOAP element, judged without its namespace prefix',
      '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><api:Remove xmlns:api="urn:rbl"><api:ApiKey>lit-secret-3</api:ApiKey><api:Ip>{address}</api:Ip></api:Remove></soap:Body></soap:Envelope>',
      '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><api:Remove xmlns:api="urn:rbl"><api:ApiKey>REDACTED</api:ApiKey><api:Ip>{address}</api:Ip></api:Remove></soap:Body></soap:Envelope>',
    ],
    ['an XML element with attributes and a CDATA section', '<r><password type="plain"><![CDATA[p<a>ss]]></password><name>{name}</name></r>', '<r><password type="plain">REDACTED</password><name>{name}</name></r>'],
    ['XML attributes, quoted either way', `<remove token="t-9" ip='{address}' Signature = 'c2ln'/>`, `<remove token="REDACTED" ip='{address}' Signature = 'REDACTED'/>`],
    ['an element inside an element, the outer one judged by its elements', '<auth>\n  <user>ops</user>\n  <secret>s-4</secret>\n</auth>', '<auth>\n  <user>ops</user>\n  <secret>REDACTED</secret>\n</auth>'],
  ])('hides the value of a secret-named field in %s', (_, body, shown) => {
    expect(redactBody(body)).toBe(shown);
  });

  it.each([
    ['JSON without credentials', '{"ip":"{address}","reason":"customer left","keep":true}'],
    ['a form without credentials', 'ip={address}&zone={zone}'],
    ['plain text', 'DELETE {name}'],
    ['XML in a namespace whose prefix reads auth', '<auth:remove xmlns:auth="urn:auth"><auth:ip>{address}</auth:ip><reason kind="left"/></auth:remove>'],
    ['an empty secret-named XML element', '<r><token></token><token/><ip>{address}</ip></r>'],
  ])('leaves %s as it is', (_, body) => {
    expect(redactBody(body)).toBe(body);
  });

  it.each([['JSON', '{"api_key":"x-1","ip":"{address}"}'], ['XML', '<r key="k-1"><pwd>p-1</pwd><ip>{address}</ip></r>']])('is idempotent on %s', (_, body) => {
    const once = redactBody(body);
    expect(once).not.toBe(body);
    expect(redactBody(once)).toBe(once);
  });
});
