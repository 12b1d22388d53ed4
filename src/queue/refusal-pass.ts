/**
 * How a lane tells a name the server refuses for itself from a zone it refuses whole. A DNS server
 * answers a signed REFUSED to an UPDATE its update-policy does not grant for one of the names in it
 * (a name outside what the key may change): that is for good, a dead letter. It answers the same to
 * every UPDATE of a zone frozen for a hand edit (`rndc freeze`): that lasts until the thaw, and the
 * unlists must wait and go then, or the next customers inherit the listings. The answer does not
 * say which, and it refuses the whole UPDATE for one name, so the jobs of a refused batch are tried
 * one per call: a refusal after another job of the pass went through is that job's own; when every
 * job was refused in a row, the zone refuses everything, and the lane waits as for any failure.
 */

/** What the lane does with a refused call. */
export type RefusalStep =
  /** A batch: its jobs go one per call. */
  | 'split'
  /** A job alone, and jobs of the pass not tried since: it goes after them. */
  | 'try-others'
  /** A job alone, refused while others went through: refused for itself. */
  | 'dead-letter'
  /** Every job refused in a row: the zone refuses everything; the lane backs off. */
  | 'pause';

export class RefusalPass {
  #succeeded = false;
  #refusedInRow = 0;

  /** A call of `jobs` jobs was refused; `untried` jobs of the pass wait to be tried alone. */
  refused(jobs: number, untried: number): RefusalStep {
    if (jobs > 1) {
      this.#succeeded = false;
      this.#refusedInRow = 0;
      return 'split';
    }
    if (this.#succeeded) return 'dead-letter';
    this.#refusedInRow++;
    if (this.#refusedInRow <= untried) return 'try-others';
    this.#refusedInRow = 0;
    return 'pause';
  }

  /** A call of the lane went through. */
  succeeded(): void {
    this.#succeeded = true;
    this.#refusedInRow = 0;
  }
}
