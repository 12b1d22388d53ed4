/**
 * What the tests of jobs an HTTP API does in part share: a backend that fails some names for
 * themselves (as the generic HTTP backend reports it) and takes the others, the events that make
 * such jobs, a write failure injected into the journal, and how a promise settled within a time.
 */
import type { FileHandle } from 'node:fs/promises';
import { afterEach, beforeAll, vi } from 'vitest';
import { TargetFailures } from '../../src/backends/target-failures.js';
import { RblError } from '../../src/errors.js';
import { formatPrefix, type IpPrefix } from '../../src/net/address.js';
import { fileHandlePrototype } from './disk.js';
import { FakeBackend } from './state-store.js';

/** Fails the names in `failing` for themselves with a 500 (transient unless told) and those in `refused` with a 422, takes the others. */
export class NamesFail extends FakeBackend {
  readonly failing: Set<string>;
  /** Names refused for good (a 422 each), whatever `transient` says. */
  readonly refused = new Set<string>();
  transient = true;
  /** Runs before each call answers (after the names were "sent"); gets the call's number, from 1. */
  beforeAnswer: (call: number) => Promise<void> | void = () => undefined;

  constructor(name: string, zones: readonly string[], failing: readonly string[] = []) {
    super(name, [...zones]);
    this.failing = new Set(failing);
  }

  /** The first call hangs until the function returned is called, then finds the API down (connection refused). */
  firstCallDownOnRelease(): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.beforeAnswer = async (call) => {
      if (call !== 1) return;
      await gate;
      throw new RblError('RBL_HTTP_CONNECTION', 'api: connection refused', { transient: true });
    };
    return release;
  }

  override async unlist(zone: string, targets: readonly IpPrefix[]): Promise<void> {
    this.calls.push({ zone, targets: targets.map(formatPrefix) });
    const call = this.calls.length;
    await new Promise((resolve) => setImmediate(resolve));
    await this.beforeAnswer(call);
    const failed = targets.filter((target) => this.failing.has(formatPrefix(target)) || this.refused.has(formatPrefix(target)));
    if (failed.length === 0) return;
    const failure = (target: IpPrefix): RblError =>
      this.refused.has(formatPrefix(target))
        ? new RblError('RBL_HTTP_STATUS', `api: unexpected status 422 for ${formatPrefix(target)}`, { transient: false })
        : new RblError('RBL_HTTP_STATUS', `api: unexpected status 500 for ${formatPrefix(target)}`, { transient: this.transient });
    const errors = new Map(failed.map((target) => [target, failure(target)]));
    throw new TargetFailures(errors.get(failed[0]!)!, targets.filter((target) => !failed.includes(target)), errors, undefined);
  }
}

/** An Accounting-On's unlist of these addresses, now. */
export function accountingOn(...targets: string[]) {
  return { targets, reason: { event: 'accounting-on', client: 'ras1', nas: '192.0.2.10' }, createdAt: Date.now() };
}

/** A Stop's unlist of these addresses, now. */
export function stopOf(sessionId: string, ...targets: string[]) {
  return { targets, reason: { event: 'stop', client: 'ras1', nas: '192.0.2.10', sessionId }, createdAt: Date.now() };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the promise settled within `ms`, and how. */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<'resolved' | 'rejected' | 'pending'> {
  return Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    sleep(ms).then(() => 'pending' as const),
  ]);
}

/** Makes the writes of FileHandles (`prototype`, see fileHandlePrototype) fail with `code` while `failing.code` is set. */
export function failWrites(prototype: FileHandle): { code: string | undefined } {
  const failing: { code: string | undefined } = { code: undefined };
  const original = prototype.write;
  vi.spyOn(prototype, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    if (failing.code) return Promise.reject(Object.assign(new Error(`${failing.code}: injected failure, write`), { code: failing.code }));
    return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
  } as typeof prototype.write);
  return failing;
}

/**
 * In a describe block (or a file): a function that makes the journal's writes fail on demand (see
 * failWrites), restored after each test.
 */
export function useFailingWrites(): () => { code: string | undefined } {
  let prototype: FileHandle | undefined;
  beforeAll(async () => {
    prototype = await fileHandlePrototype();
  });
  afterEach(() => vi.restoreAllMocks());
  return () => failWrites(prototype!);
}
