/**
 * `rbl-unlist queue list|retry|drop [ID...]`: shows the journal's pending and dead-lettered
 * deliveries in state.dir, puts dead letters back in the queue, or drops them. Safe while the
 * service runs: src/queue/admin.ts hands retry and drop to it when it holds the lock.
 */
import type { Command } from 'commander';
import { RblError } from '../errors.js';
import type { AdminResult, DeadLetter, PendingEntry, QueueEntry } from '../queue/admin.js';
import { configOption, jsonOption, loadCliConfig, type ConfigOptions, type JsonOptions } from './options.js';
import { alignColumns, printErrorLine, printJson, printLine, type CliIo, type CommandRunner } from './output.js';

export type QueueOptions = ConfigOptions & JsonOptions;

export interface QueueDropOptions extends QueueOptions {
  readonly all?: boolean;
}

/** Adds `queue list`, `queue retry` and `queue drop` to the program. */
export function addQueueCommand(program: Command, io: CliIo, run: CommandRunner): void {
  const queue = program
    .command('queue')
    .summary('show, retry or drop pending and dead-lettered unlists')
    .description(
      'Shows and acts on the unlists in the journal (state.dir): pending deliveries, and dead letters ' +
        '(deliveries a backend refused for good). IDs are the job IDs `queue list` prints. Safe while the service runs.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ rbl-unlist queue list
  $ rbl-unlist queue retry            # every dead letter
  $ rbl-unlist queue drop 42 43`,
    );

  queue
    .command('list')
    .description(
      'Lists pending deliveries and dead letters, oldest job first. While the service runs, each pending delivery shows ' +
        'its failed attempts, last error code and next try (the service keeps them in memory; without it they are unknown).',
    )
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ rbl-unlist queue list\n  $ rbl-unlist queue list --json | jq \'.dead[] | .id\'\n\nExit status: 0 listed (a running service that does not answer is a warning); 1 state.dir does not exist or the journal could not be read; 2 bad usage or config.')
    .action((options: QueueOptions) => run(() => runQueueList(options, io), options.json));

  queue
    .command('retry')
    .description('Puts dead letters back in the queue: those of the given job IDs, or all of them when no ID is given.')
    .argument('[id...]', 'job IDs from `queue list`')
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ rbl-unlist queue retry 42\n  $ rbl-unlist queue retry\n\nExit status: 0 done; 1 an ID had no dead letter, or the service did not answer; 2 bad usage or config.')
    .action((ids: string[], options: QueueOptions) => run(() => runQueueAdmin('retry', ids, options, io), options.json));

  queue
    .command('drop')
    .description('Deletes dead letters for good: those of the given job IDs, or every one with --all.')
    .argument('[id...]', 'job IDs from `queue list`')
    .option('--all', 'drop every dead letter')
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ rbl-unlist queue drop 42\n  $ rbl-unlist queue drop --all\n\nExit status: 0 done; 1 an ID had no dead letter, or the service did not answer; 2 bad usage or config.')
    .action((ids: string[], options: QueueDropOptions) => run(() => runQueueAdmin('drop', ids, options, io), options.json));
}

/** The journal's admin functions, loaded only when a queue command runs. */
function queueAdmin(): Promise<typeof import('../queue/admin.js')> {
  return import('../queue/admin.js');
}

/** Runs `queue list`; returns the exit status. */
export async function runQueueList(options: QueueOptions, io: CliIo): Promise<number> {
  const config = loadCliConfig(options, io);
  const { listQueue } = await queueAdmin();
  const listing = await listQueue(config.state.dir);
  if (listing.serviceError !== undefined) {
    printErrorLine(io, `rbl-unlist: warning: ${listing.serviceError}; attempts, last error and next try are unknown`);
  }
  if (listing.unreadableBytes > 0) {
    printErrorLine(
      io,
      `rbl-unlist: warning: ${listing.unreadableBytes} bytes of the journal in ${config.state.dir} could not be read (a write in progress at its end, or corruption; what comes after corrupt bytes is listed)`,
    );
  }
  if (options.json) {
    printJson(io, { ok: true, ...listing });
    return 0;
  }
  printLine(io, `pending (${listing.pending.length}):`);
  const now = Date.now();
  for (const line of alignColumns(listing.pending.map((entry) => pendingRow(entry, now)), '  ')) printLine(io, line);
  if (!listing.live && listing.serviceError === undefined && listing.pending.length > 0) {
    printLine(io, '  (the service is not running: attempts, last error and next try are unknown)');
  }
  printLine(io, `dead letters (${listing.dead.length}):`);
  for (const line of alignColumns(listing.dead.map(deadRow), '  ')) printLine(io, line);
  return 0;
}

/**
 * Runs `queue retry` or `queue drop`; returns the exit status. A bare `drop` is refused: dropping
 * every dead letter needs --all, so a forgotten ID never throws away the whole list.
 */
export async function runQueueAdmin(action: 'retry' | 'drop', ids: readonly string[], options: QueueDropOptions, io: CliIo): Promise<number> {
  if (action === 'drop' && ids.length === 0 && !options.all) throw new RblError('RBL_USAGE', 'queue drop: name the job IDs to drop, or give --all');
  if (ids.length > 0 && options.all) throw new RblError('RBL_USAGE', `queue ${action}: give job IDs or --all, not both`);
  const bad = ids.filter((id) => !/^\d+$/.test(id));
  if (bad.length > 0) throw new RblError('RBL_USAGE', `queue ${action}: ${bad.map((id) => `"${id}"`).join(', ')} is not a job ID (a number from \`queue list\`)`);
  const config = loadCliConfig(options, io);
  const admin = await queueAdmin();
  const operation = action === 'retry' ? admin.retryDeadLetters : admin.dropDeadLetters;
  const result = await operation(config.state.dir, ids.length > 0 ? ids : undefined);
  return reportAdmin(io, options, action, result);
}

function reportAdmin(io: CliIo, options: QueueOptions, action: 'retry' | 'drop', result: AdminResult): number {
  const status = result.notFound.length > 0 ? 1 : 0;
  for (const id of result.notFound) printErrorLine(io, `rbl-unlist: warning: job ${id} has no dead letter (see rbl-unlist queue list)`);
  if (options.json) {
    printJson(io, { ok: status === 0, action, count: result.count, notFound: result.notFound, via: result.via });
    return status;
  }
  const verb = action === 'retry' ? 'put back in the queue' : 'dropped';
  const by = result.via === 'service' ? 'by the running service' : 'in the journal';
  printLine(io, `${result.count} dead ${result.count === 1 ? 'letter' : 'letters'} ${verb} ${by}`);
  return status;
}

function reasonText(entry: QueueEntry): string {
  const { event, client, nas, sessionId } = entry.reason;
  return `${event} from ${client} (NAS ${nas}${sessionId ? `, session ${sessionId}` : ''})`;
}

function pendingRow(entry: PendingEntry, now: number): string[] {
  const row = [entry.id, `${entry.backend}, zone ${entry.zone}`, entry.targets.join(' '), new Date(entry.createdAt).toISOString(), reasonText(entry)];
  if (entry.attempts === undefined) return row;
  const failures = `${entry.attempts} failed ${entry.attempts === 1 ? 'attempt' : 'attempts'}${entry.lastCode ? ` (last ${entry.lastCode})` : ''}`;
  const next = entry.nextTryAt === undefined || entry.nextTryAt <= now ? 'next try now' : `next try ${new Date(entry.nextTryAt).toISOString()}`;
  return [...row, failures, next];
}

function deadRow(entry: DeadLetter): string[] {
  return [entry.id, `${entry.backend}, zone ${entry.zone}`, entry.targets.join(' '), `failed ${new Date(entry.failedAt).toISOString()}`, `${entry.code}: ${entry.message}`];
}
