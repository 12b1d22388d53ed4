/**
 * Resident memory of a process holding the session table at 1,000,000 sessions (the target is at
 * most 100 MB for the whole process). Not a test; `npm run bench` runs it in a process of its own, or by hand:
 *   npm run bench -- --only sessions        (or, once built: node --expose-gc bench/results/build/bench/sessions-memory.js [sessions] [ipv6-share] [stopped] [ids])
 * Each session: one of 50 NAS keys (with Event-Timestamp), an Acct-Session-Id, one of 50 client names, an
 * IPv4 address, and (for ipv6-share of them, default 0.3) a delegated IPv6 /56 prefix as well. The
 * sessions go in as the daemon's journal replay puts them in (address text, parsed by the table).
 * `ids`: `hex` (default: 16 hex digits, as accel-ppp sends) or `text` (20 characters of non-hex
 * ASCII, which the table keeps in its byte arena: the dearer shape).
 * With `stopped` (default 0), that many stopped sessions are remembered as well (at most 524,288).
 *
 * Inserting a million sessions makes garbage, and V8 grows its young generation to 32 MB for it;
 * an idle process gives that back within seconds (V8's memory reducer), as the daemon does between
 * bursts. The figure that counts (`rssBytes`) is taken once the young generation has shrunk (or
 * after 20 s); `rssRightAfterBytes` is the figure at once, young generation included.
 * Prints one JSON line.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { SessionTable } from '../src/sessions/table.js';

const count = Number(process.argv[2] ?? 1_000_000);
const ipv6Share = Number(process.argv[3] ?? 0.3);
const stopped = Number(process.argv[4] ?? 0);
const ids = process.argv[5] ?? 'hex';
if (ids !== 'hex' && ids !== 'text') throw new Error(`ids must be hex or text, not ${ids}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const settle = (): NodeJS.MemoryUsage => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
};
const youngGenerationBytes = (): number => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;
const sessionId = (i: number): string =>
  ids === 'hex' ? (0x10000000 + i).toString(16).toUpperCase().padStart(16, '0') : `ppp-${(i % 997).toString().padStart(3, '0')}-s${i.toString().padStart(11, '0')}`;

const before = settle();
const table = new SessionTable();
const started = Date.now();
const now = Date.now();
for (let i = 0; i < count; i++) {
  const addresses = [`10.${64 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`];
  if (i % 1000 < ipv6Share * 1000) addresses.push(`2001:db8:${(i >>> 8).toString(16)}:${((i & 255) << 8).toString(16)}::/56`);
  table.upsert({
    nas: `192.0.2.${i % 50}`,
    sessionId: sessionId(i),
    client: `ras${i % 50}`,
    addresses,
    updatedAt: now - (i % 3600) * 1000,
    eventAt: now - (i % 3600) * 1000,
    nasTime: Math.floor(now / 1000) - (i % 3600),
  });
}
for (let i = 0; i < stopped; i++) {
  table.stop({ client: `ras${i % 50}`, nas: `192.0.2.${i % 50}`, sessionId: (0x80000000 + i).toString(16).toUpperCase().padStart(16, '0') }, { at: now, nasTime: Math.floor(now / 1000) });
}
const elapsed = Date.now() - started;
const rightAfter = settle();
const youngRightAfter = youngGenerationBytes();
const settledBy = Date.now() + 20_000;
while (youngGenerationBytes() > 4 * 1024 * 1024 && Date.now() < settledBy) await new Promise((resolve) => setTimeout(resolve, 250));
const after = settle();
console.log(
  JSON.stringify({
    sessions: table.size,
    ipv6Share,
    stopped,
    ids,
    insertMs: elapsed,
    rss: megabytes(after.rss),
    rssGrowth: megabytes(after.rss - before.rss),
    rssRightAfter: megabytes(rightAfter.rss),
    youngGenerationRightAfter: megabytes(youngRightAfter),
    youngGeneration: megabytes(youngGenerationBytes()),
    heapUsed: megabytes(after.heapUsed),
    arrayBuffers: megabytes(after.arrayBuffers),
    bytesPerSession: Math.round((after.rss - before.rss) / count),
    rssBytes: after.rss,
    rssRightAfterBytes: rightAfter.rss,
    rssBaseBytes: before.rss,
  }),
);
// Keep the table reachable until measured.
if (table.ownerOf('10.64.0.1')?.sessionId === undefined) process.exitCode = 1;
