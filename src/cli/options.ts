/**
 * What several commands share: the --config and --json options, loading the config the way the
 * contract says (--config, then $RBL_UNLIST_CONFIG, then /etc/rbl-unlist/config.yaml), and
 * parsing the ADDRESS|PREFIX arguments.
 */
import { Option } from 'commander';
import { BACKENDS } from '../backends/index.js';
import { configPath, DEFAULT_CONFIG_PATH, loadConfig, type Config } from '../config/load.js';
import { RblError } from '../errors.js';
import { formatPrefix, parsePrefix, type IpPrefix } from '../net/address.js';
import type { CliIo } from './output.js';

/** The options every command that reads the config takes. */
export interface ConfigOptions {
  readonly config?: string;
}

/** The options of commands with a --json mode. */
export interface JsonOptions {
  readonly json?: boolean;
}

/** `-c, --config FILE`. */
export function configOption(): Option {
  return new Option('-c, --config <file>', `config file (default: $RBL_UNLIST_CONFIG, then ${DEFAULT_CONFIG_PATH})`);
}

/** `--json`. */
export function jsonOption(): Option {
  return new Option('--json', 'print one JSON document on stdout, for scripts');
}

/** Loads the config named by --config or the environment; throws RblError (exit 2). */
export function loadCliConfig(options: ConfigOptions, io: CliIo): Config {
  return loadConfig(configPath(options.config, io.env), BACKENDS);
}

/**
 * Parses every ADDRESS|PREFIX argument, dropping repeats (by canonical text); throws one
 * RBL_ADDRESS_INVALID (exit 2) naming every argument that does not parse, and then `consequence`.
 */
export function parseTargets(args: readonly string[], consequence = ''): IpPrefix[] {
  const targets = new Map<string, IpPrefix>();
  const bad: string[] = [];
  for (const arg of args) {
    try {
      const target = parsePrefix(arg);
      targets.set(formatPrefix(target), target);
    } catch (error) {
      bad.push(error instanceof RblError ? error.message : `"${arg}" does not parse`);
    }
  }
  if (bad.length > 0) throw new RblError('RBL_ADDRESS_INVALID', `${bad.join('; ')}${consequence ? `; ${consequence}` : ''}`);
  return [...targets.values()];
}
