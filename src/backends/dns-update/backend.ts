/**
 * The DNS UPDATE backend: deletes a target's DNSBL names from a zone by RFC 2136 UPDATE signed
 * with TSIG (RFC 8945), many names per message; checks and probes with signed queries.
 */
import type { DnsUpdateBackendConfig } from './config.js';
import { RblError } from '../../errors.js';
import type { IpPrefix } from '../../net/address.js';
import { dnsblNames } from '../naming.js';
import type { Backend, Listing } from '../types.js';
import { RR_TYPE, batchDeleteNames, buildDeleteUpdate, buildQuery, rrTypeName, rrTypeNumber } from './message.js';
import { checkAnswer, judgeAnswer, type AnswerContext, type BelievedAnswer } from './outcome.js';
import type { DnsMessage } from './response.js';
import { TcpConnectionPool } from './tcp-pool.js';
import { endpointText } from '../../net/host-port.js';
import { exchange, randomMessageId, TCP_MAX_BYTES } from './transport.js';
import { requestMacOf, signTsig } from './tsig.js';

/**
 * An UPDATE carries at most this many bytes before its TSIG RR: well inside TCP's 64 KiB, and
 * large enough for about 1,500 IPv4 names deleting A and TXT.
 */
export const MAX_UPDATE_BYTES = 60_000;
/**
 * How long a TCP connection to the server stays open unused: long enough to carry the next UPDATE
 * of a busy lane, well inside BIND's tcp-idle-timeout (30 s) and Knot's (10 s), so the server
 * seldom closes one under a message.
 */
const TCP_IDLE_MS = 5_000;
/** The delivery worker's calls in flight per zone (queue/store.ts): each may hold a connection. */
const CALLS_PER_ZONE = 2;
/** Room for the TSIG RR: key and algorithm names (255 each at most), a 64-byte MAC, fixed fields. */
const TSIG_RESERVE = 255 + 255 + 64 + 26;

