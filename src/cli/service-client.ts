/**
 * How `status` and `why` reach the running service: a GET of its read-only HTTP endpoint at
 * http.listen from the same config, with a time limit. A wildcard listen address is asked on
 * loopback. Any failure is RBL_SERVICE_UNREACHABLE saying where it asked and why.
 */
import type { Config } from '../config/load.js';
import { RblError } from '../errors.js';
import { hostPort } from '../net/host-port.js';

/** How long to wait for the service's answer. */
export const SERVICE_TIMEOUT_MS = 5000;

/** The base URL of the service's endpoint, or undefined when http.listen is "". */
export function serviceUrl(config: Config): string | undefined {
  const listen = config.http.listen;
  if (!listen) return undefined;
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return `http://${hostPort(host, listen.port)}`;
}

/** GETs `path` from the running service and parses its JSON; throws RBL_SERVICE_UNREACHABLE. */
export async function getServiceJson(config: Config, path: string, timeoutMs = SERVICE_TIMEOUT_MS): Promise<unknown> {
  const base = serviceUrl(config);
  if (!base) {
    throw new RblError('RBL_SERVICE_UNREACHABLE', `http.listen is "" in ${config.file}: the service serves no status; set http.listen (default 127.0.0.1:9813)`);
  }
  const url = `${base}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new RblError('RBL_SERVICE_UNREACHABLE', `no answer from the service at ${url}: ${failure(error, timeoutMs)}; is rbl-unlist serve running with ${config.file}?`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RblError('RBL_SERVICE_UNREACHABLE', `the service at ${url} answered ${response.status} without JSON (an older rbl-unlist, or something else on that port?)`);
  }
  if (response.status === 400) {
    // The service's own refusal (a bad address): passed on with its code.
    const error = (body as { error?: { code?: string; message?: string } }).error;
    if (error?.code === 'RBL_ADDRESS_INVALID') throw new RblError('RBL_ADDRESS_INVALID', error.message ?? text);
  }
  if (response.status === 503) {
    // Up but not open yet: replaying its journal, or waiting for room in state.dir.
    const error = (body as { error?: { code?: string; message?: string } }).error;
    if (error?.code === 'RBL_STATE_DIR') throw new RblError('RBL_STATE_DIR', `the service at ${base} is not serving yet: ${error.message ?? text.trim()}`);
    // Too many /status or /addresses requests waiting (other clients' or a script's): the view was not built.
    if (error?.code === 'busy') throw new RblError('RBL_SERVICE_UNREACHABLE', `the service at ${base} is ${error.message ?? 'busy'}`);
  }
  if (!response.ok) throw new RblError('RBL_SERVICE_UNREACHABLE', `the service at ${url} answered ${response.status}: ${text.trim().slice(0, 200)}`);
  return body;
}

function failure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}
