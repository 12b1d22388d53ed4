/**
 * A log destination for tests: every JSON line pino writes is parsed and pushed onto `lines`, so a
 * test can look for the line its case should have produced.
 */
import { Writable } from 'node:stream';

/** A stream that parses each newline-separated JSON log line into `lines`. */
export function logLineSink<Line>(lines: Line[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      callback();
    },
  });
}
