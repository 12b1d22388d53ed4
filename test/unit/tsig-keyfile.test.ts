/** BIND key files as tsig-keygen writes them, and the ways they go wrong. */
import { describe, expect, test } from 'vitest';
import { parseTsigKeyFile, tsigAlgorithm, tsigKey } from '../../src/backends/dns-update/keyfile.js';

/** Real tsig-keygen output, one per algorithm (tsig-keygen -a ALG k-ALG). */
const KEYGEN = {
  'hmac-md5': ['key "k-hmac-md5" {', '\talgorithm hmac-md5;', '\tsecret "y1slSjmQ4pmbq7Pv6daDwA==";', '};', ''].join('\n'),
  'hmac-sha1': ['key "k-hmac-sha1" {', '\talgorithm hmac-sha1;', '\tsecret "Jp1lmuIIOptJ5MKUms0kDWRejY8=";', '};', ''].join('\n'),
  'hmac-sha224': ['key "k-hmac-sha224" {', '\talgorithm hmac-sha224;', '\tsecret "JLFeTYVxsh54w875mcz4qZxTaptnG3XDZJVIRQ==";', '};', ''].join('\n'),
  'hmac-sha256': ['key "k-hmac-sha256" {', '\talgorithm hmac-sha256;', '\tsecret "bWBaLf/Ip3HbnF28ng1d+MzWdAc/Dnx5bwgfLUOTuSM=";', '};', ''].join('\n'),
  'hmac-sha384': ['key "k-hmac-sha384" {', '\talgorithm hmac-sha384;', '\tsecret "vGTYiufmAwQNLHgCN7qif+PxAUqPCQ3EJGW4Ps/EhiveDEw+uUM+OBk+aA+gfbyY";', '};', ''].join('\n'),
  'hmac-sha512': [
    'key "k-hmac-sha512" {',
    '\talgorithm hmac-sha512;',
    '\tsecret "dnsGGgY2IHo/0oaYt+XzUDtTcBMrgG0lDO9yfSzS2aV0AvaeOqvA0U4ECC2w7wpwA6k8U8ZxVDsZrYfDBT2JXg==";',
    '};',
    '',
  ].join('\n'),
};

/** What parseTsigKeyFile throws for this text, read as /etc/rbl-unlist/tsig.key. */
function keyFileError(text: string): unknown {
  try {
    parseTsigKeyFile(text, '/etc/rbl-unlist/tsig.key');
  } catch (caught) {
    return caught;
  }
  return undefined;
}

describe('parseTsigKeyFile', () => {
  test.each([
    ['hmac-md5', 'hmac-md5.sig-alg.reg.int', 16],
    ['hmac-sha1', 'hmac-sha1', 20],
    ['hmac-sha224', 'hmac-sha224', 28],
    ['hmac-sha256', 'hmac-sha256', 32],
    ['hmac-sha384', 'hmac-sha384', 48],
    ['hmac-sha512', 'hmac-sha512', 64],
  ] as const)('reads tsig-keygen -a %s output', (algorithm, expected, secretBytes) => {
    const key = parseTsigKeyFile(KEYGEN[algorithm], 'tsig.key');
    expect(key.name).toBe(`k-${algorithm}`);
    expect(key.algorithm).toBe(expected);
    expect(key.secret.length).toBe(secretBytes);
    expect(Object.isFrozen(key)).toBe(true);
  });

  test.each([
    ['#, // and C comments around the key', `# made by tsig-keygen\n// for rbl-unlist\n/* rotated\n yearly */\n${KEYGEN['hmac-sha256']}`, 'k-hmac-sha256'],
    ['a comment inside the key', 'key "a" {\n  algorithm hmac-sha256; # the default\n  secret "c2VjcmV0c2VjcmV0"; // 12 bytes\n};', 'a'],
    ['an unquoted key name with a trailing dot', 'key Unlist-Key. { algorithm HMAC-SHA256; secret "c2VjcmV0c2VjcmV0"; };', 'unlist-key'],
    ['a quoted algorithm and everything on one line', 'key "k" { algorithm "hmac-sha1"; secret "c2VjcmV0c2VjcmV0"; };', 'k'],
    ['a secret with // in its base64', 'key "k" {\n algorithm hmac-sha256;\n secret "ab//cd==";\n};', 'k'],
    ['a long-form hmac-md5 algorithm name', 'key "k" { algorithm hmac-md5.sig-alg.reg.int.; secret "c2VjcmV0c2VjcmV0"; };', 'k'],
  ])('accepts %s', (_case, text, name) => {
    expect(parseTsigKeyFile(text, 'tsig.key').name).toBe(name);
  });

  test.each([
    ['an empty file', '', /no key statement found/],
    ['garbage', 'this is not a key file', /no key statement found/],
    ['a key statement that is part of another word', 'monkey "k" { algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0"; };', /no key statement found/],
    ['a PEM file', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n', /no key statement found/],
    ['two keys', `${KEYGEN['hmac-sha1']}${KEYGEN['hmac-sha256']}`, /2 keys found; put exactly one key in the file/],
    ['a key without a secret', 'key "k" { algorithm hmac-sha256; };', /key "k" has no secret statement/],
    ['a key without an algorithm', 'key "k" { secret "c2VjcmV0c2VjcmV0"; };', /key "k" has no algorithm statement/],
    ['an empty secret', 'key "k" { algorithm hmac-sha256; secret ""; };', /the secret of key "k" is not base64/],
    ['a secret that is not base64', 'key "k" { algorithm hmac-sha256; secret "not*base64!"; };', /the secret of key "k" is not base64/],
    ['a secret with a bad length', 'key "k" { algorithm hmac-sha256; secret "abcde"; };', /not base64/],
    ['an unknown algorithm', 'key "k" { algorithm hmac-sha3; secret "c2VjcmV0c2VjcmV0"; };', /unknown TSIG algorithm "hmac-sha3"/],
    ['a bad key name', 'key "bad name!" { algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0"; };', /the key name is not a valid domain name/],
    ['a key missing its closing semicolon', 'key "k" { algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0"; }', /no key statement found/],
    ['text after the key', `${KEYGEN['hmac-sha256']}options { };`, /line 5: unexpected text outside the key statement/],
  ])('rejects %s with RBL_TSIG_KEYFILE naming the file', (_case, text, message) => {
    const error = keyFileError(text);
    expect(error).toMatchObject({ code: 'RBL_TSIG_KEYFILE' });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^\/etc\/rbl-unlist\/tsig\.key: /);
  });
});

