/**
 * A real radsecproxy on 127.0.0.1: it takes RADIUS over UDP from a NAS (radclient in the tests)
 * and forwards accounting over RadSec (RFC 6614) to rbl-unlist, with a client certificate, as an
 * operator's proxy in front of rbl-unlist does. The config is the shipped example in
 * deploy/radsecproxy/ with the test's ports, secrets and certificate paths filled in.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CertificateFiles } from './certs.js';
import { executable, startForegroundPeer, tempDir } from './peers.js';

/** The shipped radsecproxy example. */
export const RADSECPROXY_EXAMPLE = fileURLToPath(new URL('../../deploy/radsecproxy/radsecproxy.conf', import.meta.url));

export interface RadsecproxyOptions {
  /** UDP port the NAS sends accounting to. */
  readonly udpPort: number;
  /** The NAS's secret towards radsecproxy. */
  readonly nasSecret: string;
  /** Where rbl-unlist listens for RadSec on 127.0.0.1. */
  readonly rblUnlistPort: number;
  /** radsecproxy's client certificate and key, and the CA rbl-unlist's server certificate chains to. */
  readonly identity: CertificateFiles;
  readonly caFile: string;
}

export interface Radsecproxy {
  readonly udpPort: number;
  /** Everything it printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Fills in the shipped example: every line whose value is a placeholder in <ANGLE BRACKETS> gets the
 * test's value. Throws when a placeholder is missing, so a changed example fails the test loudly.
 */
export function templateRadsecproxyConf(text: string, values: Readonly<Record<string, string>>): string {
  let result = text;
  for (const [placeholder, value] of Object.entries(values)) {
    const token = `<${placeholder}>`;
    if (!result.includes(token)) throw new Error(`radsecproxy.conf: placeholder ${token} not found`);
    result = result.replaceAll(token, value);
  }
  const left = /<[A-Z_]+>/.exec(result);
  if (left) throw new Error(`radsecproxy.conf: placeholder ${left[0]} not filled in`);
  return result;
}

/** Starts radsecproxy in the foreground; resolves once it listens. */
export async function startRadsecproxy(options: RadsecproxyOptions): Promise<Radsecproxy> {
  const temp = tempDir('radsecproxy');
  const conf = join(temp.dir, 'radsecproxy.conf');
  writeFileSync(conf, templateRadsecproxyConf(readFileSync(RADSECPROXY_EXAMPLE, 'utf8'), {
    LISTEN_UDP: `127.0.0.1:${options.udpPort}`,
    NAS_ADDRESS: '127.0.0.1',
    NAS_SECRET: options.nasSecret,
    CA_FILE: options.caFile,
    CERTIFICATE_FILE: options.identity.certificateFile,
    KEY_FILE: options.identity.keyFile,
    RBL_UNLIST_HOST: '127.0.0.1',
    RBL_UNLIST_PORT: String(options.rblUnlistPort),
  }), { mode: 0o600 });
  // -f: foreground, logging to stderr; -d 4: debug, so a refused handshake shows in log().
  const peer = await startForegroundPeer(
    'radsecproxy to start',
    executable('radsecproxy'),
    ['-f', '-d', '4', '-c', conf, '-i', join(temp.dir, 'radsecproxy.pid')],
    temp,
    (output) => /radsecproxy .* starting/i.test(output) || output.includes('listening'),
    10_000,
  );
  return { udpPort: options.udpPort, log: peer.output, stop: peer.stop };
}
