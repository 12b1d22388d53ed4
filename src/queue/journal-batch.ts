/**
 * A batch of the journal's group commit (journal.ts): the records that one synchronized write will
 * take, and the promise their appends share; with the helpers the journal uses on batches.
 */
import type { RblError } from '../errors.js';

/**
 * Records waiting for the same synchronized write, and the one promise they share: a burst
 * appends thousands of records a second, and a promise with its two callbacks for each was a
 * good part of what the receive path allocated (issue 13).
 */
export class PendingBatch {
  /** Each record's JSON text, made at append time (the record may change after); framed when written. */
  readonly jsons: string[] = [];
  readonly written: Promise<void>;
  resolve: () => void = () => undefined;
  reject: (error: RblError) => void = () => undefined;
  /** The appends and written() calls that wait for this batch: what the journal counts as waiting. */
  waiting = 0;
  settled = false;

  constructor() {
    this.written = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Shared by every append of the batch: a caller that does not wait for it (a delivery record)
    // must not make its refusal an unhandled rejection; the ones that wait still see it.
    this.written.catch(() => undefined);
  }
}

/** A refused append's promise, handled like a batch's: the caller may not wait for it. */
export function refusal(error: RblError): Promise<void> {
  const refused = Promise.reject(error);
  refused.catch(() => undefined);
  return refused;
}

/** The JSON texts of batches, in order, for one write. */
export function batchTexts(batches: readonly PendingBatch[]): string[] {
  return batches.length === 1 ? batches[0]!.jsons : batches.flatMap((batch) => batch.jsons);
}
