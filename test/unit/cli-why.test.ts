/**
 * `why` with what others chose in its report (a subscriber's User-Name, a TXT reason) and with
 * several addresses one of which the service refuses: the report stays true and one line per line.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { accountingEvent } from '../../src/accounting/event.js';
import { planEvent } from '../../src/accounting/plan.js';
import { createMetrics } from '../../src/http/metrics.js';
import { OperatorView } from '../../src/http/operator-view.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { parsePrefix } from '../../src/net/address.js';
import type { JobDeliveries } from '../../src/queue/store-open.js';
import { SessionTable } from '../../src/sessions/table.js';
import { accountingAttributes } from '../helpers/accounting.js';
import { cliConfigYaml, runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';
import { writeConfig } from '../helpers/service.js';

const temp = tempDir('cli-why');
afterAll(() => temp.remove());
writeKeyFile(temp.dir, 'tsig.key');
let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A service's HTTP endpoint with this operator view, and a config whose http.listen points at it. */
async function serve(view: OperatorView, name: string): Promise<string> {
  server = createHttpServer({ listen: { host: '127.0.0.1', port: 0, family: 4 }, metrics: createMetrics(), readiness: () => ({ ready: true, checks: {} }), views: (path) => view.route(path) });
  await server.start();
  // The zone's server (port 9) does not answer: the zone lines say so, the service's part is what is judged.
  const yaml = cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.test'], keyFile: 'tsig.key', timeout: '300ms' }] });
  return writeConfig(temp.dir, yaml.replace('listen: ""', `listen: "127.0.0.1:${server.address().port}"`), name);
}

describe('why', () => {
  it("keeps the service's report of an address when it refuses another argument (a prefix wider than it looks up)", async () => {
    const pending: JobDeliveries = {
      job: { id: '7', targets: ['10.64.0.5'], createdAt: Date.parse('2026-01-01T00:00:00Z'), reason: { event: 'stop', client: 'ras1', nas: '192.0.2.1', sessionId: 's1' } },
      pending: [{ backend: 'bind', zone: 'rbl.test' }],
      dead: [],
    };
    const view = new OperatorView({
      sessionTable: () => ({ ownerOf: () => undefined }),
      jobsMatching: (matches: (target: string) => boolean) => (pending.job.targets.some(matches) ? [pending] : []),
    } as never);
    const config = await serve(view, 'wide.yaml');
    const both = await runCliCaptured(['why', '--config', config, '10.64.0.5', '10.64.0.0/16']);
    const [first, second] = both.stdout.split('\n\n');
    expect(first).not.toContain('service: no answer');
    expect(first).toContain('job 7: bind, zone rbl.test');
    expect(second).toContain('service: no answer (RBL_ADDRESS_INVALID)');
    expect(both.stderr).toMatch(/^rbl-unlist: warning: RBL_ADDRESS_INVALID: /m);

    const json = JSON.parse((await runCliCaptured(['why', '--json', '--config', config, '10.64.0.5', '10.64.0.0/16'])).stdout) as {
      service: { answered: boolean };
      addresses: { service: unknown; service_error?: { code: string } }[];
    };
    expect(json.service).toEqual({ answered: true });
    expect(json.addresses[0]!.service).toMatchObject({ pending: [expect.objectContaining({ job: '7' })] });
    expect(json.addresses[1]).toMatchObject({ service: null, service_error: { code: 'RBL_ADDRESS_INVALID' } });
  }, 30_000);

  it('shows the control characters of a User-Name escaped: no forged line, no terminal escape', async () => {
    const table = new SessionTable();
    const view = new OperatorView({ sessionTable: () => table, jobsMatching: () => [] } as never);
    const policy = { pools: [parsePrefix('10.64.0.0/16')], clientPools: [], unlistOn: new Set(['stop']), maxSessions: 1000 };
    const userName = 'mallory\n  last unlist: job 1, asked by stop\n    bind, zone rbl.test: unlisted\u001b[2K';
    const event = accountingEvent(accountingAttributes({ statusType: 1, sessionId: 's1', userName, nasIpAddress: '192.0.2.1', framedIpAddress: '10.64.0.5' }), 'ras1', '127.0.0.1', 1000);
    const plan = planEvent(event, table, policy as never);
    view.onEvent(event, plan);
    for (const session of plan.upsert) table.upsert(session);
    const config = await serve(view, 'control.yaml');
    const result = await runCliCaptured(['why', '--config', config, '10.64.0.5']);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout.split('\n').filter((line) => line.trimStart().startsWith('last unlist:'))).toHaveLength(1);
    expect(result.stdout).toContain('user mallory\\x0a  last unlist: job 1, asked by stop\\x0a    bind, zone rbl.test: unlisted\\x1b[2K');
  }, 30_000);
});
