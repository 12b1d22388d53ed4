// Text from outside made safe for a terminal (src/printable.ts).
import { describe, expect, it } from 'vitest';
import { printable, printableLines } from '../../src/printable.js';

describe('printable', () => {
  it('escapes C0 controls but a tab, DEL and C1 controls, and leaves the rest of Unicode as it is', () => {
    expect(printable('a\tb\nc\rd\u0000e\u007ff\u0085g\u009bh')).toBe('a\tb\\x0ac\\x0dd\\x00e\\x7ff\\x85g\\x9bh');
    expect(printable('Müller 李 ✓ "quoted" \\')).toBe('Müller 李 ✓ "quoted" \\');
  });

  it('keeps line feeds in printableLines, and escapes the carriage return that would let a line overwrite itself', () => {
    expect(printableLines('one\ntwo\r\u001b[2Jthree\u009b31m')).toBe('one\ntwo\\x0d\\x1b[2Jthree\\x9b31m');
  });
});
