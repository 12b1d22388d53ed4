import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { prettyLine } from '../../src/log-pretty.js';

/** A logger of the given format whose output is collected as text. */
function capture(format: 'json' | 'pretty'): { logger: ReturnType<typeof createLogger>; text: () => string } {
  let text = '';
  const logger = createLogger('trace', { write: (chunk: string) => void (text += chunk) }, format);
  return { logger, text: () => text };
}

describe('the pretty log format', () => {
  it('prints time, level, component and message, then the fields as key=value, quoting only what needs it', () => {
    const { logger, text } = capture('pretty');
    logger.child({ component: 'queue' }).info({ client: 'nas1', addresses: ['10.64.0.1', '10.64.0.2'], ms: 12, reason: 'two words' }, 'unlisted');
    expect(text()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}queue: unlisted client=nas1 addresses=\[10\.64\.0\.1,10\.64\.0\.2\] ms=12 reason="two words"\n$/);
    expect(text()).not.toContain('service=');
  });

  it('prints a packet trace with one attribute a line, and an error by its message', () => {
    const { logger, text } = capture('pretty');
    logger.trace({ attributes: ['Acct-Status-Type = Stop', 'User-Name = "bob"'] }, 'Received Accounting-Request Id 1 from 127.0.0.1:5 length 40');
    logger.error({ err: new Error('disk full'), code: 'RBL_STATE_DIR' }, 'journal');
    const lines = text().split('\n');
    expect(lines[0]).toMatch(/ TRACE Received Accounting-Request Id 1 from 127\.0\.0\.1:5 length 40$/);
    expect(lines.slice(1, 3)).toEqual(['\tAcct-Status-Type = Stop', '\tUser-Name = "bob"']);
    expect(lines[3]).toMatch(/ ERROR journal err="disk full" code=RBL_STATE_DIR$/);
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(prettyLine('plain text')).toBe('plain text\n');
  });

  it('leaves the default format pino JSON lines', () => {
    const { logger, text } = capture('json');
    logger.info({ client: 'nas1' }, 'hello');
    expect(JSON.parse(text())).toMatchObject({ level: 'info', msg: 'hello', client: 'nas1', service: 'rbl-unlist' });
  });
});
