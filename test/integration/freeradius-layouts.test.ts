/**
 * The shipped FreeRADIUS snippets parse as FreeRADIUS 3.2 reads them (`freeradius -XC`), including
 * layout (c), the keyed-balance pool of two rbl-unlist instances, and the timers are not clamped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkFreeRadiusConfig, writeFreeRadiusConfig } from '../helpers/freeradius.js';
import { havePeers, tempDir } from '../helpers/peers.js';

const installed = havePeers('freeradius');

describe.skipIf(!installed)('the FreeRADIUS snippets in deploy/freeradius', () => {
  const temps: { remove: () => void }[] = [];
  afterEach(() => temps.splice(0).forEach((temp) => temp.remove()));

  function checked(pool: 'one-instance' | 'two-instances'): { status: number | null; output: string } {
    const temp = tempDir('freeradius-check');
    temps.push(temp);
    writeFreeRadiusConfig(temp.dir, { acctPort: 18130, secretForNas: 'nas', homeServer: { port: 18131, secret: 'relay' }, pool });
    return checkFreeRadiusConfig(temp.dir);
  }

  it('layout (a), detail relay to one instance, passes freeradius -XC with no timer forced to another value', () => {
    const result = checked('one-instance');

    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('Configuration appears to be OK');
    // FreeRADIUS prints 'Ignoring "x = 1", forcing to "x = 6"' for a value out of its bounds.
    expect(result.output).not.toMatch(/Ignoring ".*", forcing to/);
  });

  it('layout (c), two instances behind a keyed-balance pool, passes freeradius -XC', () => {
    const result = checked('two-instances');

    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/home_server_pool rbl_unlist \{\s+type = keyed-balance/);
    expect(result.output).not.toMatch(/Ignoring ".*", forcing to/);
  });
});
