/**
 * A typed-array column in fixed pages of 16,384 slots. Growing adds a page and never copies, so a
 * growing table holds no old and new buffer side by side (which the allocator would keep resident
 * after freeing), and at most one page stands unused. Pure code.
 */
const PAGE_BITS = 14;
const PAGE_SLOTS = 1 << PAGE_BITS;
const SLOT_MASK = PAGE_SLOTS - 1;

type Values = Uint8Array | Uint16Array | Uint32Array;

/** `width` numbers per slot, in pages. */
export class PagedColumn<T extends Values> {
  readonly #make: (length: number) => T;
  readonly #width: number;
  readonly #pages: T[] = [];

  constructor(make: (length: number) => T, width = 1) {
    this.#make = make;
    this.#width = width;
  }

  /** Slots below this are stored. */
  get capacity(): number {
    return this.#pages.length * PAGE_SLOTS;
  }

  /** Makes room for slots below `count`. */
  reserve(count: number): void {
    while (this.capacity < count) this.#pages.push(this.#make(PAGE_SLOTS * this.#width));
  }

  get(slot: number): number {
    return this.#pages[slot >>> PAGE_BITS]![slot & SLOT_MASK]!;
  }

  set(slot: number, value: number): void {
    this.#pages[slot >>> PAGE_BITS]![slot & SLOT_MASK] = value;
  }

  /** The page that holds the slot's `width` values; they start at {@link offset}. */
  page(slot: number): T {
    return this.#pages[slot >>> PAGE_BITS]!;
  }

  offset(slot: number): number {
    return (slot & SLOT_MASK) * this.#width;
  }
}
