/**
 * Microbenchmark of the RADIUS receive path's pure part on one core: checkDatagram (structure,
 * Request Authenticator) and decodeAccountingAttributes, over realistic Stops, with the
 * client lookup and the accounting event beside it as a second figure.
 */
import { accountingEvent } from '../src/accounting/event.js';
import type { ClientConfig } from '../src/config/load.js';
import { parsePrefix } from '../src/net/address.js';
import { decodeAccountingAttributes } from '../src/radius/attributes.js';
import { matchClient } from '../src/radius/clients.js';
import { checkDatagram } from '../src/radius/validate.js';
import { nowMs } from './load.js';
import { BENCH_SECRET, benchZone, stopPacket } from './zone.js';

export interface DecodeResult {
  /** checkDatagram + decodeAccountingAttributes. */
  readonly validateDecodePerSecond: number;
  /** The same plus matchClient and accountingEvent (what the listener and daemon do before planning). */
  readonly withEventPerSecond: number;
  readonly microsecondsPerPacket: number;
}

/** Runs each loop for about `durationMs` after a warm-up and returns packets per second. */
export function measureDecode(durationMs = 1500): DecodeResult {
  const zone = benchZone('decode', 15, 4096);
  const packets = Array.from({ length: zone.count }, (_, i) => stopPacket(zone, i, 'D'));
  const secret = Buffer.from(BENCH_SECRET);
  const clients: ClientConfig[] = [{ name: 'bench-nas', address: parsePrefix('127.0.0.1/32'), secret, secretSource: 'secret', pools: [] }];
  let sink = 0;

  const validateDecode = (packet: Buffer): void => {
    const verdict = checkDatagram(packet, secret);
    if (verdict.outcome !== 'accounting') throw new Error(`decode bench: a Stop was judged ${verdict.outcome}`);
    sink += decodeAccountingAttributes(verdict.packet).framedIpAddress?.length ?? 0;
  };
  const withEvent = (packet: Buffer): void => {
    const client = matchClient(clients, '127.0.0.1');
    if (!client) throw new Error('decode bench: no client');
    const verdict = checkDatagram(packet, client.secret);
    if (verdict.outcome !== 'accounting') throw new Error(`decode bench: a Stop was judged ${verdict.outcome}`);
    sink += accountingEvent(decodeAccountingAttributes(verdict.packet), client.name, '127.0.0.1', Date.now()).addresses.length;
  };

  const rate = (body: (packet: Buffer) => void): number => {
    for (let i = 0; i < 20_000; i++) body(packets[i % packets.length]!);
    let done = 0;
    const started = nowMs();
    let elapsed = 0;
    while (elapsed < durationMs) {
      for (let i = 0; i < packets.length; i++) body(packets[i]!);
      done += packets.length;
      elapsed = nowMs() - started;
    }
    return (done * 1000) / elapsed;
  };

  const validateDecodePerSecond = rate(validateDecode);
  const withEventPerSecond = rate(withEvent);
  if (sink < 0) console.log(sink);
  return { validateDecodePerSecond, withEventPerSecond, microsecondsPerPacket: 1e6 / validateDecodePerSecond };
}
