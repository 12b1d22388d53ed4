import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfigYaml, writeKeyFile } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';
import { startService, type ServiceHandle } from '../helpers/service.js';

// The built binary as systemd runs it: real signals, real process exit.
describe('rbl-unlist serve as a process', () => {
  let dir: string;
  let removeDir: () => void;
  let configFile: string;
  let service: ServiceHandle | undefined;
  const yaml = () =>
    cliConfigYaml({ pools: ['10.64.0.0/16'], backends: [{ server: '127.0.0.1:9', zones: ['rbl.example.net'], keyFile: 'tsig.key' }] }).replace('level: warn', 'level: info');

  beforeAll(() => {
    ({ dir, remove: removeDir } = tempDir('cli-serve'));
    writeKeyFile(dir, 'tsig.key');
    configFile = join(dir, 'config.yaml');
  });
  afterEach(async () => {
    await service?.stop('SIGKILL');
    service = undefined;
  });
  afterAll(() => removeDir());

  it('keeps running with the old config when SIGHUP finds a broken one, and exits 0 on SIGTERM', async () => {
    writeFileSync(configFile, yaml());
    service = await startService(configFile);
    writeFileSync(configFile, `${yaml()}bogus_key: 1\n`);
    service.child.kill('SIGHUP');
    const refused = await service.waitForLog((line) => line.msg.startsWith('config reload refused'));
    expect(refused).toMatchObject({ level: 'error', code: 'RBL_CONFIG_UNKNOWN_KEY' });
    expect(refused.msg).toContain('bogus_key');

    writeFileSync(configFile, yaml().replace('10.64.0.0/16', '10.65.0.0/16'));
    service.child.kill('SIGHUP');
    await service.waitForLog((line) => line.msg === 'config reloaded');

    expect(await service.stop('SIGTERM')).toBe(0);
    expect(service.logs().some((line) => line.msg === 'rbl-unlist stopped')).toBe(true);
  });

  it('exits 0 on SIGINT', async () => {
    writeFileSync(configFile, yaml());
    service = await startService(configFile);
    expect(await service.stop('SIGINT')).toBe(0);
  });
});
