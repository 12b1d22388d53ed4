/** Reading the running service's Prometheus text at GET /metrics, for tests that wait on a counter. */
import { waitFor } from './peers.js';

/** The /metrics text of the service's HTTP endpoint on 127.0.0.1:port. */
export async function scrapeMetrics(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}

/** The value of one sample line (name with its labels, as printed), 0 when absent. */
export function sample(metrics: string, line: string): number {
  const found = metrics.split('\n').find((text) => text.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

/** rbl_unlist_radius_packets_total for one outcome, every transport and client added up. */
export async function packetsCounted(port: number, outcome: string): Promise<number> {
  const prefix = `rbl_unlist_radius_packets_total{outcome="${outcome}"`;
  let sum = 0;
  for (const line of (await scrapeMetrics(port)).split('\n')) {
    if (line.startsWith(`${prefix},`) || line.startsWith(`${prefix}}`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Waits until rbl_unlist_radius_packets_total{outcome} reaches `atLeast`: the positive sign a datagram was handled. */
export async function waitForPacketsCounted(port: number, outcome: string, atLeast: number, timeoutMs = 5000): Promise<void> {
  await waitFor(`rbl_unlist_radius_packets_total{outcome="${outcome}"} to reach ${atLeast}`, async () => (await packetsCounted(port, outcome)) >= atLeast, timeoutMs);
}
