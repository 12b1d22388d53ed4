/**
 * TSIG keys: the BIND key file as `tsig-keygen` writes it, and the algorithms RFC 8945 §6 names.
 * Pure code: the caller reads the file.
 */
import { RblError } from '../../errors.js';

/** TSIG algorithms and the node:crypto HMAC digest each one uses. */
export const TSIG_ALGORITHMS = {
  'hmac-md5.sig-alg.reg.int': 'md5',
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
} as const;

export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export interface TsigKey {
  /** The key name, lower case, without the trailing dot. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Buffer;
}

/** Normalises an algorithm name as BIND accepts it ("hmac-md5" is the long RFC 8945 name). */
export function tsigAlgorithm(text: string, where: string): TsigAlgorithm {
  const name = text.toLowerCase().replace(/\.$/, '');
  const normalised = name === 'hmac-md5' ? 'hmac-md5.sig-alg.reg.int' : name;
  if (normalised in TSIG_ALGORITHMS) return normalised as TsigAlgorithm;
  // Quoted only when it cannot be a base64 secret pasted in the wrong place: every algorithm name
  // has a - or a dot, which base64 has not.
  const shown = /^[A-Za-z0-9.-]+$/.test(text) && /[.-]/.test(text) ? ` "${text}"` : '';
  throw new RblError(
    'RBL_TSIG_KEYFILE',
    `${where}: unknown TSIG algorithm${shown} (use hmac-sha256, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512 or hmac-md5)`,
  );
}

/** The key name, lower case without the trailing dot; throws when it is not a valid domain name. */
function keyName(name: string, where: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_*-]+(\.[a-z0-9_*-]+)*$/i.test(lower) || lower.length > 253) {
    // Not echoed: in a garbled file this may be anything, the secret included.
    throw new RblError('RBL_TSIG_KEYFILE', `${where}: the key name is not a valid domain name (letters, digits, -, _ and dots)`);
  }
  return lower;
}

/** Builds a key from its parts, checking the name, algorithm and base64 secret. */
export function tsigKey(name: string, algorithm: string, secretBase64: string, where: string): TsigKey {
  const checkedName = keyName(name, where);
  const cleaned = secretBase64.replace(/\s+/g, '');
  if (cleaned === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(cleaned) || cleaned.length % 4 !== 0) {
    throw new RblError('RBL_TSIG_KEYFILE', `${where}: the secret of key "${name}" is not base64`);
  }
  return Object.freeze({ name: checkedName, algorithm: tsigAlgorithm(algorithm, where), secret: Buffer.from(cleaned, 'base64') });
}

/** The text with every character but newlines turned into a space, so offsets and line numbers stay. */
function blank(text: string): string {
  return text.replace(/[^\n]/g, ' ');
}

/**
 * Parses a BIND key file: `key "name" { algorithm hmac-sha256; secret "base64"; };`, with
 * #, // and C comments. The file must hold exactly one key. Errors name the line at fault but
 * never quote the file: what is there may be (part of) the secret.
 */
export function parseTsigKeyFile(text: string, where: string): TsigKey {
  const source = text.replace(/\/\*[\s\S]*?\*\//g, blank).replace(/(^|\s)(#|\/\/)[^\n]*/g, blank);
  const keyPattern = /(?<![\w.-])key\s+("([^"]+)"|([^\s{]+))\s*\{([^}]*)\}\s*;/g;
  const keys = [...source.matchAll(keyPattern)];
  if (keys.length !== 1) {
    throw new RblError(
      'RBL_TSIG_KEYFILE',
      keys.length === 0
        ? `${where}: no key statement found; expected key "NAME" { algorithm ALG; secret "BASE64"; }; as tsig-keygen writes it`
        : `${where}: ${keys.length} keys found; put exactly one key in the file`,
    );
  }
  const match = keys[0]!;
  const name = match[2] ?? match[3] ?? '';
  // Checked before the messages below quote it: a secret pasted where the name goes is no name.
  keyName(name, where);
  const body = match[4] ?? '';
  const algorithm = /algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;/.exec(body)?.[1];
  const secret = /secret\s+"([^"]*)"\s*;/.exec(body)?.[1];
  if (!algorithm) throw new RblError('RBL_TSIG_KEYFILE', `${where}: key "${name}" has no algorithm statement`);
  if (secret === undefined) throw new RblError('RBL_TSIG_KEYFILE', `${where}: key "${name}" has no secret statement`);
  const outside = source.replace(keyPattern, blank).search(/\S/);
  if (outside !== -1) {
    const line = source.slice(0, outside).split('\n').length;
    throw new RblError('RBL_TSIG_KEYFILE', `${where}: line ${line}: unexpected text outside the key statement (not shown, it may be secret); the file must hold only the key statement tsig-keygen writes`);
  }
  return tsigKey(name, algorithm, secret, where);
}
