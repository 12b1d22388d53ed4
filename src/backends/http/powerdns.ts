/**
 * The PowerDNS Authoritative HTTP API preset (tested against 4.7):
 *   unlist  PATCH {zone URL} {"rrsets":[{"name":"NAME.","type":"A","changetype":"DELETE"}, ...]}  → 204
 *   check   GET   {zone URL}?rrset_name=NAME.   → 200, the zone with only that name's RRsets
 *   probe   GET   {zone URL}?rrsets=false       → 200, the zone without its records
 * Deleting an RRset that does not exist succeeds, so unlisting is idempotent.
 */
import type { HttpBackendConfig } from './config.js';
import { RblError } from '../../errors.js';
import type { IpPrefix } from '../../net/address.js';
import { dnsblNames } from '../naming.js';
import type { Backend, Listing } from '../types.js';
import { authHeaders, credentialSource } from './generic.js';
import { createAgents, expectStatus, sendHttpRequest, type HttpRequestSpec } from './request.js';
import { redactUrl } from '../../redact.js';

/** Owner names per PATCH: keeps one request well under PowerDNS's default 2 MB body limit (webserver-max-bodysize). */
export const MAX_NAMES_PER_PATCH = 500;

/** The API URL of a zone: the configured URL with {zone} filled in, or its last path segment replaced by the zone. */
export function powerDnsZoneUrl(configuredUrl: string, zone: string): string {
  const zoneId = `${zone.replace(/\.$/, '')}.`;
  if (configuredUrl.includes('{zone}')) return configuredUrl.replaceAll('{zone}', encodeURIComponent(zoneId));
  const url = new URL(configuredUrl);
  const segments = url.pathname.replace(/\/+$/, '').split('/');
  // ".../servers/localhost/zones" names no zone yet; ".../zones/rbl.example.net." names one, maybe another.
  if (segments[segments.length - 1] === 'zones') segments.push(encodeURIComponent(zoneId));
  else segments[segments.length - 1] = encodeURIComponent(zoneId);
  url.pathname = segments.join('/');
  url.search = '';
  return url.toString();
}

/** The PATCH bodies that delete each type at each owner name, at most MAX_NAMES_PER_PATCH names each. Pure. */
export function powerDnsPatchBodies(zone: string, targets: readonly IpPrefix[], types: readonly string[]): string[] {
  const names = [...new Set(targets.flatMap((target) => dnsblNames(target, zone)))];
  const bodies: string[] = [];
  for (let start = 0; start < names.length; start += MAX_NAMES_PER_PATCH) {
    const rrsets = names
      .slice(start, start + MAX_NAMES_PER_PATCH)
      .flatMap((name) => types.map((type) => ({ name: `${name}.`, type, changetype: 'DELETE' })));
    bodies.push(JSON.stringify({ rrsets }));
  }
  return bodies;
}

interface ZoneAnswer {
  rrsets?: { name?: string; type?: string; records?: { content?: string; disabled?: boolean }[] }[];
}

/** A TXT record's presentation text ("a" "b") as its joined character strings (ab), escapes resolved, read as UTF-8. */
export function txtContent(presentation: string): string {
  const strings = [...presentation.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1] ?? '');
  if (strings.length === 0) return presentation;
  // RFC 1035 §5.1: \DDD is one octet in decimal, \X is X; the octets of a UTF-8 reason are kept together.
  const bytes: number[] = [];
  const chars = Array.from(strings.join(''));
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    const digits = chars.slice(i + 1, i + 4).join('');
    if (char === '\\' && /^\d{3}$/.test(digits)) {
      bytes.push(Number(digits) & 0xff);
      i += 3;
    } else if (char === '\\' && i + 1 < chars.length) {
      bytes.push(...Buffer.from(chars[++i]!, 'utf8'));
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A Backend for one or more zones of a PowerDNS Authoritative server's HTTP API. */
export function createPowerDnsBackend(config: HttpBackendConfig): Backend {
  if (config.deleteTypes.includes('ANY')) {
    throw new RblError('RBL_CONFIG_INVALID', `${config.name}: delete: [ANY] cannot be expressed in the PowerDNS API; list the record types, e.g. [A, TXT]`);
  }
  const agents = createAgents(config.ca);
  const credentials = credentialSource(config);
  const headers = { ...authHeaders(config), Accept: 'application/json' };

  const send = async (spec: HttpRequestSpec, success: readonly number[], zone: string) => {
    const response = await sendHttpRequest(config.name, spec, agents, config.timeoutMs);
    expectStatus(config.name, spec, response, success, credentials, `zone ${zone}`);
    return response;
  };

  const patches = (zone: string, targets: readonly IpPrefix[]): HttpRequestSpec[] =>
    powerDnsPatchBodies(zone, targets, config.deleteTypes).map((body) => ({
      method: 'PATCH',
      url: powerDnsZoneUrl(config.url, zone),
      headers: { ...headers, 'Content-Type': 'application/json' },
      body,
    }));

  return {
    name: config.name,
    zones: config.zones,

    async unlist(zone, targets) {
      for (const spec of patches(zone, targets)) await send(spec, config.successStatus, zone);
    },

    async check(zone, target) {
      const names: { name: string; a: string[]; txt: string[] }[] = [];
      for (const name of dnsblNames(target, zone)) {
        const url = new URL(powerDnsZoneUrl(config.url, zone));
        url.searchParams.set('rrset_name', `${name}.`);
        const response = await send({ method: 'GET', url: url.toString(), headers }, [200], zone);
        let answer: ZoneAnswer;
        try {
          answer = JSON.parse(response.body.toString('utf8')) as ZoneAnswer;
        } catch (error) {
          throw new RblError('RBL_HTTP_STATUS', `${config.name}: GET ${redactUrl(url.toString())}: the answer is not JSON; is url a PowerDNS zone URL?`, { cause: error });
        }
        // A server that ignores rrset_name sends the whole zone, so the name is matched here as well.
        const owner = `${name}.`.toLowerCase();
        const contents = (type: string) =>
          (answer.rrsets ?? [])
            .filter((rrset) => rrset.name?.toLowerCase() === owner && rrset.type === type)
            .flatMap((rrset) => (rrset.records ?? []).filter((record) => !record.disabled).map((record) => record.content ?? ''));
        names.push({ name, a: contents('A'), txt: contents('TXT').map(txtContent) });
      }
      return { zone, names, listed: names.some((entry) => entry.a.length > 0 || entry.txt.length > 0) } satisfies Listing;
    },

    async probe(zone) {
      const url = new URL(powerDnsZoneUrl(config.url, zone));
      url.searchParams.set('rrsets', 'false');
      await send({ method: 'GET', url: url.toString(), headers }, [200], zone);
    },

    describe(zone, targets) {
      return patches(zone, targets)
        .map((spec) => `${spec.method} ${redactUrl(spec.url)}\n${spec.body}`)
        .join('\n');
    },

    async close() {
      agents.destroy();
    },
  };
}
