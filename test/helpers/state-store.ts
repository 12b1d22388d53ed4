/**
 * The state store in unit tests: a fake Backend that records what it is asked to unlist, and a
 * temporary state.dir per test whose stores are closed and folder removed after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Backend, Listing } from '../../src/backends/types.js';
import { canonicalPrefix, formatPrefix, parsePrefix, type CanonicalPrefix, type IpPrefix } from '../../src/net/address.js';
import { openStateStore, type QueueEvent, type StateStore, type StateStoreOptions } from '../../src/queue/store-open.js';

/** The canonical value of an address, as the accounting stage makes it from a packet. */
export function canonical(text: string): CanonicalPrefix {
  return canonicalPrefix(parsePrefix(text));
}

/** A Backend that records its calls and answers as `behaviour` says (by default at once, with success). */
export class FakeBackend implements Backend {
  readonly calls: { zone: string; targets: string[] }[] = [];
  behaviour: (zone: string, targets: string[]) => Promise<void> | void = () => undefined;
  constructor(
    readonly name = 'bind',
    readonly zones: readonly string[] = ['rbl.example.net'],
  ) {}
  async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    const texts = targets.map(formatPrefix);
    this.calls.push({ zone, targets: texts });
    await this.behaviour(zone, texts);
  }
  async check(zone: string): Promise<Listing> {
    return { zone, names: [], listed: false };
  }
  async probe(): Promise<void> {}
  describe(): string {
    return '';
  }
  async close(): Promise<void> {}
  /** The targets it was asked to unlist in a zone. */
  delivered(zone: string): string[] {
    return this.calls.filter((call) => call.zone === zone).flatMap((call) => call.targets);
  }
}

/** A behaviour that never answers, so jobs stay pending. */
export const never = (): Promise<void> => new Promise<void>(() => undefined);

/** Polls `condition` every 5 ms until it holds; throws after timeoutMs. */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface StateDirFixture {
  /** This test's state.dir. */
  readonly dir: string;
  /** The store events of this test, in order. */
  events: QueueEvent[];
  /** Opens a store on `dir` that reports to `events`; it is closed after the test. */
  open(options: Omit<StateStoreOptions, 'dir'> & Partial<Pick<StateStoreOptions, 'dir'>>): Promise<StateStore>;
}

/** Registers beforeEach/afterEach hooks: a new temporary state.dir per test; after it, its stores closed and the folder removed. */
export function useStateDir(prefix: string): StateDirFixture {
  let dir = '';
  let stores: StateStore[] = [];
  const fixture: StateDirFixture = {
    get dir() {
      return dir;
    },
    events: [],
    async open(options) {
      const store = await openStateStore({ dir, onEvent: (event) => fixture.events.push(event), ...options });
      stores.push(store);
      return store;
    },
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `rbl-unlist-${prefix}-`));
    stores = [];
    fixture.events = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return fixture;
}
