/**
 * FreeRADIUS-format dictionaries: the `radius` package's RFC set, the project's `dictionaries/`
 * folder and the files or folders in radius.dictionaries. They name attributes and tell how each
 * vendor lays out its sub-attributes (VENDOR ... format=t,l). Decoding the accounting attributes
 * does not depend on them; they serve describeAttributes() for logs and vendor attributes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RblError } from '../errors.js';

/** One ATTRIBUTE line: `code` is the number as written ("8", or "241.1" for an extended one). */
export interface DictionaryAttribute {
  readonly name: string;
  readonly vendor: number;
  readonly code: string;
  readonly type: string;
  readonly flags: readonly string[];
}

/** How a vendor's sub-attributes are laid out inside Vendor-Specific (RFC 2865 §5.26, FreeRADIUS format=t,l[,c]). */
export interface VendorFormat {
  readonly typeOctets: 1 | 2 | 4;
  readonly lengthOctets: 0 | 1 | 2;
  /** WiMAX-style continuation octet after the length. */
  readonly continuation: boolean;
}

export interface DictionaryVendor {
  readonly name: string;
  readonly id: number;
  readonly format: VendorFormat;
}

const DEFAULT_FORMAT: VendorFormat = { typeOctets: 1, lengthOctets: 1, continuation: false };

/** The attributes, values and vendors read from a set of dictionary files. */
export class Dictionary {
  private readonly attributes = new Map<string, DictionaryAttribute>();
  private readonly attributesByName = new Map<string, DictionaryAttribute>();
  private readonly values = new Map<string, Map<number, string>>();
  private readonly vendors = new Map<number, DictionaryVendor>();
  private readonly vendorsByName = new Map<string, DictionaryVendor>();

  /** The attribute with this number (top level when vendor is 0), or undefined. */
  attribute(vendor: number, code: number | string): DictionaryAttribute | undefined {
    return this.attributes.get(`${vendor}:${code}`);
  }

  /** The attribute with this name, case-insensitively, or undefined. */
  attributeNamed(name: string): DictionaryAttribute | undefined {
    return this.attributesByName.get(name.toLowerCase());
  }

  /** The VALUE name of an integer attribute's value, or undefined. */
  valueName(attribute: string, value: number): string | undefined {
    return this.values.get(attribute.toLowerCase())?.get(value);
  }

  /** The vendor with this Private Enterprise Number, or undefined. */
  vendor(id: number): DictionaryVendor | undefined {
    return this.vendors.get(id);
  }

  /** The vendor with this name, case-insensitively, or undefined. */
  vendorNamed(name: string): DictionaryVendor | undefined {
    return this.vendorsByName.get(name.toLowerCase());
  }

  /** @internal used by the parser */
  addAttribute(attribute: DictionaryAttribute): void {
    this.attributes.set(`${attribute.vendor}:${attribute.code}`, attribute);
    this.attributesByName.set(attribute.name.toLowerCase(), attribute);
  }

  /** @internal used by the parser */
  addValue(attribute: string, name: string, value: number): void {
    const key = attribute.toLowerCase();
    let names = this.values.get(key);
    if (!names) this.values.set(key, (names = new Map()));
    // FreeRADIUS: the first name given for a number is the one printed.
    if (!names.has(value)) names.set(value, name);
  }

  /** @internal used by the parser */
  addVendor(vendor: DictionaryVendor): void {
    this.vendors.set(vendor.id, vendor);
    this.vendorsByName.set(vendor.name.toLowerCase(), vendor);
  }
}

/** The `radius` package's own dictionaries folder (RFC 2865 to RFC 5904). */
export function radiusPackageDictionaries(): string {
  const main = createRequire(import.meta.url).resolve('radius');
  return resolve(dirname(main), '..', 'dictionaries');
}

/** The project's dictionaries/ folder (RFC 6911 and what else the radius package lacks). */
export function projectDictionaries(): string {
  return fileURLToPath(new URL('../../dictionaries/', import.meta.url));
}

let active: Dictionary | undefined;

/**
 * Loads the extra dictionaries (project's dictionaries/ folder + config list) on top of the
 * radius package's; throws RblError RBL_DICTIONARY naming the file. On failure the dictionary
 * in use stays as it was, so a bad SIGHUP reload changes nothing.
 */
export function loadDictionaries(extra: readonly string[]): void {
  active = readDictionaries([radiusPackageDictionaries(), projectDictionaries(), ...extra]);
}

/** The dictionary in use: the last one loadDictionaries built, else the built-in set. */
export function activeDictionary(): Dictionary {
  active ??= readDictionaries([radiusPackageDictionaries(), projectDictionaries()]);
  return active;
}

/** Reads dictionary files and folders (every file in a folder, by name) into one new Dictionary. */
export function readDictionaries(paths: readonly string[]): Dictionary {
  const dictionary = new Dictionary();
  const seen = new Set<string>();
  for (const path of paths) {
    const full = resolve(path);
    let isFolder: boolean;
    try {
      isFolder = statSync(full).isDirectory();
    } catch (error) {
      throw new RblError('RBL_DICTIONARY', `cannot read dictionary ${full}: ${(error as Error).message}`, { cause: error });
    }
    const files = isFolder
      ? readdirSync(full)
          .filter((name) => !name.startsWith('.') && !name.endsWith('~'))
          .sort()
          .map((name) => join(full, name))
      : [full];
    for (const file of files) readDictionaryFile(dictionary, file, seen, false);
  }
  return dictionary;
}

