/**
 * `rbl-unlist why ADDRESS...`: what a helpdesk needs when a customer says "I am blacklisted":
 * each zone's answer (A and TXT, asked as `check` asks), and from the running service (GET
 * /addresses/ADDRESS) the session that holds the address now, its last unlist with each backend's
 * outcome, and what is pending or dead-lettered for it. Without the service it still prints the
 * zones' answers and says what it cannot know. Changes nothing.
 */
import type { Command } from 'commander';
import type { Listing } from '../backends/index.js';
import type { AddressReport } from '../http/address-view.js';
import { formatPrefix } from '../net/address.js';
import { configOption, jsonOption, loadCliConfig, parseTargets, type ConfigOptions, type JsonOptions } from './options.js';
import { alignColumns, errorLine, errorReport, printErrorLine, printJson, printLine, type CliIo, type CommandRunner, type ErrorReport } from './output.js';
import { getServiceJson } from './service-client.js';
import { onEveryZone, zoneLabel } from './zones.js';

export type WhyOptions = ConfigOptions & JsonOptions;

/** Adds `why` to the program. */
export function addWhyCommand(program: Command, io: CliIo, run: CommandRunner): void {
  program
    .command('why')
    .summary('explain an address: zones, the session holding it, its last unlist, pending work')
    .description(
      'For each ADDRESS: asks every zone whether it is listed (A and TXT), and asks the running service ' +
        '(GET /addresses/ADDRESS at http.listen) which session holds it now (client, NAS, user, since), its last ' +
        'unlist (when, which event, each backend\'s outcome and latency) and what is pending or dead-lettered for it. ' +
        'Without the service it prints the zones\' answers and says what it cannot know. Changes nothing.',
    )
    .argument('<address...>', 'IPv4 or IPv6 addresses, or IPv6 prefixes')
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist why 10.64.3.7
  $ rbl-unlist why --json 10.64.3.7 | jq '.addresses[0].service.session'

Exit status: 0 not listed anywhere; 1 listed somewhere, or a zone could not be asked (as check);
2 bad usage or config. A service that does not answer is reported on stderr and does not change it.`,
    )
    .action((addresses: string[], options: WhyOptions) => run(() => runWhy(addresses, options, io), options.json));
}

interface ZoneAnswer {
  readonly backend: string;
  readonly zone: string;
  readonly listing?: Listing;
  readonly error?: unknown;
}

/** Runs `why`; returns the exit status. */
export async function runWhy(args: readonly string[], options: WhyOptions, io: CliIo): Promise<number> {
  const targets = parseTargets(args);
  const config = loadCliConfig(options, io);
  const [outcomes, service] = await Promise.all([
    onEveryZone(config, (backend, zone) => Promise.all(targets.map((target) => backend.check(zone, target)))),
    askService(config, targets.map(formatPrefix)),
  ]);
  const answers = targets.map((_, index): ZoneAnswer[] =>
    outcomes.map((outcome) =>
      outcome.ok ? { backend: outcome.backend, zone: outcome.zone, listing: outcome.value[index] } : { backend: outcome.backend, zone: outcome.zone, error: outcome.error },
    ),
  );
  const listed = answers.some((zones) => zones.some((zone) => zone.listing?.listed === true));
  const failed = outcomes.filter((outcome) => !outcome.ok);
  const status = listed || failed.length > 0 ? 1 : 0;

  for (const outcome of failed) if (!outcome.ok) printErrorLine(io, errorLine(outcome.error, zoneLabel(outcome)));
  const serviceErrors = [...new Map(service.flatMap((answer) => ('error' in answer ? [[`${answer.error.code}: ${answer.error.message}`, answer.error] as const] : []))).values()];
  for (const error of serviceErrors) printErrorLine(io, `rbl-unlist: warning: ${error.code}: ${error.message}`);
  const answered = service.some((answer) => 'report' in answer);

  if (options.json) {
    printJson(io, {
      ok: status === 0,
      listed,
      service: answered ? { answered: true } : { answered: false, error: serviceErrors[0] },
      addresses: targets.map((target, index) => ({
        address: formatPrefix(target),
        listed: answers[index]!.some((zone) => zone.listing?.listed === true),
        zones: answers[index]!.map((zone) => ({
          backend: zone.backend,
          zone: zone.zone,
          ...(zone.listing
            ? { listed: zone.listing.listed, names: zone.listing.names.filter((name) => name.a.length > 0 || name.txt.length > 0) }
            : { error: errorReport(zone.error) }),
        })),
        service: reportOf(service[index]!),
        ...('error' in service[index]! ? { service_error: service[index].error } : {}),
      })),
    });
    return status;
  }

  targets.forEach((target, index) => {
    if (index > 0) printLine(io);
    printLine(io, formatPrefix(target));
    for (const line of zoneLines(answers[index]!)) printLine(io, `  ${line}`);
    const answer = service[index]!;
    const lines = 'report' in answer ? serviceLines(answer.report) : [`service: no answer (${answer.error.code}): who holds the address, its last unlist and pending work are unknown`];
    for (const line of lines) printLine(io, `  ${line}`);
  });
  return status;
}

type ServiceAnswer = { readonly report: AddressReport } | { readonly error: ErrorReport };

/**
 * Each address's report from the service, or why there is none: one address the service refuses
 * (a prefix wider than it looks up) leaves the others' reports standing.
 */
async function askService(config: Parameters<typeof getServiceJson>[0], addresses: readonly string[]): Promise<ServiceAnswer[]> {
  const answers: ServiceAnswer[] = [];
  for (const address of addresses) {
    const previous = answers.at(-1);
    // A service that did not answer (or is still starting) does not for the next address either.
    if (previous && 'error' in previous && previous.error.code !== 'RBL_ADDRESS_INVALID') {
      answers.push(previous);
      continue;
    }
    try {
      answers.push({ report: (await getServiceJson(config, `/addresses/${encodeURIComponent(address)}`)) as AddressReport });
    } catch (error) {
      answers.push({ error: errorReport(error) });
    }
  }
  return answers;
}

function reportOf(answer: ServiceAnswer): AddressReport | null {
  return 'report' in answer ? answer.report : null;
}

function zoneLines(zones: readonly ZoneAnswer[]): string[] {
  const lines: string[] = [];
  for (const zone of zones) {
    if (!zone.listing) {
      lines.push(`${zoneLabel(zone)}: could not ask: ${errorReport(zone.error).code}`);
      continue;
    }
    lines.push(`${zoneLabel(zone)}: ${zone.listing.listed ? 'LISTED' : 'not listed'}`);
    const records = zone.listing.names.flatMap((name) => [
      ...name.a.map((address) => [`${name.name}.`, 'A', address]),
      ...name.txt.map((text) => [`${name.name}.`, 'TXT', `"${text.replace(/["\\]/g, '\\$&')}"`]),
    ]);
    lines.push(...alignColumns(records, '  '));
  }
  return lines;
}

