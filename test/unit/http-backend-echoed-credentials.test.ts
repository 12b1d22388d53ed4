/**
 * An HTTP API that echoes what it was sent in its error answer (the Authorization header, the key
 * it rejects, in the body or in the reason phrase): the credentials never reach the error message,
 * which goes to the log, /status, `queue list` and the dead letters in state.dir.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpBackend } from '../../src/backends/http/backend.js';
import type { RblError } from '../../src/errors.js';
import { parsePrefix } from '../../src/net/address.js';
import { HTTP_BACKEND_DEFAULTS, useRecordingServer } from '../helpers/http-server.js';

const http = useRecordingServer();

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('credentials echoed by the API', () => {
  it.each([401, 400, 500])('keeps the Basic credentials Node makes of user:password@ out of an error whose %s body echoes the Authorization header', async (status) => {
    const backend = http.backend({ url: `http://ops:Pa55-word-9@127.0.0.1:${http.server.port}/x/{name}` });
    http.server.respondWith((request) => ({ status, body: `denied: Authorization: ${request.headers.authorization}` }));
    const error = (await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e)) as RblError;
    const basic = Buffer.from('ops:Pa55-word-9').toString('base64');
    expect(http.server.requests[0]!.headers.authorization).toBe(`Basic ${basic}`);
    // base64 of "user:password" is the password in plain sight: anyone can decode it.
    expect(error.message).not.toContain(basic);
    expect(error.message).toContain('denied: Authorization: REDACTED');
  });

  it('keeps the API key out of the reason phrase, as out of the body', async () => {
    server = createServer((request, response) => {
      response.writeHead(401, `unknown key ${String(request.headers['x-api-key'])}`);
      response.end(`unknown key ${String(request.headers['x-api-key'])}`);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const backend = createHttpBackend({ ...HTTP_BACKEND_DEFAULTS, url: `http://127.0.0.1:${port}/x/{name}`, apiKey: 'key-456789-secret' });
    try {
      const error = (await backend.unlist('rbl.example.net', [parsePrefix('10.0.0.2')]).catch((e: unknown) => e)) as RblError;
      expect(error.code).toBe('RBL_HTTP_AUTH');
      expect(error.message).not.toContain('key-456789-secret');
      expect(error.message).toContain('401 unknown key REDACTED');
    } finally {
      await backend.close();
    }
  });
});
