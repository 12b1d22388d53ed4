/**
 * `rbl-unlist check-config [--probe]`: loads the config as the service would (every secret and
 * key file is read and parsed), prints what it understood, warns about key files others can read,
 * and with --probe proves each backend accepts the credentials without changing anything.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Command } from 'commander';
import { BACKENDS } from '../backends/index.js';
import type { BackendConfig, Config } from '../config/load.js';
import { formatPrefix } from '../net/address.js';
import { configOption, jsonOption, loadCliConfig, type ConfigOptions, type JsonOptions } from './options.js';
import { errorLine, errorReport, printErrorLine, printJson, printLine, type CliIo, type CommandRunner } from './output.js';
import { onEveryZone, zoneLabel } from './zones.js';
import { endpointText } from '../net/host-port.js';

export interface CheckConfigOptions extends ConfigOptions, JsonOptions {
  readonly probe?: boolean;
}

/** Adds `check-config` to the program; `run` reports its errors and exit status. */
export function addCheckConfigCommand(program: Command, io: CliIo, run: CommandRunner): void {
  program
    .command('check-config')
    .summary('validate the config and key files; --probe tests the keys against the servers')
    .description(
      'Reads and validates the config and every secret and key file it names, then prints a summary. ' +
        'Warns about secret and key files that group or others can read. With --probe, asks each zone of each ' +
        'backend for its SOA (TSIG-signed for DNS UPDATE, authenticated for HTTP): this proves the server answers ' +
        'and accepts the key, and changes nothing.',
    )
    .addOption(configOption())
    .option('-p, --probe', 'also test each backend and zone with a signed, read-only query')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist check-config --config /etc/rbl-unlist/config.yaml
  $ rbl-unlist check-config --probe

Exit status: 0 the config is valid (and every probe passed); 1 a probe failed; 2 the config is wrong.`,
    )
    .action((options: CheckConfigOptions) => run(() => runCheckConfig(options, io), options.json));
}

/** Runs `check-config`; returns the exit status. Throws RblError for a bad config (exit 2). */
export async function runCheckConfig(options: CheckConfigOptions, io: CliIo): Promise<number> {
  const config = loadCliConfig(options, io);
  const warnings = config.looseFiles.map((file) => ({ file, message: looseFileWarning(file) }));
  const probes = options.probe ? await onEveryZone(config, (backend, zone) => backend.probe(zone)) : [];
  const failed = probes.filter((probe) => !probe.ok);
  const status = failed.length > 0 ? 1 : 0;

  for (const warning of warnings) printErrorLine(io, `rbl-unlist: warning: ${warning.message}`);
  for (const probe of failed) if (!probe.ok) printErrorLine(io, errorLine(probe.error, `probe ${zoneLabel(probe)}`));

  if (options.json) {
    printJson(io, {
      ok: status === 0,
      config: configSummary(config),
      warnings,
      probes: probes.map((probe) => ({
        backend: probe.backend,
        zone: probe.zone,
        ok: probe.ok,
        ...(probe.ok ? {} : { error: errorReport(probe.error) }),
      })),
    });
    return status;
  }

  for (const line of summaryLines(config)) printLine(io, line);
  for (const probe of probes) printLine(io, `probe ${zoneLabel(probe)}: ${probe.ok ? 'OK, the server answered and accepted the key' : 'FAILED'}`);
  return status;
}

/** "FILE is readable by others: chmod 600 FILE", naming group or others as the mode says. */
function looseFileWarning(file: string): string {
  let who = 'group or others';
  try {
    who = (statSync(file).mode & 0o007) !== 0 ? 'others' : 'group';
  } catch {
    // it was readable a moment ago when the config was loaded; keep the general wording
  }
  return `${file} is readable by ${who}: chmod 600 ${file}`;
}

function backendSummary(backend: BackendConfig): Record<string, unknown> {
  const common = { name: backend.name, type: backend.type, zones: backend.zones, delete: backend.deleteTypes, timeoutMs: backend.timeoutMs };
  return { ...common, ...BACKENDS.summary(backend).fields };
}

/** What the config says, without secrets, for --json. */
function configSummary(config: Config): Record<string, unknown> {
  return {
    file: config.file,
    radius: {
      listen: config.radius.listen.map(endpointText),
      clients: config.radius.clients.map((client) => ({
        name: client.name,
        address: formatPrefix(client.address),
        secret: client.secretSource,
        pools: client.pools.map(formatPrefix),
        transport: client.transport ?? 'udp',
        ...(client.certificateName === undefined ? {} : { certificateName: client.certificateName }),
        ...(client.maxSessions === undefined ? {} : { maxSessions: client.maxSessions }),
      })),
      tls: config.radius.tls
        ? { listen: config.radius.tls.listen.map(endpointText), certificate: config.radius.tls.certificateFile, key: config.radius.tls.keyFile, ca: config.radius.tls.caFile }
        : null,
      dictionaries: config.radius.dictionaries,
    },
    pools: config.pools.map(formatPrefix),
    unlistOn: [...config.unlistOn],
    backends: config.backends.map(backendSummary),
    state: config.state,
    http: { listen: config.http.listen ? endpointText(config.http.listen) : null },
    log: config.log,
  };
}

/** What the config says, without secrets, as lines for people. */
function summaryLines(config: Config): string[] {
  const lines = [`config OK: ${config.file}`];
  lines.push(`  radius: listen ${config.radius.listen.map(endpointText).join(', ')}`);
  const { tls } = config.radius;
  if (tls) lines.push(`  radius tls: listen ${tls.listen.map(endpointText).join(', ')}, certificate ${tls.certificateFile}, client CA ${tls.caFile}`);
  lines.push(`  clients (${config.radius.clients.length}):`);
  for (const client of config.radius.clients) {
    const pools = client.pools.length > 0 ? `, pools ${client.pools.map(formatPrefix).join(', ')}` : '';
    const secret = isAbsolute(client.secretSource) ? `secret from ${client.secretSource}` : client.secretSource.startsWith('radsec') ? `secret ${client.secretSource}` : 'secret in the config';
    const radsec = client.transport === 'tls' ? `, over RadSec${client.certificateName === undefined ? '' : ` as ${client.certificateName}`}` : '';
    const cap = client.maxSessions === undefined ? '' : `, at most ${client.maxSessions} sessions`;
    lines.push(`    ${client.name}: ${formatPrefix(client.address)}${radsec}, ${secret}${pools}${cap}`);
  }
  lines.push(`  pools: ${config.pools.map(formatPrefix).join(', ')}`);
  lines.push(`  unlist on: ${[...config.unlistOn].join(', ')}`);
  lines.push(`  backends (${config.backends.length}):`);
  for (const backend of config.backends) {
    const { how } = BACKENDS.summary(backend);
    lines.push(`    ${backend.name}: ${how}; deletes ${backend.deleteTypes.join(' ')}; timeout ${backend.timeoutMs} ms`);
    lines.push(`      zones: ${backend.zones.join(', ')}`);
  }
  lines.push(`  state: ${config.state.dir} (ack ${config.state.ack})`);
  lines.push(`  http: ${config.http.listen ? endpointText(config.http.listen) : 'off'}`);
  return lines;
}
