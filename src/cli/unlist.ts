/**
 * `rbl-unlist unlist [--dry-run] [--force] ADDRESS|PREFIX...`: the operator's one-shot unlist,
 * through the same backends and safety rules as the service. Every target goes to every zone of
 * every backend in one backend.unlist call per zone; one failure does not stop the others. It sends
 * once and queues nothing: a failure is reported, never retried.
 */
import type { Command } from 'commander';
import { unlistRefusal } from '../accounting/policy.js';
import { TargetFailures } from '../backends/target-failures.js';
import { RblError } from '../errors.js';
import { formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';
import { configOption, jsonOption, loadCliConfig, parseTargets, type ConfigOptions, type JsonOptions } from './options.js';
import { errorLine, errorReport, printErrorLine, printJson, printLine, printText, type CliIo, type CommandRunner } from './output.js';
import { onEveryZone, zoneLabel } from './zones.js';

export interface UnlistOptions extends ConfigOptions, JsonOptions {
  readonly dryRun?: boolean;
  readonly force?: boolean;
}

/** Adds `unlist` to the program; `run` reports its errors and exit status. */
export function addUnlistCommand(program: Command, io: CliIo, run: CommandRunner): void {
  program
    .command('unlist')
    .summary('remove addresses or prefixes from every blacklist zone now')
    .description(
      'Removes the DNSBL names (RFC 5782) of each ADDRESS or PREFIX from every zone of every configured backend, ' +
        'in one update per zone. Only addresses inside the configured pools are unlisted unless --force is given; ' +
        '127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 never are. Unlisting what is not listed succeeds.',
    )
    .argument('<address|prefix...>', 'IPv4 or IPv6 addresses, or prefixes (a prefix removes its name and the * name below it)')
    .addOption(configOption())
    .option('-n, --dry-run', 'print the update it would send (nsupdate syntax) and send nothing')
    .option('-f, --force', 'unlist addresses outside the configured pools (never the RFC 5782 test ranges)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist unlist 10.64.3.7
  $ rbl-unlist unlist --dry-run 10.64.3.7 2001:db8:100:1200::/56
  $ rbl-unlist unlist --force --config /etc/rbl-unlist/config.yaml 198.51.100.9

Exit status: 0 unlisted everywhere; 1 an address was refused or a backend failed; 2 bad usage or config.`,
    )
    .action((targets: string[], options: UnlistOptions) => run(() => runUnlist(targets, options, io), options.json));
}

/** Runs `unlist`; returns the exit status. Throws RblError for bad arguments or config (exit 2). */
export async function runUnlist(args: readonly string[], options: UnlistOptions, io: CliIo): Promise<number> {
  const json = options.json === true;
  const dryRun = options.dryRun === true;
  const targets = parseTargets(args, 'nothing was sent');
  const config = loadCliConfig(options, io);
  for (const note of hostBitNotes(args)) printErrorLine(io, `rbl-unlist: note: ${note}`);

  const refused = targets.flatMap((target) => {
    const refusal = unlistRefusal(target, { pools: config.pools, force: options.force === true });
    return refusal ? [{ address: formatPrefix(target), error: refusal }] : [];
  });
  const refusedText = new Set(refused.map(({ address }) => address));
  const allowed = targets.filter((target) => !refusedText.has(formatPrefix(target)));
  const allowedText = allowed.map(formatPrefix);

  const outcomes =
    allowed.length === 0
      ? []
      : await onEveryZone(config, async (backend, zone) => {
          if (dryRun) return backend.describe(zone, allowed);
          await backend.unlist(zone, allowed);
          return undefined;
        });
  const failed = outcomes.filter((outcome) => !outcome.ok);
  const status = refused.length > 0 || failed.length > 0 ? 1 : 0;

  for (const { error } of refused) printErrorLine(io, errorLine(error));
  for (const outcome of failed) if (!outcome.ok) for (const line of failureLines(outcome.error, zoneLabel(outcome), allowed)) printErrorLine(io, line);

  if (json) {
    printJson(io, {
      ok: status === 0,
      dryRun,
      // What every zone took: a zone that failed took nothing, or what its result says.
      unlisted: dryRun ? [] : allowedText.filter((text) => outcomes.every((outcome) => outcome.ok || partlyUnlisted(outcome.error).includes(text))),
      refused: refused.map(({ address, error }) => ({ address, ...errorReport(error) })),
      results: outcomes.map((outcome) => ({
        backend: outcome.backend,
        zone: outcome.zone,
        addresses: allowedText,
        ok: outcome.ok,
        ...(outcome.ok && dryRun ? { update: outcome.value } : {}),
        ...(outcome.ok ? {} : { error: errorReport(outcome.error) }),
        ...(!outcome.ok && outcome.error instanceof TargetFailures
          ? { unlisted: partlyUnlisted(outcome.error), failed: [...outcome.error.failed].map(([prefix, error]) => ({ address: formatPrefix(prefix), ...errorReport(error) })) }
          : {}),
      })),
    });
    return status;
  }

  for (const outcome of outcomes) {
    if (!outcome.ok) {
      const partly = partlyUnlisted(outcome.error);
      if (partly.length > 0) printLine(io, `unlisted ${partly.join(', ')} from ${zoneLabel(outcome)} (not ${allowedText.filter((text) => !partly.includes(text)).join(', ')}: see the error)`);
      continue;
    }
    if (dryRun) {
      printLine(io, `; ${zoneLabel(outcome)} (dry run: nothing sent)`);
      printText(io, `${(outcome.value ?? '').replace(/\n?$/, '\n')}\n`);
    } else {
      printLine(io, `unlisted ${allowedText.join(', ')} from ${zoneLabel(outcome)}`);
    }
  }
  return status;
}

/** What a zone's failure unlisted all the same: an HTTP API that failed some names took the others. */
function partlyUnlisted(error: unknown): string[] {
  return error instanceof TargetFailures ? error.unlisted.map(formatPrefix) : [];
}

/**
 * The stderr lines of a zone's failure: one per failed name when the backend says what became of
 * each (an HTTP API fails some names and takes others), and one for those it did not send.
 */
function failureLines(error: unknown, label: string, allowed: readonly IpPrefix[]): string[] {
  if (!(error instanceof TargetFailures)) return [`${errorLine(error, label)}${notRetried(error)}`];
  const lines = [...new Set(error.failed.values())].map((failure) => `${errorLine(failure, label)}${notRetried(failure)}`);
  const reached = new Set([...error.unlisted, ...error.failed.keys()].map(formatPrefix));
  const unsent = allowed.map(formatPrefix).filter((text) => !reached.has(text));
  if (unsent.length > 0) lines.push(`${errorLine(error.serverFailure ?? error.failure, label)}: not sent after that: ${unsent.join(', ')}; run this command again later`);
  return lines;
}

/**
 * What follows a transient failure (a time-out, SERVFAIL, a 5xx, a frozen zone's REFUSED): the
 * service would retry it from its queue, but this command sends once and hands nothing to the
 * queue, so only running it again unlists the address there.
 */
function notRetried(error: unknown): string {
  if (!(error instanceof RblError) || !error.transient) return '';
  // A rejected key is retried by the service too, but waiting fixes nothing here: the file does.
  if (error.code === 'RBL_HTTP_AUTH') return '; this command tried once and queued nothing: run it again once the key is right';
  return '; this command tried once and queued nothing, so nothing retries it: run it again later';
}

/**
 * A note for each prefix argument with host bits set (10.64.0.5/24): it is unlisted as the
 * prefix that contains it (10.64.0.0/24), which the operator may not have meant.
 */
function hostBitNotes(args: readonly string[]): string[] {
  return args.flatMap((arg) => {
    const slash = arg.indexOf('/');
    if (slash === -1) return [];
    const used = formatPrefix(parsePrefix(arg));
    const given = parsePrefix(arg.slice(0, slash));
    const network = parsePrefix(used.slice(0, used.indexOf('/')));
    return given.bytes.equals(network.bytes) ? [] : [`${arg} has host bits set; unlisting ${used}`];
  });
}
