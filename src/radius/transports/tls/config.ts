/**
 * Resolves `radius.tls` (RFC 6614): listen endpoints, and the certificate, key and CA read once and
 * loaded into a TLS context here, so a wrong file fails check-config and a SIGHUP, not a handshake.
 */
import { createSecureContext } from 'node:tls';
import type { z } from 'zod';
import type { Endpoint } from '../../../config/load.js';
import { durationMs } from '../../../config/schema.js';
import { RblError } from '../../../errors.js';
import type { ResolveContext } from '../types.js';
import type { tlsSchema } from './schema.js';

/** RFC 6614 §2.1: RadSec listens on TCP port 2083. */
export const RADSEC_PORT = 2083;

export interface TlsListenerConfig {
  readonly listen: readonly Endpoint[];
  /** Absolute paths, for messages and check-config. */
  readonly certificateFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** PEM contents. */
  readonly certificate: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
}

type RawTls = z.infer<(typeof tlsSchema)['tls']>;

/** The RadSec listener config, or undefined when `radius.tls` is left out. */
export function resolveTlsConfig(raw: RawTls, context: ResolveContext): TlsListenerConfig | undefined {
  if (!raw) return undefined;
  const certificate = context.readFile(raw.certificate_file, 'radius.tls.certificate_file', false);
  const key = context.readFile(raw.key_file, 'radius.tls.key_file', true);
  const ca = context.readFile(raw.ca_file, 'radius.tls.ca_file', false);
  try {
    // Loads all three the way the server will: a key that is not the certificate's fails here.
    createSecureContext({ cert: certificate, key, ca });
  } catch (error) {
    // OpenSSL's message names the problem (no start line, key values mismatch) and never the key itself.
    throw new RblError('RBL_TLS_CERTIFICATE', `${context.path}: radius.tls: ${(error as Error).message}`, { cause: error });
  }
  return Object.freeze({
    listen: Object.freeze(raw.listen.map((text, i) => context.endpoint(text, `radius.tls.listen.${i}`, RADSEC_PORT))),
    certificateFile: context.file(raw.certificate_file),
    keyFile: context.file(raw.key_file),
    caFile: context.file(raw.ca_file),
    certificate,
    key,
    ca,
    idleTimeoutMs: durationMs(raw.idle_timeout),
    maxConnections: raw.max_connections,
    maxConnectionsPerClient: raw.max_connections_per_client,
  });
}
