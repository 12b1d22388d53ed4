/**
 * Resolves the transports' parts of the `radius` section, each by its own folder's config step.
 * config/load.ts calls this once; adding a transport adds its line here and in ./schemas.ts.
 */
import type { z } from 'zod';
import { resolveTlsConfig, type TlsListenerConfig } from './tls/config.js';
import type { ResolveContext } from './types.js';
import type { transportSectionShape } from './schemas.js';
import { resolveUdpConfig, type ReceiveThreadSetting } from './udp/config.js';
import type { Endpoint } from '../../config/load.js';

type RawTransportSection = z.infer<z.ZodObject<typeof transportSectionShape>>;

/** The resolved transport keys of `radius`: what each transport's factory reads. */
export interface TransportConfigs {
  /** UDP listen endpoints (radius.listen). */
  readonly listen: readonly Endpoint[];
  /** Whether a receive thread reads the UDP sockets (radius.receive_thread); `auto` decides at start. */
  readonly receiveThread: ReceiveThreadSetting;
  /** The RadSec listener; undefined when radius.tls is left out. */
  readonly tls: TlsListenerConfig | undefined;
}

/** Resolves every transport's part of the `radius` section. */
export function resolveTransportConfigs(raw: RawTransportSection, context: ResolveContext): TransportConfigs {
  return { listen: resolveUdpConfig(raw.listen, context), receiveThread: raw.receive_thread, tls: resolveTlsConfig(raw.tls, context) };
}
