// `status` and `why` when the service cannot be asked: http.listen off, nothing listening, something else answering.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cliConfigYaml, runCliCaptured, writeKeyFile } from '../helpers/cli.js';
import { freePort, tempDir } from '../helpers/peers.js';
import { writeConfig } from '../helpers/service.js';

const temp = tempDir('cli-status');
afterAll(() => temp.remove());
writeKeyFile(temp.dir, 'tsig.key');

function configWithHttp(listen: string, name: string): string {
  const yaml = cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.test'], keyFile: 'tsig.key' }] });
  return writeConfig(temp.dir, yaml.replace('listen: ""', `listen: ${JSON.stringify(listen)}`), name);
}

describe('status without a service to ask', () => {
  it('says http.listen is off when it is ""', async () => {
    const result = await runCliCaptured(['status', '--config', configWithHttp('', 'off.yaml')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rbl-unlist: RBL_SERVICE_UNREACHABLE: http\.listen is "" in \S+off\.yaml: the service serves no status; set http\.listen/);
  });

  it('names the URL and the refused connection when nothing listens, also as one JSON document', async () => {
    const port = await freePort();
    const config = configWithHttp(`127.0.0.1:${port}`, 'down.yaml');
    const text = await runCliCaptured(['status', '--config', config]);
    expect(text.status).toBe(1);
    expect(text.stderr).toContain(`rbl-unlist: RBL_SERVICE_UNREACHABLE: no answer from the service at http://127.0.0.1:${port}/status: ECONNREFUSED; is rbl-unlist serve running with `);
    const json = await runCliCaptured(['status', '--json', '--config', config]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'RBL_SERVICE_UNREACHABLE' } });
  });

  it('says so when something that is not rbl-unlist answers on the port', async () => {
    const other = createServer((_request, response) => response.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const port = (other.address() as AddressInfo).port;
      const result = await runCliCaptured(['status', '--config', configWithHttp(`127.0.0.1:${port}`, 'other.yaml')]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`the service at http://127.0.0.1:${port}/status answered 404 without JSON`);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('says the service is busy when it answers 503 busy (too many /status or /addresses requests waiting)', async () => {
    // The answer the service's endpoint gives then (http-limits.test.ts holds it to this shape).
    const message = 'busy: 8 requests for /status or /addresses wait already; ask again in a moment';
    const busy = createServer((_request, response) => response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' }).end(`${JSON.stringify({ error: { code: 'busy', message } })}\n`));
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const config = configWithHttp(`127.0.0.1:${port}`, 'busy.yaml');
      const status = await runCliCaptured(['status', '--config', config]);
      expect(status.status).toBe(1);
      expect(status.stderr).toContain(`rbl-unlist: RBL_SERVICE_UNREACHABLE: the service at http://127.0.0.1:${port} is ${message}`);
      // why still prints the zones' answers (none here: nothing listens at 127.0.0.1:9) and warns why the service's part is missing.
      const why = await runCliCaptured(['why', '--config', config, '10.64.0.1']);
      expect(why.stdout).toContain('service: no answer (RBL_SERVICE_UNREACHABLE)');
      expect(why.stderr).toContain(`rbl-unlist: warning: RBL_SERVICE_UNREACHABLE: the service at http://127.0.0.1:${port} is ${message}`);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it('asks a service listening on every address at loopback', async () => {
    const port = await freePort();
    const result = await runCliCaptured(['status', '--config', configWithHttp(`0.0.0.0:${port}`, 'any.yaml')]);
    expect(result.stderr).toContain(`http://127.0.0.1:${port}/status`);
  });

  it('refuses why without an address, and an address that does not parse, as bad usage', async () => {
    const config = configWithHttp('', 'usage.yaml');
    expect((await runCliCaptured(['why', '--config', config])).status).toBe(2);
    const bad = await runCliCaptured(['why', '--config', config, '10.64.0.300']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/RBL_ADDRESS_INVALID/);
  });
});
