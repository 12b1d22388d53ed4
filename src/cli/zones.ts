/**
 * Runs one operation on every zone of every configured backend, through the same backend code
 * as the service. Every (backend, zone) pair runs even when another fails, so one server's
 * outage never hides whether the others did their part; results keep the config's order.
 */
import type { Config } from '../config/load.js';
import { createBackend, type Backend } from '../backends/index.js';

/** What the operation did for one zone of one backend. */
export type ZoneOutcome<T> =
  | { readonly backend: string; readonly zone: string; readonly ok: true; readonly value: T }
  | { readonly backend: string; readonly zone: string; readonly ok: false; readonly error: unknown };

/** Creates every backend, runs `operation` on each of its zones concurrently, then closes them all. */
export async function onEveryZone<T>(config: Config, operation: (backend: Backend, zone: string) => Promise<T>): Promise<ZoneOutcome<T>[]> {
  const backends = config.backends.map((backendConfig) => createBackend(backendConfig));
  try {
    const runs = backends.flatMap((backend) =>
      backend.zones.map(async (zone): Promise<ZoneOutcome<T>> => {
        try {
          return { backend: backend.name, zone, ok: true, value: await operation(backend, zone) };
        } catch (error) {
          return { backend: backend.name, zone, ok: false, error };
        }
      }),
    );
    return await Promise.all(runs);
  } finally {
    await Promise.allSettled(backends.map((backend) => backend.close()));
  }
}

/** "BACKEND, zone ZONE": where a result or an error happened, for messages. */
export function zoneLabel(outcome: { readonly backend: string; readonly zone: string }): string {
  return `${outcome.backend}, zone ${outcome.zone}`;
}
