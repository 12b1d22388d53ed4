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

  it('shows the control characters of a message, a field and a packet attribute escaped, not acting on the terminal', () => {
    const { logger, text } = capture('pretty');
    // A subscriber chooses their own PPP user name; a NAS or an API may send anything.
    logger.trace({ attributes: ['User-Name = "\u001b]0;owned\u0007\u009b2J"'], session: 'id\u001b[31m', nas: 'x\u007fy' }, 'dead letter: api said \u001b[2Jgone\rok');
    const lines = text().split('\n');
    expect(lines[0]).toMatch(/ TRACE dead letter: api said \\x1b\[2Jgone\\x0dok session=id\\x1b\[31m nas=x\\x7fy$/);
    expect(lines[1]).toBe('\tUser-Name = "\\x1b]0;owned\\x07\\x9b2J"');
    // Nothing in the output is a control character but the tab and the line ends.
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point.
    expect(text().replace(/[\t\n]/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
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
