/**
 * What the state store and its worker report, as the operator sees it: one log line and the
 * metrics for each queue event. The one place queue events become lines and numbers.
 */
import { RblError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import { rateLimiter, type Logger } from '../log.js';
import type { QueueEvent } from './events.js';
import type { AdminRequest } from './requests.js';
import { jobLogFields, unlistedLineWriter } from './unlisted-lines.js';

/** A function for the store's `onEvent` that logs to `log` (the queue component's logger) and counts into `metrics`. */
export function queueEventReporter(log: Logger, metrics: Metrics): (event: QueueEvent) => void {
  // A full disk fails every write and every recovery try: a few lines a minute say so.
  const journalErrorLimiter = rateLimiter(5, 60_000);
  const writeUnlisted = unlistedLineWriter(log);

  return (event) => {
    switch (event.type) {
      case 'delivered': {
        // One event per call: the counter moves once, the lines go out in one write.
        let targets = 0;
        for (const job of event.jobs) {
          targets += job.targets.length;
          if (!event.partial) metrics.unlistLatencySeconds.observe((event.at - job.createdAt) / 1000);
        }
        metrics.unlists.inc({ backend: event.backend, outcome: 'success' }, targets);
        writeUnlisted(event.backend, event.zone, event.jobs, event.at);
        // The addresses a call left go on under a new job id: this line ties the two for whoever follows one.
        for (const { job, as } of event.continued ?? []) {
          log.info({ backend: event.backend, zone: event.zone, job, continued_as: as.id, addresses: as.targets }, `unlisted in part: the addresses left go on as job ${as.id}`);
        }
        break;
      }
      case 'retry-scheduled':
        metrics.unlists.inc({ backend: event.backend, outcome: 'retry' }, event.targets.length);
        log.warn(
          { backend: event.backend, zone: event.zone, addresses: event.targets, code: codeOf(event.error), attempt: event.attempt, retry_in_ms: event.delayMs },
          `${event.error.message}; retrying`,
        );
        break;
      case 'dead-lettered':
        metrics.unlists.inc({ backend: event.backend, outcome: 'dead_letter' }, event.job.targets.length);
        log.error({ ...jobLogFields(event.job), backend: event.backend, zone: event.zone, code: event.error.code }, `dead letter: ${event.error.message} (see rbl-unlist queue list)`);
        break;
      case 'delivery-handed-over':
        log.warn(
          { backend: event.backend, zone: event.zone, to: event.to, jobs: event.jobs.length },
          'pending unlists handed over to the backends that serve the zone now: the backend is no longer configured',
        );
        break;
      case 'pending-outside-pools':
        log.warn(
          { addresses: event.targets.slice(0, 20), count: event.targets.length, jobs: event.jobs, code: 'RBL_ADDRESS_OUTSIDE_POOLS' },
          'pending unlists of addresses outside the pools dropped: the pools no longer hold them (a reload or a start on a changed config)',
        );
        break;
      case 'delivery-unserved':
        metrics.unlists.inc({ backend: event.backend, outcome: 'dead_letter' }, event.jobs.reduce((sum, job) => sum + job.targets.length, 0));
        log.warn(
          { backend: event.backend, zone: event.zone, jobs: event.jobs.length, code: event.error.code },
          'pending unlists kept as dead letters: no backend in the config serves the zone any more; `rbl-unlist queue retry` sends them once one does',
        );
        break;
      case 'delivery-dropped':
        // Nothing is lost: each backend that serves the zone has these unlists pending or dead-lettered.
        log.info({ backend: event.backend, zone: event.zone, jobs: event.jobs.length }, 'pending unlists of a backend no longer configured dropped: the backends that serve the zone have them already');
        break;
      case 'journal-recovered':
        log.warn(
          { code: 'RBL_JOURNAL_CORRUPT', file: event.file, good_bytes: event.goodBytes, skipped_bytes: event.skippedBytes, stretches: event.stretches, saved_as: event.savedAs, save_error: event.saveError },
          event.stretches > 0
            ? `journal recovered past ${event.stretches === 1 ? 'a corrupt stretch' : `${event.stretches} corrupt stretches`}: ${event.skippedBytes} bytes skipped (${event.reason}), the records after replayed`
            : `journal recovered up to the last good record: ${event.skippedBytes} bytes skipped (${event.reason})`,
        );
        break;
      case 'journal-detached':
        log.warn(
          { dir: event.dir },
          'took state.dir over from an rbl-unlist elsewhere that stopped refreshing its lock: the journal was copied to a new file first, so that service, if it still runs, cannot write over what this one records',
        );
        break;
      case 'lock-lost':
        // Counted with the journal's errors: the same alert (RblUnlistJournalErrors) says the service stopped recording.
        metrics.journalErrors.inc();
        log.error({ code: event.error.code }, event.error.message);
        break;
      case 'journal-error': {
        metrics.journalErrors.inc();
        const { allowed, suppressed } = journalErrorLimiter();
        if (allowed) {
          log.error(
            { code: event.error.code, writable: event.writable, suppressed },
            event.writable ? event.error.message : `${event.error.message}; nothing is acknowledged until the journal can be written again`,
          );
        }
        break;
      }
      case 'journal-writable':
        log.warn({ down_ms: event.downMs, pending: event.pending }, 'journal writable again: state rebuilt from it, acknowledging again');
        break;
      case 'request-error':
        log.error({ code: event.error.code }, event.error.message);
        break;
      case 'request-not-applied': {
        const asked = event.writtenAt === undefined ? undefined : new Date(event.writtenAt).toISOString();
        const what = event.request ? `\`${queueCommand(event.request)}\`` : 'a `queue retry` or `queue drop` (its request file could not be read)';
        log.warn(
          { action: event.request?.action, ids: event.request?.ids, asked_at: asked },
          `${what}${asked === undefined ? '' : ` asked at ${asked}`} was not applied: the service that took it stopped before answering, and a minute has passed; check \`rbl-unlist queue list\` and run the command again if it is still wanted`,
        );
        break;
      }
      case 'state-dir-tightened':
        if (event.paths.length > 0) {
          log.warn({ dir: event.dir, paths: event.paths }, `${event.paths.length} files or folders in state.dir were open to group or others, as an older release left them: now readable by the service's user only`);
        }
        for (const { path, code } of event.failed) {
          log.error({ path, code }, `${path} in state.dir is open to group or others and its mode cannot be changed (${code}): chmod go-rwx ${path}`);
        }
        break;
      case 'dead-letters-redacted':
        log.warn(
          { file: event.file, dead_letters: event.count },
          `${event.count} dead letters held a credential in their message as an older release journaled it: shown REDACTED, and the journal is compacted now so the file no longer holds it`,
        );
        break;
      case 'journal-compacted':
        log.info({ file: event.file, before_bytes: event.beforeBytes, after_bytes: event.afterBytes, ms: event.durationMs }, 'journal compacted');
        break;
      case 'sessions-expired':
        log.info({ count: event.count }, 'sessions expired (sessions.max_age)');
        break;
      case 'admin-request':
        log.info({ action: event.action, count: event.count }, `queue ${event.action} applied`);
        break;
    }
  };
}

/** The command line that asks for a retry or drop again. */
function queueCommand({ action, ids }: AdminRequest): string {
  const which = ids === undefined ? (action === 'drop' ? ' --all' : '') : ids.map((id) => ` ${id}`).join('');
  return `rbl-unlist queue ${action}${which}`;
}

function codeOf(error: Error): string | undefined {
  return error instanceof RblError ? error.code : undefined;
}
