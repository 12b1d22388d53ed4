/** The stopped-session memory's column chunks (as a snapshot reads them) back as rows, oldest first. */
import type { StoppedColumns, StoppedRow } from '../../src/sessions/stopped.js';

export function stoppedRowsOf(chunks: Iterable<StoppedColumns>): StoppedRow[] {
  return [...chunks].flatMap(({ high, low, nasTime }) => Array.from(high, (_, i): StoppedRow => [high[i]!, low[i]!, nasTime[i]!]));
}
