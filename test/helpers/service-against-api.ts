/**
 * The built service with one HTTP backend, `api` for zone rbl.test, against a recording server on
 * 127.0.0.1 that answers as the test says: how the integration tests put an HTTP blacklist API
 * that misbehaves (fails one name, shows a portal page) in front of the real service.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { startRecordingServer, type RecordingServer, type Responder } from './http-server.js';
import { freePort, tempDir } from './peers.js';
import { buildAccountingRequest, sendRadius } from './radius-packets.js';
import { NAS_SECRET, serviceConfigYaml, startService, writeConfig, type LogLine, type ServiceHandle } from './service.js';

export interface ServiceAgainstApi {
  readonly api: RecordingServer;
  readonly service: ServiceHandle;
  /** The config file's path. */
  readonly config: string;
  readonly radiusPort: number;
  readonly httpPort: number;
  /** The test's folder: the config, the state.dir and the files the backend names. */
  readonly dir: string;
  /** The addresses of every `unlisted` line so far. */
  unlisted(): string[];
  /** The `…; retrying` lines that name `address`. */
  retriesOf(address: string): LogLine[];
  /** Sends a Stop of a session of its own for `address` and expects its Accounting-Response. */
  stop(address: string, attributes?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the recording server, then the service; `backend` adds keys to the backend (a token_file
 * written into the test's folder, say). `name` names the temporary folder.
 */
export async function startServiceAgainstApi(name: string, responder: Responder, backend: (dir: string) => Record<string, unknown> = () => ({})): Promise<ServiceAgainstApi> {
  const api = await startRecordingServer(responder);
  const temp = tempDir(name);
  let service: ServiceHandle | undefined;
  const close = async (): Promise<void> => {
    await service?.stop();
    await api.close();
    temp.remove();
  };
  try {
    const radiusPort = await freePort();
    const httpPort = await freePort();
    const config = writeConfig(
      temp.dir,
      serviceConfigYaml({
        radiusPort,
        httpPort,
        backends: [{ type: 'http', name: 'api', url: `http://127.0.0.1:${api.port}/zones/{zone}/entries/{name}`, zones: ['rbl.test'], timeout: '2s', ...backend(temp.dir) }],
        stateDir: join(temp.dir, 'state'),
      }),
    );
    const started = await startService(config);
    service = started;
    let identifier = 0;
    return {
      api,
      service: started,
      config,
      radiusPort,
      httpPort,
      dir: temp.dir,
      unlisted: () => started.logs().filter((line) => line.msg === 'unlisted').flatMap((line) => line.addresses as string[]),
      retriesOf: (address) => started.logs().filter((line) => String(line.msg).endsWith('; retrying') && (line.addresses as string[]).includes(address)),
      async stop(address, attributes = {}) {
        identifier = (identifier + 1) % 256;
        const packet = buildAccountingRequest({
          identifier,
          secret: NAS_SECRET,
          attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': `s-${address}`, 'Framed-IP-Address': address, ...attributes },
        });
        expect((await sendRadius(packet, radiusPort, '127.0.0.1', 5000))?.[0]).toBe(5);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
