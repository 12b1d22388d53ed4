/**
 * The open RadSec connections counted by a key (a client's name, a source address), each until its
 * socket closes: what max_connections_per_client caps, per client after the handshake and per
 * source address before it.
 */
import type { Socket } from 'node:net';

export class OpenConnections {
  readonly #counts = new Map<string, number>();

  /** How many connections are open under `key`. */
  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Counts `socket` under `key` until it closes. */
  hold(key: string, socket: Socket): void {
    this.#counts.set(key, this.count(key) + 1);
    socket.once('close', () => {
      const left = this.count(key) - 1;
      if (left > 0) this.#counts.set(key, left);
      else this.#counts.delete(key);
    });
  }
}
