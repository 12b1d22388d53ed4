/**
 * What the tests of a disk that fails or hangs share: the FileHandle prototype the journal writes
 * through (to inject a disk's errors or hold its writes), the open flags of a file descriptor, and, end to end, Stops sent once each as a
 * NAS that retransmits later would, the zone's listings and /readyz's journal check.
 */
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { vi } from 'vitest';
import { dnsblName } from './dnsbl.js';
import { accountingAnswered } from './radius-packets.js';

/** The prototype every FileHandle shares: spying on it reaches the journal's own handle. */
export async function fileHandlePrototype(): Promise<FileHandle> {
  const probe = await open(import.meta.filename, 'r');
  const prototype = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  return prototype;
}

/**
 * Holds every FileHandle write from now on, as a hung disk holds them: the journal opens its file
 * with O_DSYNC, so its write is where it waits for the disk. release() lets the held writes reach
 * the file (or fails them with `code`) and stops holding; started() counts the writes held.
 */
export function holdWrites(prototype: FileHandle): { started: () => number; release: (code?: string) => void } {
  const held: { go: () => void; fail: (error: Error) => void }[] = [];
  let holding = true;
  let started = 0;
  const original = prototype.write;
  vi.spyOn(prototype, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    const write = (): Promise<unknown> => (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    if (!holding) return write();
    started++;
    return new Promise((resolve, reject) => held.push({ go: () => write().then(resolve, reject), fail: reject }));
  } as typeof prototype.write);
  return {
    started: () => started,
    release(code) {
      holding = false;
      for (const write of held.splice(0)) {
        if (code) write.fail(Object.assign(new Error(`${code}: injected failure, write`), { code }));
        else write.go();
      }
    },
  };
}

/** The flags `fd` was opened with, as /proc/self/fdinfo shows them (O_DSYNC among them). */
export function openFlags(fd: number): number {
  const line = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!line) throw new Error(`no flags in /proc/self/fdinfo/${fd}`);
  return Number.parseInt(line[1]!, 8);
}

/** Sends each request once (one try, 1 s), 32 at a time; resolves with the indexes that got no answer, in order. */
export async function sendEachOnce(indexes: readonly number[], port: number, secret: string, request: (index: number) => Buffer): Promise<number[]> {
  const unanswered: number[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      if (!(await accountingAnswered(request(index), port, secret, { tries: 1, intervalMs: 1000 }))) unanswered.push(index);
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  return unanswered.sort((a, b) => a - b);
}

/** The addresses of `addresses` that the DNS server on 127.0.0.1:`port` still lists in `zone`. */
export async function stillListed(port: number, zone: string, addresses: readonly string[]): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const out: string[] = [];
  for (let i = 0; i < addresses.length; i += 50) {
    const slice = addresses.slice(i, i + 50);
    const listed = await Promise.all(slice.map((address) => resolver.resolve4(dnsblName(address, zone)).then((a) => a.length > 0, () => false)));
    slice.forEach((address, j) => listed[j] && out.push(address));
  }
  return out;
}

/** /readyz's status and its journal check. */
export async function journalReadiness(port: number): Promise<{ status: number; journal: { ok: boolean; error?: string } | undefined }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await response.json()) as { checks: { journal?: { ok: boolean; error?: string } } };
  return { status: response.status, journal: body.checks.journal };
}
