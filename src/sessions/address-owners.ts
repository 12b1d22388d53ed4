/**
 * Which session holds each address now: the newest claim wins (design: "Event order"), so a Stop
 * without addresses and an Accounting-On find an address's current holder, and a former holder's
 * late Stop unlists nothing its successor uses. The table keeps a session's first IPv4 address
 * and first IPv6 address or prefix in its columns, and the two indexes here find slots through
 * those columns ({@link SlotAddresses}); further addresses are kept by their text. Pure code.
 */
import { hashBytes, hashNumber, SlotIndex } from '../collections/slot-index.js';
import type { TableAddress } from './table-addresses.js';

/** What the indexes read of the table's slots. */
export interface SlotAddresses {
  /** The slot's first IPv4 address, as a uint32 (only asked of a slot indexed by it). */
  v4(slot: number): number;
  /** The hash of the slot's first IPv6 address or prefix (only asked of a slot indexed by it). */
  v6Hash(slot: number): number;
  /** Whether the slot's first IPv6 address or prefix is this one; false when it has none. */
  v6Is(slot: number, bytes: Uint8Array, prefixLength: number): boolean;
  /** When the live slot's session was last recorded (receive time, ms). */
  updatedAt(slot: number): number;
}

export class AddressOwners {
  readonly #slots: SlotAddresses;
  readonly #byV4: SlotIndex;
  readonly #byV6: SlotIndex;
  /** Addresses beyond a session's first IPv4 and first IPv6, by canonical text. */
  readonly #further = new Map<string, number>();

  constructor(slots: SlotAddresses) {
    this.#slots = slots;
    this.#byV4 = new SlotIndex((slot) => hashNumber(slots.v4(slot)));
    this.#byV6 = new SlotIndex((slot) => slots.v6Hash(slot));
  }

  /** The slot whose first IPv4 address this is, or -1. */
  ownerOfV4(v4: number): number {
    return this.#byV4.find(hashNumber(v4), (slot) => this.#slots.v4(slot) === v4);
  }

  /** The slot whose first IPv6 address or prefix this is, or -1. */
  ownerOfV6(bytes: Uint8Array, prefixLength: number): number {
    return this.#byV6.find(hashBytes(bytes, 0, 16, prefixLength), (slot) => this.#slots.v6Is(slot, bytes, prefixLength));
  }

  /** The slot that holds this address among its further ones (canonical text), or -1. */
  ownerOfFurther(text: string): number {
    return this.#further.get(text) ?? -1;
  }

  /**
   * Takes the address from the session that holds it, wherever that session keeps it (its first
   * IPv4, its first IPv6, or its further addresses), so no index goes on naming the old holder once
   * the new one is gone; says whether the claim holds. A holder updated after `takesFromUpTo`
   * keeps the address.
   */
  claim(address: TableAddress, takesFromUpTo: number): boolean {
    let indexed = -1;
    if (address.v4 >= 0) indexed = this.ownerOfV4(address.v4);
    else if (address.v6) indexed = this.ownerOfV6(address.v6, address.prefixLength);
    const further = this.#further.get(address.text);
    const holder = indexed >= 0 ? indexed : (further ?? -1);
    if (holder >= 0 && this.#slots.updatedAt(holder) > takesFromUpTo) return false;
    if (indexed >= 0 && address.v4 >= 0) this.#byV4.delete(indexed, hashNumber(address.v4));
    else if (indexed >= 0) this.#byV6.delete(indexed, hashBytes(address.v6!, 0, 16, address.prefixLength));
    if (further !== undefined) this.#further.delete(address.text);
    return true;
  }

  /** The slot now holds its first IPv4 address (claimed first). */
  holdV4(slot: number, v4: number): void {
    this.#byV4.insert(slot, hashNumber(v4));
  }

  /** The slot now holds its first IPv6 address or prefix, whose hash this is (claimed first). */
  holdV6(slot: number, hash: number): void {
    this.#byV6.insert(slot, hash);
  }

  /** The slot now holds this further address (claimed first). */
  holdFurther(slot: number, text: string): void {
    this.#further.set(text, slot);
  }

  /** Whether the slot still holds its first IPv4 address: a newer session may have taken it. */
  holdsV4(slot: number, v4: number): boolean {
    return this.ownerOfV4(v4) === slot;
  }

  /** Whether the slot still holds its first IPv6 address or prefix, whose hash this is. */
  holdsV6(slot: number, hash: number): boolean {
    return this.#byV6.find(hash, (candidate) => candidate === slot) === slot;
  }

  /** Whether the slot still holds this further address. */
  holdsFurther(slot: number, text: string): boolean {
    return this.#further.get(text) === slot;
  }

  /** The slot gives up its first IPv4 address, where it still holds it. */
  releaseV4(slot: number, v4: number): void {
    if (this.holdsV4(slot, v4)) this.#byV4.delete(slot, hashNumber(v4));
  }

  /** The slot gives up its first IPv6 address or prefix, where it still holds it. */
  releaseV6(slot: number, hash: number): void {
    if (this.holdsV6(slot, hash)) this.#byV6.delete(slot, hash);
  }

  /** The slot gives up this further address, where it still holds it. */
  releaseFurther(slot: number, text: string): void {
    if (this.holdsFurther(slot, text)) this.#further.delete(text);
  }
}
