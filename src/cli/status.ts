/**
 * `rbl-unlist status`: the running service's state from GET /status, as `rndc status` gives
 * BIND's: version and uptime, listeners, clients with packets and discards, each backend and zone
 * up or down with its last error, journal, queue, dead letters, sessions and the last minute's rates.
 */
import type { Command } from 'commander';
import type { BackendStatus, ClientStatus, StatusReport } from '../http/status.js';
import { configOption, jsonOption, loadCliConfig, type ConfigOptions, type JsonOptions } from './options.js';
import { alignColumns, printJson, printLine, type CliIo, type CommandRunner } from './output.js';
import { getServiceJson } from './service-client.js';
import { hostPort } from '../net/host-port.js';

export type StatusOptions = ConfigOptions & JsonOptions;

/** Adds `status` to the program. */
export function addStatusCommand(program: Command, io: CliIo, run: CommandRunner): void {
  program
    .command('status')
    .summary("show the running service's state, as rndc status does for BIND")
    .description(
      'Asks the running service (GET /status at http.listen of the config) for its version, uptime, listeners, ' +
        'clients (packets, discards, last packet), backends and zones (up or down, last error), queue depth, ' +
        'dead letters, sessions and the rates of the last minute.',
    )
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist status
  $ rbl-unlist status --json | jq '.backends[] | select(.up == false)'

Exit status: 0 the service answered; 1 it did not (not running, or http.listen is ""); 2 bad usage or config.`,
    )
    .action((options: StatusOptions) => run(() => runStatus(options, io), options.json));
}

/** Runs `status`; returns the exit status. Throws RBL_SERVICE_UNREACHABLE (exit 1) when the service does not answer. */
export async function runStatus(options: StatusOptions, io: CliIo): Promise<number> {
  const config = loadCliConfig(options, io);
  const report = (await getServiceJson(config, '/status')) as StatusReport;
  if (options.json) {
    printJson(io, { ok: true, ...report });
    return 0;
  }
  for (const line of statusText(report)) printLine(io, line);
  return 0;
}

/** The report as lines of text. */
export function statusText(report: StatusReport): string[] {
  const rates = report.rates;
  const lines = [
    `version: rbl-unlist ${report.version}`,
    `up since: ${report.started_at} (${duration(report.uptime_seconds)})`,
    `config: ${report.config}`,
    `listeners: ${report.listeners.map((listener) => `${listener.transport} ${hostPort(listener.address, listener.port)}`).join(', ') || 'none'}`,
    `http: ${report.http ? hostPort(report.http.address, report.http.port) : 'off'}`,
    `journal: ${report.journal.writable ? 'writable' : 'NOT WRITABLE (see the log for RBL_STATE_DIR)'}; acknowledging once ${report.ack === 'unlisted' ? 'unlisted' : 'journaled'}`,
    `queue: ${report.queue.depth} pending, ${report.queue.dead_letters} dead ${report.queue.dead_letters === 1 ? 'letter' : 'letters'}${report.queue.dead_letters > 0 ? ' (see rbl-unlist queue list)' : ''}`,
    `sessions: ${report.sessions}${report.nas_keys === undefined ? '' : ` from ${plural(report.nas_keys, 'NAS key')}`}`,
    `rates over the last ${rates.window_seconds} s: ${rates.packets_per_second} packets/s, ${rates.events_per_second} events/s, ${rates.unlists_per_second} unlists/s`,
    `clients (${report.clients.length}):`,
    ...alignColumns(report.clients.map(clientRow), '  '),
  ];
  const unknown = report.unknown_sources;
  if (unknown.packets > 0) {
    lines.push(`unknown sources: ${plural(unknown.packets, 'packet')} discarded, last from ${unknown.last_source ?? '?'} at ${unknown.last_packet ?? '?'}`);
  }
  lines.push(`backends (${report.backends.length}):`, ...alignColumns(report.backends.map(backendRow), '  '));
  for (const backend of report.backends) {
    if (backend.probe_error) lines.push(`  ${backend.backend}, zone ${backend.zone}: probe failed: ${backend.probe_error}`);
    if (backend.last_error) lines.push(`  ${backend.backend}, zone ${backend.zone}: last delivery error at ${backend.last_error.at}: ${backend.last_error.code}: ${backend.last_error.message}`);
  }
  return lines;
}

function clientRow(client: ClientStatus): string[] {
  const last = client.last_packet ? `last packet ${client.last_packet} from ${client.last_source ?? '?'}` : 'no packet yet';
  const discard = client.last_discard ? `, last discard: ${client.last_discard.outcome}${client.last_discard.reason ? ` (${client.last_discard.reason})` : ''}` : '';
  const sessions = client.max_sessions === null ? plural(client.sessions, 'session') : `${client.sessions} of ${client.max_sessions} sessions`;
  return [client.name, client.address, plural(client.packets, 'packet'), `${client.accepted} accepted`, `${client.discards} discarded`, sessions, `${last}${discard}`];
}

function backendRow(backend: BackendStatus): string[] {
  const state = backend.last_probe === null ? 'not probed yet' : backend.up ? 'up' : 'DOWN';
  return [
    `${backend.backend}, zone ${backend.zone}`,
    state,
    backend.last_success ? `last good probe ${backend.last_success}` : 'no good probe',
    backend.last_unlisted ? `last unlisted ${backend.last_unlisted}` : 'nothing unlisted yet',
  ];
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** "3d 4h 5m 6s" with the leading zero units left out. */
export function duration(seconds: number): string {
  const parts: string[] = [];
  const units: [string, number][] = [['d', 86_400], ['h', 3600], ['m', 60]];
  let rest = Math.floor(seconds);
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  parts.push(`${rest}s`);
  return parts.join(' ');
}
