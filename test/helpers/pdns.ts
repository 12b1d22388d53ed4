/**
 * A real PowerDNS Authoritative server (pdns_server with the gsqlite3 backend and its HTTP API) in a
 * temporary folder on 127.0.0.1, at free ports, with the given zones loaded by pdnsutil.
 */
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HttpBackendConfig } from '../../src/backends/http/config.js';
import { executable, freePort, spawnLogged, tempDir, waitFor, type LoggedProcess } from './peers.js';

const run = promisify(execFile);

const SCHEMA_CANDIDATES = [
  '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql',
  '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql',
];

export interface ZoneRecord {
  /** Relative to the zone ("2.0.0.10"), "@" for the apex, or absolute with a trailing dot. */
  readonly name: string;
  readonly type: string;
  /** Presentation format: "127.0.0.2", "\"listed for spam\"". */
  readonly content: string;
}

export interface PowerDnsOptions {
  readonly zones: readonly { readonly name: string; readonly records?: readonly ZoneRecord[] }[];
  readonly apiKey?: string;
}

export interface PowerDns {
  /** The DNS port on 127.0.0.1 (UDP and TCP). */
  readonly port: number;
  /** The HTTP API port on 127.0.0.1. */
  readonly apiPort: number;
  readonly apiKey: string;
  /** The zone's API URL: http://127.0.0.1:PORT/api/v1/servers/localhost/zones/ZONE. */
  apiUrl(zone: string): string;
  /** The records of a name and type, asked over DNS (TXT strings joined); [] for NXDOMAIN or no data. */
  query(name: string, type: 'A' | 'AAAA' | 'TXT'): Promise<string[]>;
  /** What the server logged so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts pdns_server in the foreground and waits until its API answers. */
export async function startPowerDns(options: PowerDnsOptions): Promise<PowerDns> {
  const pdnsServer = executable('pdns_server');
  const pdnsutil = executable('pdnsutil');
  const sqlite3 = executable('sqlite3');
  const schema = SCHEMA_CANDIDATES.find((path) => existsSync(path));
  if (!schema) throw new Error(`PowerDNS sqlite3 schema not found in ${SCHEMA_CANDIDATES.join(' or ')}; install pdns-backend-sqlite3`);

  const temp = tempDir('pdns');
  const apiKey = options.apiKey ?? 'pdns-test-key';
  const port = await freePort();
  let apiPort = await freePort();
  while (apiPort === port) apiPort = await freePort();
  const database = join(temp.dir, 'pdns.sqlite3');
  let peer: LoggedProcess | undefined;

  try {
    await run(sqlite3, ['-init', schema, database, '.quit']);
    // One pdns.conf read by both pdnsutil and pdns_server, so they open the same database.
    writeFileSync(
      join(temp.dir, 'pdns.conf'),
      [
        'launch=gsqlite3',
        `gsqlite3-database=${database}`,
        'local-address=127.0.0.1',
        `local-port=${port}`,
        `socket-dir=${temp.dir}`,
        'api=yes',
        `api-key=${apiKey}`,
        'webserver=yes',
        'webserver-address=127.0.0.1',
        `webserver-port=${apiPort}`,
        'webserver-allow-from=127.0.0.0/8',
        // No caches: a test reads over DNS right after changing the zone through the API.
        'cache-ttl=0',
        'negquery-cache-ttl=0',
        'query-cache-ttl=0',
        'zone-cache-refresh-interval=0',
        'distributor-threads=1',
        'receiver-threads=1',
        'loglevel=4',
        '',
      ].join('\n'),
    );
    for (const zone of options.zones) {
      const origin = `${zone.name.replace(/\.$/, '')}.`;
      const lines = [
        `$ORIGIN ${origin}`,
        `@ 3600 IN SOA ns1.${origin} hostmaster.${origin} 1 3600 600 604800 60`,
        `@ 3600 IN NS ns1.${origin}`,
        ...(zone.records ?? []).map((record) => `${record.name} 60 IN ${record.type} ${record.content}`),
        '',
      ];
      const file = join(temp.dir, `${origin}zone`);
      writeFileSync(file, lines.join('\n'));
      await run(pdnsutil, [`--config-dir=${temp.dir}`, 'load-zone', origin, file]);
    }

    peer = spawnLogged(pdnsServer, [`--config-dir=${temp.dir}`, '--daemon=no', '--guardian=no', '--disable-syslog', '--write-pid=no'], temp.dir);
    const started = peer;
    await waitFor('the PowerDNS API to answer', async () => {
      if (started.child.exitCode !== null) throw new Error(`pdns_server exited with ${started.child.exitCode}:\n${started.output()}`);
      try {
        const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/servers/localhost`, { headers: { 'X-API-Key': apiKey } });
        return response.status === 200;
      } catch {
        return false;
      }
    });
  } catch (error) {
    peer?.child.kill('SIGKILL');
    temp.remove();
    throw error;
  }

  const { child: server, output } = peer;
  return {
    port,
    apiPort,
    apiKey,
    apiUrl: (zone) => `http://127.0.0.1:${apiPort}/api/v1/servers/localhost/zones/${zone.replace(/\.$/, '')}.`,
    async query(name, type) {
      // A fresh resolver each time: c-ares may cache answers per channel.
      const resolver = new Resolver({ timeout: 2000, tries: 2 });
      resolver.setServers([`127.0.0.1:${port}`]);
      try {
        if (type === 'TXT') return (await resolver.resolveTxt(name)).map((strings) => strings.join(''));
        return await resolver.resolve(name, type);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
        throw error;
      }
    },
    log: output,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
        server.kill('SIGTERM');
        const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Read what it printed before the folder goes.
      output();
      temp.remove();
    },
  };
}

/** An http backend config for the PowerDNS preset pointing at one zone of the server, as load.ts would build it. */
export function powerDnsBackendConfig(pdns: PowerDns, zone: string, overrides: Partial<HttpBackendConfig> = {}): HttpBackendConfig {
  return {
    type: 'http',
    name: `http 127.0.0.1:${pdns.apiPort}`,
    preset: 'powerdns',
    url: pdns.apiUrl(zone),
    zones: [zone],
    method: 'PATCH',
    headers: {},
    body: undefined,
    apiKey: pdns.apiKey,
    token: undefined,
    successStatus: [204],
    deleteTypes: ['A', 'TXT'],
    timeoutMs: 5000,
    ca: undefined,
    ...overrides,
  };
}