function serviceLines(report: AddressReport): string[] {
  const lines: string[] = [];
  const session = report.session;
  if (session) {
    const user = session.user === null ? 'user unknown (not seen since the service started)' : `user ${session.user}`;
    const since = session.since === null ? `recorded ${session.updated_at}` : `since ${session.since}`;
    const last = session.last_event ? `, last event ${session.last_event.type} at ${session.last_event.at}` : '';
    // Older services send no held_prefix: treat it as the address itself.
    const within = session.held_prefix ? ` (inside its prefix ${session.held_prefix})` : '';
    lines.push(`held by: session ${session.session_id}${within}, ${user}, NAS ${session.nas}, client ${session.client}, ${since}${last}`);
  } else {
    lines.push('held by: no session holds it now');
  }
  const accounting = report.last_accounting;
  if (accounting && !(session && accounting.nas === session.nas && accounting.session_id === session.session_id)) {
    // Older services send no `named`: the event named the address itself.
    const naming = accounting.named && accounting.named !== report.address ? ` naming ${accounting.named}` : '';
    lines.push(
      `last accounting: ${accounting.type} of session ${accounting.session_id ?? '(none)'}${accounting.user ? ` (user ${accounting.user})` : ''}${naming}, NAS ${accounting.nas}, client ${accounting.client}, at ${accounting.at}`,
    );
  }
  const unlist = report.last_unlist;
  if (unlist) {
    const reason = unlist.reason;
    lines.push(
      `last unlist: job ${unlist.job}${unlist.target === report.address ? '' : ` (of ${unlist.target})`}, asked at ${unlist.requested_at} by ${reason.event}` +
        `${reason.session_id ? ` of session ${reason.session_id}` : ''} (client ${reason.client}, NAS ${reason.nas})`,
    );
    for (const delivery of unlist.deliveries) {
      const detail = delivery.code ? `: ${delivery.code}: ${delivery.message ?? ''}` : '';
      const attempt = delivery.attempt ? `, attempt ${delivery.attempt}` : '';
      lines.push(`  ${delivery.backend}, zone ${delivery.zone}: ${outcomeText(delivery.outcome)} at ${delivery.at}, ${delivery.latency_ms} ms after the event${attempt}${detail}`);
    }
  } else {
    lines.push(`last unlist: none in the service's memory (it keeps up to ${report.history.limit} recent addresses, since it last started)`);
  }
  lines.push(`pending: ${report.pending.length === 0 ? 'nothing' : ''}`.trimEnd());
  for (const pending of report.pending) lines.push(`  job ${pending.job}: ${pending.backend}, zone ${pending.zone}, asked at ${pending.requested_at} by ${pending.reason.event}`);
  lines.push(`dead letters: ${report.dead_letters.length === 0 ? 'none' : ''}`.trimEnd());
  for (const dead of report.dead_letters) {
    lines.push(`  job ${dead.job}: ${dead.backend}, zone ${dead.zone}, failed at ${dead.failed_at}: ${dead.code}: ${dead.message} (rbl-unlist queue retry ${dead.job})`);
  }
  return lines;
}

function outcomeText(outcome: string): string {
  return outcome === 'unlisted' ? 'unlisted' : outcome === 'retrying' ? 'failed, retrying' : outcome === 'dead_letter' ? 'DEAD LETTER' : outcome;
}