describe('a broken key file is never quoted (its content may be the secret)', () => {
  const SECRET = 'bWBaLf/Ip3HbnF28ng1d+MzWdAc/Dnx5bwgfLUOTuSM=';
  test.each([
    ['the secret pasted again after the key', `${KEYGEN['hmac-sha256']}secret "${SECRET}";\n`, /line 5: unexpected text/],
    ['the secret alone before the key', `${SECRET}\n${KEYGEN['hmac-sha256']}`, /line 1: unexpected text/],
    ['the secret where the key name goes', `key "${SECRET}" { algorithm hmac-sha256; secret "${SECRET}"; };`, /the key name is not a valid domain name/],
    ['the secret unquoted where the name goes', `key ${SECRET} { algorithm hmac-sha256; secret "${SECRET}"; };`, /the key name is not a valid domain name/],
    ['a bare secret', SECRET, /no key statement found/],
    // The name was quoted in these two messages before it was checked: the secret pasted where the
    // name goes, in a file whose secret or algorithm line is missing, came out in the error.
    ['the secret where the key name goes, and no secret statement', `key "${SECRET}" { algorithm hmac-sha256; };`, /the key name is not a valid domain name/],
    ['the secret where the key name goes, and no algorithm statement', `key "${SECRET}" { secret "${SECRET}"; };`, /the key name is not a valid domain name/],
  ])('%s', (_case, text, message) => {
    const error = keyFileError(text);
    expect(error).toMatchObject({ code: 'RBL_TSIG_KEYFILE' });
    expect((error as Error).message).toMatch(message);
    for (const piece of [SECRET, SECRET.slice(0, 12), SECRET.slice(20, 32)]) expect((error as Error).message).not.toContain(piece);
  });
});

describe('a secret where the algorithm goes is never quoted', () => {
  // A secret without +, / or = (a 48-byte one is 64 base64 characters, no padding) reads as a name.
  const PLAIN = 'vGTYiufmAwQNLHgCN7qifxPxAUqPCQ3EJGW4PsxEhiveDEwpuUMxOBkaAxgfbyYq';
  test.each([
    ['in a key file', () => parseTsigKeyFile(`key "k" { algorithm ${PLAIN}; secret "${PLAIN}"; };`, 'tsig.key')],
    ['in the config (algorithm and secret both given the secret)', () => tsigKey('k', PLAIN, PLAIN, 'config')],
  ])('%s', (_case, build) => {
    expect(build).toThrow(expect.objectContaining({ code: 'RBL_TSIG_KEYFILE', message: expect.stringMatching(/unknown TSIG algorithm/) }));
    expect(build).toThrow(expect.objectContaining({ message: expect.not.stringContaining(PLAIN.slice(0, 12)) }));
  });
});

describe('tsigKey and tsigAlgorithm', () => {
  test('builds a key from inline parts, lower-casing the name', () => {
    expect(tsigKey('Unlist-Key.', 'hmac-sha512', 'c2VjcmV0c2VjcmV0', 'config')).toEqual({ name: 'unlist-key', algorithm: 'hmac-sha512', secret: Buffer.from('secretsecret') });
  });

  test.each([
    ['HMAC-SHA256', 'hmac-sha256'],
    ['hmac-md5', 'hmac-md5.sig-alg.reg.int'],
    ['hmac-sha224.', 'hmac-sha224'],
  ])('reads algorithm %s as %s', (text, expected) => {
    expect(tsigAlgorithm(text, 'x')).toBe(expected);
  });

  test.each(['gss-tsig', 'hmac-sha3-256', ''])('rejects algorithm %j', (text) => {
    expect(() => tsigAlgorithm(text, 'x')).toThrow(expect.objectContaining({ code: 'RBL_TSIG_KEYFILE' }));
  });
});