/** Builds the DNS UPDATE backend for one `backends[]` entry; bad delete types fail here. */
export function createDnsUpdateBackend(config: DnsUpdateBackendConfig): Backend {
  const types = config.deleteTypes.map(rrTypeNumber);
  // [ANY] deletes every RRset at the name (RFC 2136 §2.5.3); with other types it adds nothing.
  const deleteTypes = types.includes(RR_TYPE.ANY) ? [RR_TYPE.ANY] : [...new Set(types)];
  const server = endpointText(config.server);
  const maxUpdateBytes = Math.min(MAX_UPDATE_BYTES, TCP_MAX_BYTES - TSIG_RESERVE);
  // RFC 7766 §6.2.1: UPDATEs too large for UDP share a few kept connections instead of a connect each.
  const pool = new TcpConnectionPool(config.server, { maxIdle: CALLS_PER_ZONE * config.zones.length, idleMs: TCP_IDLE_MS });

  const context = (zone: string, operation: AnswerContext['operation'], what: string): AnswerContext => ({
    server,
    zone,
    key: config.tsig,
    keySource: config.tsigSource,
    what,
    operation,
  });

  const zoneOf = (zone: string): string => {
    const name = zone.toLowerCase().replace(/\.$/, '');
    if (!config.zones.includes(name)) {
      throw new RblError('RBL_CONFIG_INVALID', `zone ${zone} is not among the zones of backend ${config.name} (${config.zones.join(', ')})`);
    }
    return name;
  };

  /** Signs and sends one message, waits for an answer that verifies, and returns it after checking its RCODE. */
  const send = async (message: Buffer, answer: AnswerContext, acceptNxdomain = false): Promise<DnsMessage> => {
    const signed = signTsig(message, config.tsig);
    const requestMac = requestMacOf(signed, config.tsig);
    let believed: BelievedAnswer | undefined;
    // An unsigned rejection of our key or time (the one unsigned answer RFC 8945 §5.3.2 allows): anyone
    // who can send a datagram can forge it, so the wait goes on for a signed answer, and it is
    // believed only when none comes.
    let rejection: BelievedAnswer | undefined;
    try {
      await exchange(config.server, signed, {
        timeoutMs: config.timeoutMs,
        pool,
        judge: (response) => {
          const judged = judgeAnswer(response, requestMac, config.tsig);
          if ('reason' in judged) return judged.reason;
          if (!judged.verification.valid) {
            rejection ??= judged;
            return 'an unsigned rejection of the key (NOTAUTH with an empty MAC), believed only if no signed answer follows';
          }
          believed = judged;
          return undefined;
        },
      });
    } catch (error) {
      if (rejection) checkAnswer(rejection.message.header.rcode, rejection.verification, answer, acceptNxdomain);
      throw error;
    }
    // exchange resolves only after judge took an answer (a TC answer is followed by a TCP exchange).
    const { message: parsed, verification } = believed!;
    checkAnswer(parsed.header.rcode, verification, answer, acceptNxdomain);
    return parsed;
  };

  /** The names of the targets in the zone, each once (the worker sends distinct targets; a prefix's names may repeat another's). */
  const namesOf = (zone: string, targets: readonly IpPrefix[]): string[] => {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const target of targets) {
      for (const name of dnsblNames(target, zone)) {
        if (seen.has(name)) continue;
        seen.add(name);
        names.push(name);
      }
    }
    return names;
  };
  const typeList = deleteTypes.map(rrTypeName).join(', ');

  return {
    name: config.name,
    zones: config.zones,

    async unlist(zone, targets) {
      const zoneName = zoneOf(zone);
      const batches = batchDeleteNames(zoneName, namesOf(zoneName, targets), deleteTypes, maxUpdateBytes);
      // One batch after another: a server applies one zone's updates in order anyway, and a
      // failure stops before the next message, so the caller retries from a known point.
      for (const names of batches) {
        const message = buildDeleteUpdate({ id: randomMessageId(), zone: zoneName, names, types: deleteTypes });
        await send(message, context(zoneName, 'update', typeList));
      }
    },

    async check(zone, target): Promise<Listing> {
      const zoneName = zoneOf(zone);
      const names = await Promise.all(
        dnsblNames(target, zoneName).map(async (name) => {
          const [a, txt] = await Promise.all(
            [RR_TYPE.A, RR_TYPE.TXT].map(async (type) => {
              const answer = await send(buildQuery(randomMessageId(), name, type), context(zoneName, 'query', `${rrTypeName(type)} query for ${name}`), true);
              return answer.answers.filter((record) => record.type === type && typeof record.data === 'string').map((record) => record.data as string);
            }),
          );
          return { name, a: a ?? [], txt: txt ?? [] };
        }),
      );
      return { zone: zoneName, names, listed: names.some((entry) => entry.a.length > 0 || entry.txt.length > 0) };
    },

    async probe(zone) {
      const zoneName = zoneOf(zone);
      const answer = await send(buildQuery(randomMessageId(), zoneName, RR_TYPE.SOA), context(zoneName, 'query', 'SOA query'));
      const soa = answer.answers.find((record) => record.type === RR_TYPE.SOA && record.name === zoneName);
      if (!answer.header.aa || !soa) {
        throw new RblError('RBL_DNS_NOTAUTH', `${server} gave no authoritative SOA for zone ${zoneName}: check the zone name and that the server is its primary`);
      }
    },

    describe(zone, targets) {
      const zoneName = zoneOf(zone);
      const { host, port } = config.server;
      const lines = [`; signed with TSIG key ${config.tsig.name} (${config.tsig.algorithm}) from ${config.tsigSource}: nsupdate -k FILE`];
      for (const names of batchDeleteNames(zoneName, namesOf(zoneName, targets), deleteTypes, maxUpdateBytes)) {
        lines.push(`server ${host} ${port}`, `zone ${zoneName}.`);
        for (const name of names) {
          for (const type of deleteTypes) lines.push(type === RR_TYPE.ANY ? `update delete ${name}.` : `update delete ${name}. ${rrTypeName(type)}`);
        }
        lines.push('send');
      }
      return `${lines.join('\n')}\n`;
    },

    async close() {
      // UDP sockets are closed after each exchange; kept TCP connections now, or when their exchange ends.
      pool.close();
    },
  };
}
