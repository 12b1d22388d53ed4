/**
 * Resident memory of the session table at 1,000,000 sessions (the target is at most 256 MB for the
 * whole process). Not a test; `npm run bench` runs it in a process of its own, or by hand:
 *   npm run bench -- --only sessions        (or, once built: node --expose-gc bench/results/build/bench/sessions-memory.js [sessions] [ipv6-share] [stopped])
 * Each session: one of 50 NAS keys (with Event-Timestamp), a 16-character Acct-Session-Id, one of 50 client names, an
 * IPv4 address, and (for ipv6-share of them, default 0.3) a delegated IPv6 /56 prefix as well.
 * With `stopped` (default 0), that many stopped sessions are remembered as well (at most 524,288).
 * Prints one JSON line.
 */
import { SessionTable } from '../src/sessions/table.js';

const count = Number(process.argv[2] ?? 1_000_000);
const ipv6Share = Number(process.argv[3] ?? 0.3);
const stopped = Number(process.argv[4] ?? 0);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const settle = (): NodeJS.MemoryUsage => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
};

const before = settle();
const table = new SessionTable();
const started = Date.now();
const now = Date.now();
for (let i = 0; i < count; i++) {
  const addresses = [`10.${64 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`];
  if (i % 1000 < ipv6Share * 1000) addresses.push(`2001:db8:${(i >>> 8).toString(16)}:${((i & 255) << 8).toString(16)}::/56`);
  table.upsert({
    nas: `192.0.2.${i % 50}`,
    sessionId: (0x10000000 + i).toString(16).toUpperCase().padStart(16, '0'),
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
const after = settle();
console.log(
  JSON.stringify({
    sessions: table.size,
    ipv6Share,
    stopped,
    insertMs: elapsed,
    rss: megabytes(after.rss),
    rssGrowth: megabytes(after.rss - before.rss),
    heapUsed: megabytes(after.heapUsed),
    arrayBuffers: megabytes(after.arrayBuffers),
    bytesPerSession: Math.round((after.rss - before.rss) / count),
    rssBytes: after.rss,
    rssBaseBytes: before.rss,
  }),
);
// Keep the table reachable until measured.
if (table.ownerOf('10.64.0.1')?.sessionId === undefined) process.exitCode = 1;
