/**
 * The generic HTTP backend: one request per DNSBL owner name, built from the configured method,
 * URL template, headers and body template. It can unlist and probe; it cannot check, since a
 * generic API has no known way to read a listing.
 */
import type { HttpBackendConfig } from './config.js';
import { RblError } from '../../errors.js';
import { formatPrefix, type IpPrefix } from '../../net/address.js';
import { dnsblNames } from '../naming.js';
import type { Backend, Listing } from '../types.js';
import { createAgents, expectStatus, redirectsElsewhere, sendHttpRequest, type CredentialSource, type HttpRequestSpec } from './request.js';
import { redactUrl } from '../../redact.js';
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

/** The requests that unlist the targets in a zone: one per owner name, duplicates dropped. Pure. */
export function genericRequests(config: HttpBackendConfig, zone: string, targets: readonly IpPrefix[]): HttpRequestSpec[] {
  const headers = authHeaders(config);
  let contentType: string | undefined;
  if (config.body !== undefined) {
    const configured = Object.keys(headers).find((key) => key.toLowerCase() === 'content-type');
    // A body without a declared type is taken to be JSON, what nearly every such API expects.
    if (configured === undefined) headers['Content-Type'] = 'application/json';
    contentType = configured === undefined ? 'application/json' : headers[configured];
  }
  const json = contentType !== undefined && isJsonContentType(contentType);
  const seen = new Set<string>();
  const requests: HttpRequestSpec[] = [];
  for (const target of targets) {
    const address = formatPrefix(target);
    for (const name of dnsblNames(target, zone)) {
      const values = { address, name, zone };
      const url = expandUrl(config.url, values);
      const body = config.body === undefined ? undefined : expandBody(config.body, values, json);
      const key = `${url}\n${body ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      requests.push({ method: config.method, url, headers, body });
    }
  }
  return requests;
}

/** A Backend for an HTTP API described by a URL template. */
export function createGenericHttpBackend(config: HttpBackendConfig): Backend {
  const agents = createAgents(config.ca);
  const credentials = credentialSource(config);

  const send = async (spec: HttpRequestSpec, success: readonly number[], what404: string): Promise<void> => {
    const response = await sendHttpRequest(config.name, spec, agents, config.timeoutMs);
    expectStatus(config.name, spec, response, success, credentials, what404);
  };

  return {
    name: config.name,
    zones: config.zones,

    async unlist(zone, targets) {
      const queue = genericRequests(config, zone, targets);
      let failure: unknown;
      const worker = async (): Promise<void> => {
        // Stop starting requests after the first failure: the whole batch is retried or dead-lettered.
        while (failure === undefined) {
          const spec = queue.shift();
          if (!spec) return;
          try {
            await send(spec, config.successStatus, 'URL');
          } catch (error) {
            failure ??= error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
      if (failure !== undefined) throw failure;
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
        .map((spec) => `${spec.method} ${redactUrl(spec.url)}${spec.body === undefined ? '' : `\n${spec.body}`}`)
        .join('\n');
    },

    async close() {
      agents.destroy();
    },
  };
}
