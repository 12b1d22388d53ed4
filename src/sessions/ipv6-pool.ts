/**
 * The IPv6 addresses and prefixes of the session table, 17 bytes an entry (16 address bytes and
 * the prefix length), in a pool of their own: most sessions have none, so 16 bytes in every slot
 * would be wasted. A slot keeps the number of its entry; freed entries are used again. Pure code.
 */
import { formatAddressBytes } from '../net/address.js';
import { hashBytes } from '../collections/slot-index.js';
import { PagedColumn } from './columns.js';

/** IPv6 addresses and prefixes by entry number; the table says which entries its slots use. */
export class Ipv6Pool {
  readonly #bytes = new PagedColumn((n) => new Uint8Array(n), 16);
  readonly #length = new PagedColumn((n) => new Uint8Array(n));
  readonly #free: number[] = [];
  #high = 0;

  /** Keeps an address or prefix (its 16 bytes and length) in an entry, and gives the entry's number. */
  add(bytes: Uint8Array, prefixLength: number): number {
    const ref = this.#free.pop() ?? this.#high++;
    this.#bytes.reserve(ref + 1);
    this.#length.reserve(ref + 1);
    this.#bytes.page(ref).set(bytes, this.#bytes.offset(ref));
    this.#length.set(ref, prefixLength);
    return ref;
  }

  /** Frees an entry for a later {@link add}. */
  release(ref: number): void {
    this.#free.push(ref);
  }

  /** The hash of the entry's 16 bytes and length, as hashBytes makes it of the same address's bytes. */
  hash(ref: number): number {
    const offset = this.#bytes.offset(ref);
    return hashBytes(this.#bytes.page(ref), offset, offset + 16, this.#length.get(ref));
  }

  /** Whether the entry holds these 16 bytes and this prefix length. */
  matches(ref: number, bytes: Uint8Array, prefixLength: number): boolean {
    if (this.#length.get(ref) !== prefixLength) return false;
    const page = this.#bytes.page(ref);
    const offset = this.#bytes.offset(ref);
    for (let i = 0; i < 16; i++) if (page[offset + i] !== bytes[i]) return false;
    return true;
  }

  /** The entry as canonical text: the address, with its length when it is a prefix. */
  text(ref: number): string {
    const offset = this.#bytes.offset(ref);
    const address = formatAddressBytes(this.#bytes.page(ref).subarray(offset, offset + 16));
    const length = this.#length.get(ref);
    return length === 128 ? address : `${address}/${length}`;
  }
}
