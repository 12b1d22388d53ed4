/**
 * A list of backend types made into what config and the daemon use: the union schema of a
 * `backends[]` entry, its resolution, the factory and the summary, each found by the entry's `type`.
 */
import { z } from 'zod';
import { RblError } from '../errors.js';
import type { Backend, BackendConfigBase, BackendPlugin, BackendResolveContext, BackendSchema, BackendSummary } from './types.js';

// Plugins differ in schema and config; the registry holds them side by side and dispatches on `type`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBackendPlugin = BackendPlugin<any, any>;

type PluginList = readonly [AnyBackendPlugin, ...AnyBackendPlugin[]];
type SchemasOf<Plugins extends PluginList> = { -readonly [K in keyof Plugins]: Plugins[K]['schema'] } & [BackendSchema, ...BackendSchema[]];

/** The resolved config type of any plugin of the list. */
export type BackendConfigOf<Plugins extends PluginList> = ReturnType<Plugins[number]['resolve']>;

export interface BackendRegistry<Plugins extends PluginList = PluginList> {
  readonly plugins: Plugins;
  /** A `backends[]` entry: the plugins' schemas, told apart by `type`. */
  readonly schema: z.ZodDiscriminatedUnion<SchemasOf<Plugins>, 'type'>;
  /** Resolves one entry the schema accepted, by its type's own step. */
  resolve(raw: z.output<Plugins[number]['schema']>, context: BackendResolveContext): BackendConfigOf<Plugins>;
  /** Builds the backend of one resolved entry. */
  create(config: BackendConfigBase): Backend;
  summary(config: BackendConfigBase): BackendSummary;
}

/** The registry of a list of backend types; a type listed twice is a programming error. */
export function createBackendRegistry<const Plugins extends PluginList>(plugins: Plugins): BackendRegistry<Plugins> {
  const byType = new Map<string, AnyBackendPlugin>();
  for (const plugin of plugins) {
    if (byType.has(plugin.type)) throw new Error(`backend type ${plugin.type} is listed twice`);
    byType.set(plugin.type, plugin);
  }
  const pluginOf = (type: string): AnyBackendPlugin => {
    const plugin = byType.get(type);
    // The schema admits only listed types, so this is a config resolved by another registry.
    if (!plugin) throw new RblError('RBL_CONFIG_INVALID', `backend type ${type} is not known here (known: ${[...byType.keys()].join(', ')})`);
    return plugin;
  };
  const schemas = plugins.map((plugin) => plugin.schema) as unknown as SchemasOf<Plugins>;
  return {
    plugins,
    schema: z.discriminatedUnion('type', schemas),
    resolve: (raw, context) => pluginOf((raw as { type: string }).type).resolve(raw, context) as BackendConfigOf<Plugins>,
    create: (config) => pluginOf(config.type).create(config),
    summary: (config) => pluginOf(config.type).summary(config),
  };
}
