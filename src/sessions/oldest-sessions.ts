/**
 * The session table's age queries: which sessions a full table (sessions.max) or a client at its
 * max_sessions evicts, the ones updated longest ago, and which sessions sessions.max_age expires.
 * They read the table's slots through {@link SlotAges} and return slots; the table turns them into
 * sessions. Pure code.
 */
import { CLIENT_OLDEST_BATCH, ClientOldest } from './client-oldest.js';

/** What the age queries read of the table's slots. */
export interface SlotAges {
  /** One past the highest slot ever used: every live slot is below it. */
  highSlot(): number;
  /** Whether the slot holds a session. */
  live(slot: number): boolean;
  /** When the live slot's session was last recorded (receive time, ms). */
  updatedAt(slot: number): number;
  /** The config name of the client the live slot's session came through. */
  clientOf(slot: number): string;
}

export class OldestSessions {
  readonly #slots: SlotAges;
  readonly #clientOldest = new ClientOldest();

  constructor(slots: SlotAges) {
    this.#slots = slots;
  }

  /** A session of `client` was recorded (new, or refreshed) in `slot` at `updatedAt`. */
  recorded(client: string, slot: number, updatedAt: number): void {
    this.#clientOldest.recorded(client, slot, updatedAt);
  }

  /** The live slots whose sessions were not recorded since `cutoff`, in slot order. */
  expired(cutoff: number): number[] {
    const out: number[] = [];
    const high = this.#slots.highSlot();
    for (let slot = 0; slot < high; slot++) {
      if (this.#slots.live(slot) && this.#slots.updatedAt(slot) < cutoff) out.push(slot);
    }
    return out;
  }

  /** The `count` slots updated longest ago, of all clients or of one, oldest first. */
  oldest(count: number, client?: string): number[] {
    if (client === undefined) return this.#scan(count);
    // A client at its max_sessions evicts at each new session: from a list a scan filled (client-oldest.ts).
    const holds = (slot: number, at: number): boolean => this.#slots.live(slot) && this.#slots.clientOf(slot) === client && this.#slots.updatedAt(slot) === at;
    const slots = this.#clientOldest.take(client, count, holds);
    if (slots.length < count) {
      const taken = new Set(slots);
      const limit = Math.max(count, CLIENT_OLDEST_BATCH) + taken.size;
      const found = this.#scan(limit, client).filter((slot) => !taken.has(slot));
      const more = found.slice(0, count - slots.length);
      const rest = found.slice(more.length);
      this.#clientOldest.fill(client, rest, rest.map((slot) => this.#slots.updatedAt(slot)), found.length + taken.size < limit);
      slots.push(...more);
    }
    return slots;
  }

  /** One pass over the table keeping the `count` oldest (of `client`'s, when given) in a max-heap of slots. */
  #scan(count: number, client?: string): number[] {
    const { live, updatedAt, clientOf } = this.#slots;
    const heap: number[] = [];
    const older = (a: number, b: number): boolean => updatedAt(a) > updatedAt(b);
    const high = this.#slots.highSlot();
    for (let slot = 0; slot < high && count > 0; slot++) {
      if (!live(slot)) continue;
      if (client !== undefined && clientOf(slot) !== client) continue;
      if (heap.length < count) {
        heap.push(slot);
        for (let i = heap.length - 1; i > 0 && older(heap[i]!, heap[(i - 1) >> 1]!); i = (i - 1) >> 1) swap(heap, i, (i - 1) >> 1);
      } else if (updatedAt(slot) < updatedAt(heap[0]!)) {
        heap[0] = slot;
        for (let i = 0; ; ) {
          let top = i;
          for (const child of [2 * i + 1, 2 * i + 2]) if (child < heap.length && older(heap[child]!, heap[top]!)) top = child;
          if (top === i) break;
          swap(heap, i, top);
          i = top;
        }
      }
    }
    return heap.sort((a, b) => updatedAt(a) - updatedAt(b));
  }
}

function swap(list: number[], a: number, b: number): void {
  const kept = list[a]!;
  list[a] = list[b]!;
  list[b] = kept;
}
