/**
 * Where the address history (address-history.ts) keeps what it knows of each address: one slot per
 * address in columns made once for the history's limit, found through an open-addressing index of
 * slot numbers (collections/slot-index.ts). Pure code.
 *
 * A burst touches tens of thousands of addresses a second, and what each one kept alive past a few
 * young-generation collections went to V8's old generation, which its collector then marks: with an
 * object per address holding the event's and the job's own objects the history cost the daemon a
 * sixth of its CPU per Stop, and with two generations of Maps of address text still a seventh (the
 * Maps' tables, made afresh for each generation and grown by doubling, are large objects of the old
 * generation). Here times and job numbers are typed arrays, an IPv4 address is its 32-bit number
 * (its text is made again when asked), the index is one Uint32Array, and an address keeps alive
 * only the texts its event brought (Acct-Session-Id, User-Name; NAS texts and event types are
 * shared) and the text of an IPv6 address or prefix.
 */
import type { UnlistReason } from '../queue/state.js';
import { hashEnd, hashNumber, hashStart, hashStep, ipv4Number, ipv4Text, SlotIndex } from '../collections/slot-index.js';
import type { DeliveryOutcome, SessionNote } from './address-history.js';

/** Salt of the hash of an address's text, apart from the session table's hashes. */
const TEXT_SALT = 0x41;

export class AddressSlots {
  /** The type of the last accounting event that named the address; undefined when none did. */
  readonly eventType: (string | undefined)[];
  readonly client: string[];
  readonly nas: string[];
  readonly sessionId: (string | undefined)[];
  /** The event's User-Name, or the one an earlier event of the same session gave. */
  readonly userName: (string | undefined)[];
  readonly eventAt: Float64Array;
  /** When the event's session was first seen naming the address. */
  readonly since: Float64Array;
  /** The last job that unlisted it (its number: job ids are the queue's sequence numbers); NaN when none did. */
  readonly jobId: Float64Array;
  readonly jobCreatedAt: Float64Array;
  /** The event that asked for the job. */
  readonly reasonEvent: string[];
  readonly reasonClient: string[];
  readonly reasonNas: string[];
  readonly reasonSessionId: (string | undefined)[];
  /** The job's outcome per backend and zone: one alone as it is, several in an array. */
  readonly deliveries: (DeliveryOutcome | DeliveryOutcome[] | undefined)[];

  /** The address of a slot: its text, or undefined for an IPv4 address, whose number is in #ipv4. */
  readonly #text: (string | undefined)[];
  readonly #ipv4: Uint32Array;
  /** The hash each slot was indexed under. */
  readonly #hashes: Uint32Array;
  readonly #index: SlotIndex;
  /** Slots no address holds, as a stack. */
  readonly #free: Int32Array;
  #freeCount: number;

  constructor(size: number) {
    const texts = (): string[] => Array.from({ length: size }, () => '');
    const optional = <T>(): (T | undefined)[] => Array.from({ length: size }, () => undefined);
    this.eventType = optional();
    this.client = texts();
    this.nas = texts();
    this.sessionId = optional();
    this.userName = optional();
    this.eventAt = new Float64Array(size);
    this.since = new Float64Array(size);
    this.jobId = new Float64Array(size).fill(Number.NaN);
    this.jobCreatedAt = new Float64Array(size);
    this.reasonEvent = texts();
    this.reasonClient = texts();
    this.reasonNas = texts();
    this.reasonSessionId = optional();
    this.deliveries = optional();
    this.#text = optional();
    this.#ipv4 = new Uint32Array(size);
    this.#hashes = new Uint32Array(size);
    // Sized for every slot at once (at most 80% full), so it never grows.
    this.#index = new SlotIndex((slot) => this.#hashes[slot]!, Math.ceil(size / 0.8) + 1);
    this.#free = Int32Array.from({ length: size }, (_, i) => size - 1 - i);
    this.#freeCount = size;
  }

  /** The slot that holds the address, or -1. */
  find(address: string): number {
    const ipv4 = ipv4Number(address);
    if (ipv4 >= 0) return this.#index.find(hashNumber(ipv4), (slot) => this.#text[slot] === undefined && this.#ipv4[slot] === ipv4);
    return this.#index.find(textHash(address), (slot) => this.#text[slot] === address);
  }

  /** A free slot for an address the slots do not hold; there must be one (the history holds at most its limit). */
  take(address: string): number {
    const slot = this.#free[--this.#freeCount]!;
    const ipv4 = ipv4Number(address);
    const hash = ipv4 >= 0 ? hashNumber(ipv4) : textHash(address);
    if (ipv4 >= 0) this.#ipv4[slot] = ipv4;
    else this.#text[slot] = address;
    this.#hashes[slot] = hash;
    this.#index.insert(slot, hash);
    return slot;
  }

  /** Frees a slot: nothing of its address stays referenced. */
  release(slot: number): void {
    this.#index.delete(slot, this.#hashes[slot]!);
    this.#text[slot] = undefined;
    this.eventType[slot] = undefined;
    this.client[slot] = this.nas[slot] = this.reasonEvent[slot] = this.reasonClient[slot] = this.reasonNas[slot] = '';
    this.sessionId[slot] = this.userName[slot] = this.reasonSessionId[slot] = undefined;
    this.jobId[slot] = Number.NaN;
    this.deliveries[slot] = undefined;
    this.#free[this.#freeCount++] = slot;
  }

  /** The address a slot holds, as the history was given it. */
  addressOf(slot: number): string {
    return this.#text[slot] ?? ipv4Text(this.#ipv4[slot]!);
  }

  /** The session note the views read, put together from the slot's event. */
  sessionNote(slot: number): SessionNote | undefined {
    const lastEvent = this.eventType[slot];
    if (lastEvent === undefined) return undefined;
    return {
      client: this.client[slot]!,
      nas: this.nas[slot]!,
      sessionId: this.sessionId[slot],
      userName: this.userName[slot],
      since: this.since[slot]!,
      lastEvent,
      lastEventAt: this.eventAt[slot]!,
    };
  }

  /** The reason of the slot's job, as the job had it. */
  unlistReason(slot: number): UnlistReason {
    const reason = { event: this.reasonEvent[slot]!, client: this.reasonClient[slot]!, nas: this.reasonNas[slot]! };
    const sessionId = this.reasonSessionId[slot];
    return sessionId === undefined ? reason : { ...reason, sessionId };
  }
}

/** The index hash of an address's text (an IPv6 address or a prefix), keyed by the process seed. */
function textHash(text: string): number {
  let h = hashStart(TEXT_SALT);
  for (let i = 0; i < text.length; i++) h = hashStep(h, text.charCodeAt(i));
  return hashEnd(h);
}