interface ParseState {
  vendor: number;
  vendorName: string | undefined;
  tlvDepth: number;
}

function readDictionaryFile(dictionary: Dictionary, file: string, seen: Set<string>, optional: boolean): void {
  if (seen.has(file)) return;
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (optional) return;
    throw new RblError('RBL_DICTIONARY', `cannot read dictionary ${file}: ${(error as Error).message}`, { cause: error });
  }
  const state: ParseState = { vendor: 0, vendorName: undefined, tlvDepth: 0 };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const fields = lines[index]!.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) continue;
    const where = `${file}:${index + 1}`;
    try {
      parseLine(dictionary, fields, state, file, seen);
    } catch (error) {
      if (error instanceof RblError) throw error;
      throw new RblError('RBL_DICTIONARY', `${where}: ${(error as Error).message}: ${lines[index]!.trim()}`);
    }
  }
  if (state.vendorName !== undefined) {
    throw new RblError('RBL_DICTIONARY', `${file}: BEGIN-VENDOR ${state.vendorName} has no END-VENDOR`);
  }
}

function parseLine(dictionary: Dictionary, fields: string[], state: ParseState, file: string, seen: Set<string>): void {
  const [keyword, ...args] = fields as [string, ...string[]];
  switch (keyword.toUpperCase()) {
    case '$INCLUDE':
    case '$INCLUDE-':
      if (!args[0]) throw new Error('$INCLUDE needs a file name');
      readDictionaryFile(dictionary, resolve(dirname(file), args[0]), seen, keyword === '$INCLUDE-');
      return;
    case 'ATTRIBUTE': {
      const [name, code, type, extra] = args;
      if (!name || !code || !type) throw new Error('ATTRIBUTE needs a name, a number and a type');
      if (!/^\d+(\.\d+)*$|^0x[0-9a-f]+$/i.test(code)) throw new Error(`attribute number "${code}" is not a number`);
      if (!/^[a-z][a-z0-9_-]*(\[\d+\])?$/i.test(type)) throw new Error(`attribute type "${type}" is not a type name`);
      let vendor = state.vendor;
      let flags: string[] = [];
      if (extra !== undefined) {
        // Old dictionaries name the vendor in the fifth field instead of using BEGIN-VENDOR.
        const named = dictionary.vendorNamed(extra);
        if (named && !extra.includes('=')) vendor = named.id;
        else flags = extra.split(',').filter(Boolean);
      }
      // Members of a TLV are numbered inside their parent; they are not top-level attributes.
      if (state.tlvDepth > 0) return;
      const number = code.startsWith('0x') || code.startsWith('0X') ? String(parseInt(code, 16)) : code;
      dictionary.addAttribute({ name, vendor, code: number, type: type.toLowerCase(), flags });
      return;
    }
    case 'VALUE': {
      const [attribute, name, value] = args;
      if (!attribute || !name || !value) throw new Error('VALUE needs an attribute, a name and a number');
      dictionary.addValue(attribute, name, parseNumber(value, 'value'));
      return;
    }
    case 'VENDOR': {
      const [name, id, format] = args;
      if (!name || !id) throw new Error('VENDOR needs a name and a number');
      dictionary.addVendor({ name, id: parseNumber(id, 'vendor number'), format: parseVendorFormat(format) });
      return;
    }
    case 'BEGIN-VENDOR': {
      const vendor = args[0] === undefined ? undefined : dictionary.vendorNamed(args[0]);
      if (!vendor) throw new Error(`BEGIN-VENDOR names unknown vendor "${args[0] ?? ''}"; define it with VENDOR first`);
      if (state.vendorName !== undefined) throw new Error(`BEGIN-VENDOR inside BEGIN-VENDOR ${state.vendorName}`);
      state.vendor = vendor.id;
      state.vendorName = vendor.name;
      return;
    }
    case 'END-VENDOR':
      if (state.vendorName === undefined || args[0]?.toLowerCase() !== state.vendorName.toLowerCase()) {
        throw new Error(`END-VENDOR ${args[0] ?? ''} does not close ${state.vendorName === undefined ? 'any BEGIN-VENDOR' : `BEGIN-VENDOR ${state.vendorName}`}`);
      }
      state.vendor = 0;
      state.vendorName = undefined;
      return;
    case 'BEGIN-TLV':
      state.tlvDepth++;
      return;
    case 'END-TLV':
      if (state.tlvDepth === 0) throw new Error('END-TLV without BEGIN-TLV');
      state.tlvDepth--;
      return;
    default:
      throw new Error(`unknown keyword "${keyword}"`);
  }
}

function parseNumber(text: string, what: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  throw new Error(`${what} "${text}" is not a number`);
}

function parseVendorFormat(text: string | undefined): VendorFormat {
  if (text === undefined) return DEFAULT_FORMAT;
  const match = /^format=([124]),([012])(,c)?$/i.exec(text);
  if (!match) throw new Error(`vendor format "${text}" is not format=T,L or format=T,L,c (T 1, 2 or 4; L 0, 1 or 2)`);
  return {
    typeOctets: Number(match[1]) as 1 | 2 | 4,
    lengthOctets: Number(match[2]) as 0 | 1 | 2,
    continuation: match[3] !== undefined,
  };
}
