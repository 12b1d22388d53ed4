/**
 * The generic HTTP backend: one request per DNSBL owner name, built from the configured method,
 * URL template, headers and body template. It can unlist and probe; it cannot check, since a
 * generic API has no known way to read a listing.
 */
import type { HttpBackendConfig } from './config.js';
import { RblError } from '../../errors.js';
import { formatPrefix, type IpPrefix } from '../../net/address.js';
import { dnsblNames } from '../naming.js';
import { TargetFailures } from '../target-failures.js';
import type { Backend, Listing } from '../types.js';
import { createAgents, expectStatus, isHtmlPage, redirectsElsewhere, sendHttpRequest, type CredentialSource, type HttpRequestSpec, type HttpResponse } from './request.js';
import { redactBody, redactUrl } from '../../redact.js';
import { expandBody, expandUrl, isJsonContentType, probeUrl } from './template.js';

// Requests in flight at once for one unlist call: enough to drain a batch, few enough not to flood the API.
const CONCURRENCY = 4;

/** The headers every request carries: the configured ones, then the credentials. */
export function authHeaders(config: HttpBackendConfig): Record<string, string> {
  const headers: Record<string, string> = { 'User-Agent': 'rbl-unlist', ...config.headers };
  if (config.token !== undefined) headers.Authorization = `Bearer ${config.token}`;
  if (config.apiKey !== undefined) headers['X-API-Key'] = config.apiKey;
  return headers;
}

/** Which secret file a 401/403 points at. */
export function credentialSource(config: HttpBackendConfig): CredentialSource {
  if (config.apiKey !== undefined) return 'api_key_file';
  if (config.token !== undefined) return 'token_file';
  return undefined;
}

/** One request of an unlist call, and the targets (indexes into the call's) whose names it deletes. */
interface TargetRequest {
  readonly spec: HttpRequestSpec;
  readonly targets: number[];
}

/** The requests that unlist the targets in a zone: one per owner name, duplicates sent once. Pure. */
export function genericRequests(config: HttpBackendConfig, zone: string, targets: readonly IpPrefix[]): TargetRequest[] {
  const headers = authHeaders(config);
  let contentType: string | undefined;
  if (config.body !== undefined) {
    const configured = Object.keys(headers).find((key) => key.toLowerCase() === 'content-type');
    // A body without a declared type is taken to be JSON, what nearly every such API expects.
    if (configured === undefined) headers['Content-Type'] = 'application/json';
    contentType = configured === undefined ? 'application/json' : headers[configured];
  }
  const json = contentType !== undefined && isJsonContentType(contentType);
  const byKey = new Map<string, TargetRequest>();
  targets.forEach((target, index) => {
    const address = formatPrefix(target);
    for (const name of dnsblNames(target, zone)) {
      const values = { address, name, zone };
      const url = expandUrl(config.url, values);
      const body = config.body === undefined ? undefined : expandBody(config.body, values, json);
      const key = `${url}\n${body ?? ''}`;
      const known = byKey.get(key);
      if (known === undefined) byKey.set(key, { spec: { method: config.method, url, headers, body }, targets: [index] });
      else if (!known.targets.includes(index)) known.targets.push(index);
    }
  });
  return [...byKey.values()];
}

/**
 * Whether an answer fails its request's names alone: a 500 (the API's trouble with that record),
 * or a 4xx about the request itself. Everything else speaks for the whole API, and what was not
 * sent would fail too: no answer, a rejected key (401, 403, 407), "come back later" (408, 429, a
 * Retry-After), a gateway or overload (502, 503, 504), a redirect, a status in `success` with an
 * HTML page (a captive portal's or a proxy's, which the API never saw), anything else.
 */
export function failsForItself(response: HttpResponse, success: readonly number[]): boolean {
  if (response.retryAfter !== undefined) return false;
  if (success.includes(response.status) && isHtmlPage(response)) return false;
  if (response.status === 500) return true;
  return response.status >= 400 && response.status < 500 && ![401, 403, 407, 408, 429].includes(response.status);
}

