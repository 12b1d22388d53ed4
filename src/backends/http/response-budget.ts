/**
 * How many bytes of answers one HTTP backend may hold while it reads them. Each answer has a cap of
 * its own (request.ts), but a backend reads up to eight at once (two calls in flight, four requests
 * each, one per socket of its agent): a broken or hostile API answering every request with a
 * stream of bytes would otherwise make the service hold eight capped answers, half a gigabyte,
 * and a container's memory limit would end the service. Pure code.
 */
export class ResponseBudget {
  readonly limitBytes: number;
  #heldBytes = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Takes `bytes` more for an answer being read; false, taking nothing, when they would not fit. */
  take(bytes: number): boolean {
    if (this.#heldBytes + bytes > this.limitBytes) return false;
    this.#heldBytes += bytes;
    return true;
  }

  /** Gives back what an answer took, once it was read to the end or failed. */
  giveBack(bytes: number): void {
    this.#heldBytes = Math.max(0, this.#heldBytes - bytes);
  }
}
