/**
 * `rbl-unlist check ADDRESS...`: asks every zone of every backend what each address's DNSBL
 * names hold, and prints the A records and TXT reasons dig-style. Exit 1 when anything is listed,
 * so a script can use it as a test; changes nothing.
 */
import type { Command } from 'commander';
import type { Listing } from '../backends/index.js';
import { RblError } from '../errors.js';
import { formatPrefix } from '../net/address.js';
import { configOption, jsonOption, loadCliConfig, parseTargets, type ConfigOptions, type JsonOptions } from './options.js';
import { printable } from '../printable.js';
import { alignColumns, errorLine, errorReport, printErrorLine, printJson, printLine, type CliIo, type CommandRunner } from './output.js';
import { onEveryZone, zoneLabel } from './zones.js';

export type CheckOptions = ConfigOptions & JsonOptions;

/** Adds `check` to the program; `run` reports its errors and exit status. */
export function addCheckCommand(program: Command, io: CliIo, run: CommandRunner): void {
  program
    .command('check')
    .summary('show whether addresses are listed, with the TXT reason')
    .description(
      'Looks up the DNSBL names (RFC 5782) of each ADDRESS in every zone of every configured backend and prints ' +
        'the A records and TXT reasons found. Changes nothing.',
    )
    .argument('<address...>', 'IPv4 or IPv6 addresses, or IPv6 prefixes')
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist check 10.64.3.7
  $ rbl-unlist check --json 10.64.3.7 2001:db8:100::25 | jq .listed

Exit status: 0 not listed anywhere; 1 listed somewhere, or a backend failed; 2 bad usage or config.`,
    )
    .action((addresses: string[], options: CheckOptions) => run(() => runCheck(addresses, options, io), options.json));
}

/** Runs `check`; returns the exit status. Throws RblError for bad arguments or config (exit 2). */
export async function runCheck(args: readonly string[], options: CheckOptions, io: CliIo): Promise<number> {
  const targets = parseTargets(args);
  const config = loadCliConfig(options, io);
  const outcomes = await onEveryZone(config, (backend, zone) => Promise.all(targets.map((target) => backend.check(zone, target))));

  const rows = targets.flatMap((target, index) =>
    outcomes.map((outcome) =>
      outcome.ok
        ? { address: formatPrefix(target), backend: outcome.backend, zone: outcome.zone, listing: outcome.value[index] as Listing }
        : { address: formatPrefix(target), backend: outcome.backend, zone: outcome.zone, error: outcome.error },
    ),
  );
  const listed = rows.some((row) => row.listing?.listed === true);
  const failed = outcomes.filter((outcome) => !outcome.ok);
  const status = listed || failed.length > 0 ? 1 : 0;

  for (const outcome of failed) if (!outcome.ok) printErrorLine(io, errorLine(outcome.error, zoneLabel(outcome)));
  // The Errors table promises RBL_LISTED on stderr for each listing, so a script that reads only
  // stderr (or a person skimming it) sees why check exited 1.
  for (const row of rows) {
    if (row.listing?.listed !== true) continue;
    // A TXT reason is the zone's text, written by whatever listed the address: shown escaped, as
    // stdout shows it, so it cannot forge a line of this error output or drive the terminal.
    const reasons = row.listing.names.flatMap((name) => name.txt).map((text) => printable(quoteTxt(text)));
    printErrorLine(io, errorLine(new RblError('RBL_LISTED', `${row.address} is listed in ${zoneLabel(row)}${reasons.length > 0 ? `: ${reasons.join(', ')}` : ''}`)));
  }

  if (options.json) {
    printJson(io, {
      // ok means what the exit status means: nothing listed and every zone answered.
      ok: status === 0,
      listed,
      results: rows.map((row) => ({
        address: row.address,
        backend: row.backend,
        zone: row.zone,
        ...(row.listing
          ? { listed: row.listing.listed, names: row.listing.names.filter((name) => name.a.length > 0 || name.txt.length > 0) }
          : { error: errorReport(row.error) }),
      })),
    });
    return status;
  }

  for (const row of rows) {
    if (!row.listing) continue;
    printLine(io, `${row.address}: ${row.listing.listed ? 'LISTED' : 'not listed'} in ${zoneLabel(row)}`);
    const records = row.listing.names.flatMap((name) => [
      ...name.a.map((address) => [`${name.name}.`, 'A', address]),
      ...name.txt.map((text) => [`${name.name}.`, 'TXT', quoteTxt(text)]),
    ]);
    for (const line of alignColumns(records, '  ')) printLine(io, line);
  }
  return status;
}

/** A TXT string as dig prints it: in double quotes, with quotes and backslashes escaped. */
function quoteTxt(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}