/** A Backend for an HTTP API described by a URL template. */
export function createGenericHttpBackend(config: HttpBackendConfig): Backend {
  const agents = createAgents(config.ca);
  const credentials = credentialSource(config);

  return {
    name: config.name,
    zones: config.zones,

    async unlist(zone, targets) {
      const requests = genericRequests(config, zone, targets);
      // Targets of requests that failed, each with its first failure: the jobs they are in are
      // held or dead letters, so that a name failing every time is never first of every call.
      const failed = new Map<number, RblError>();
      let firstFailure: RblError | undefined;
      let serverFailure: RblError | undefined;
      let successes = 0;
      let next = 0;
      const send = async (request: TargetRequest): Promise<void> => {
        let response: HttpResponse | undefined;
        try {
          response = await sendHttpRequest(config.name, request.spec, agents, config.timeoutMs);
          expectStatus(config.name, request.spec, response, config.successStatus, credentials, 'URL');
          successes++;
        } catch (caught) {
          const error = caught instanceof RblError ? caught : new RblError('RBL_HTTP_CONNECTION', `${config.name}: ${String(caught)}`, { transient: true });
          firstFailure ??= error;
          if (response === undefined || !failsForItself(response, config.successStatus)) serverFailure ??= error;
          for (const index of request.targets) if (!failed.has(index)) failed.set(index, error);
        }
      };
      // Until one request went through, only the first CONCURRENCY are sent: an API that takes none
      // of them may fail every name, and the lane backs off. A failure of the whole API stops the
      // call at once. Each answer lets the next request go, CONCURRENCY at a time.
      await new Promise<void>((resolve) => {
        let running = 0;
        const pump = (): void => {
          while (running < CONCURRENCY && next < requests.length && serverFailure === undefined && (successes > 0 || next < CONCURRENCY)) {
            running++;
            void send(requests[next++]!).finally(() => {
              running--;
              pump();
            });
          }
          if (running === 0) resolve();
        };
        pump();
      });
      if (firstFailure === undefined) return;
      // Not unlisted: the targets of a request that failed or was never sent.
      const unsent = new Set(requests.slice(next).flatMap((request) => request.targets));
      const unlisted = targets.filter((_, index) => !failed.has(index) && !unsent.has(index));
      throw new TargetFailures(firstFailure, unlisted, new Map([...failed].map(([index, error]) => [targets[index]!, error])), serverFailure);
    },

    check(zone: string, target: IpPrefix): Promise<Listing> {
      return Promise.reject(
        new RblError(
          'RBL_HTTP_STATUS',
          `${config.name}: cannot check ${formatPrefix(target)} in ${zone}: a generic HTTP backend has no way to read a listing; query the zone with dig, or use preset: powerdns`,
        ),
      );
    },

    async probe(zone) {
      // A generic API need not serve GET at the base URL, so any answer but 401/403 or 5xx shows it is up
      // and takes the credentials; a 404 there says nothing about the unlist URLs, nor does a redirect
      // to a page of the same server. A redirect to another origin (http to https, another host) is
      // what every unlist would get too, and no redirect is followed: each would be a dead letter.
      const spec: HttpRequestSpec = { method: 'GET', url: probeUrl(config.url, zone), headers: authHeaders(config) };
      const response = await sendHttpRequest(config.name, spec, agents, config.timeoutMs);
      const acceptable = response.status < 500 && response.status !== 401 && response.status !== 403 && !redirectsElsewhere(spec, response);
      if (!acceptable) expectStatus(config.name, spec, response, [], credentials, 'URL');
    },

    describe(zone, targets) {
      return genericRequests(config, zone, targets)
        .map(({ spec }) => `${spec.method} ${redactUrl(spec.url)}${spec.body === undefined ? '' : `\n${redactBody(spec.body)}`}`)
        .join('\n');
    },

    async close() {
      agents.destroy();
    },
  };
}
