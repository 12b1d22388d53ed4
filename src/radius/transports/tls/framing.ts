/**
 * Cuts a RadSec byte stream into RADIUS packets by their Length field (RFC 6613 §2.2, RFC 6614 §2.5):
 * TLS records and TCP segments have no relation to packet boundaries, so one read may hold several
 * packets or a piece of one. A Length below 20 or above 4096 cannot be resynchronised from, so the
 * stream is declared broken and the connection must be closed. Pure code.
 */
import { HEADER_LENGTH, MAX_PACKET_LENGTH } from '../../protocol.js';

/** Octets before the Length field ends: Code, Identifier, Length. */
const LENGTH_END = 4;

export type FramedChunk =
  | { readonly ok: true; readonly packets: readonly Buffer[] }
  /** `packets` are the whole ones before the broken Length; they are still handled. */
  | { readonly ok: false; readonly packets: readonly Buffer[]; readonly reason: string };

/** Accumulates the octets of one connection and returns every whole packet as it completes. */
export class RadiusStreamFramer {
  private pending: Buffer = Buffer.alloc(0);

  /** Octets held of a packet not yet complete. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Adds what was read; returns the packets it completes, or why the stream cannot be framed. */
  push(chunk: Buffer): FramedChunk {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const packets: Buffer[] = [];
    while (buffer.length >= LENGTH_END) {
      const length = buffer.readUInt16BE(2);
      if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) {
        this.pending = Buffer.alloc(0);
        const bound = length < HEADER_LENGTH ? `below the ${HEADER_LENGTH}-octet minimum` : `above the ${MAX_PACKET_LENGTH}-octet maximum`;
        return { ok: false, packets, reason: `Length ${length} is ${bound}; the stream cannot be framed` };
      }
      if (buffer.length < length) break;
      packets.push(buffer.subarray(0, length));
      buffer = buffer.subarray(length);
    }
    // A copy, so a small remainder does not keep a large read buffer alive.
    this.pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
    return { ok: true, packets };
  }
}
