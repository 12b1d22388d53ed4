/**
 * A real FreeRADIUS 3.2 on 127.0.0.1, configured from the shipped deploy/freeradius/detail-relay
 * snippets (layout (a)): the NAS's accounting goes to a detail file and is answered at once; a
 * detail reader replays it to the rbl-unlist home server. The snippet files are used as shipped;
 * only the home server's address, port and secret are filled in, so the test runs what operators install.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executable, startForegroundPeer, tempDir } from './peers.js';

/** The shipped snippet folder for layout (a). */
export const DETAIL_RELAY_SNIPPETS = fileURLToPath(new URL('../../deploy/freeradius/detail-relay/', import.meta.url));
/** The shipped RadSec home server, which replaces layout (a)'s proxy-rbl-unlist.conf. */
export const RADSEC_HOME_SERVER = fileURLToPath(new URL('../../deploy/freeradius/radsec/proxy-rbl-unlist-radsec.conf', import.meta.url));
/** The shipped keyed-balance pool of layout (c), which replaces layout (a)'s proxy-rbl-unlist.conf. */
export const TWO_INSTANCES_POOL = fileURLToPath(new URL('../../deploy/freeradius/two-instances/proxy-rbl-unlist-pool.conf', import.meta.url));

export interface FreeRadiusOptions {
  /** The accounting port FreeRADIUS listens on for the NAS (127.0.0.1). */
  acctPort: number;
  /** An authentication port to open as well; left closed when not given. */
  authPort?: number;
  /** The secret the NAS (radclient on 127.0.0.1) shares with FreeRADIUS. */
  secretForNas: string;
  /** Where rbl-unlist listens, and the secret of FreeRADIUS's entry in its radius.clients. */
  homeServer: { port: number; secret: string; host?: string; /** RadSec: the shipped radsec home server with these files. */ tls?: RadsecFiles };
  /** radacctdir, where the detail files go; a folder inside the temp dir when not given. */
  detailDir?: string;
  /** Run with -X (full debug output in log()). */
  debug?: boolean;
  /**
   * Home server timers in place of the shipped snippet's, e.g. { response_window: 1, zombie_period: 1 }
   * to have rbl-unlist marked dead within seconds. FreeRADIUS 3.2 forces check_interval >= 6 and
   * num_answers_to_alive >= 3, so reviving takes 18 s whatever is set here.
   */
  homeServerTimers?: Readonly<Partial<Record<'response_window' | 'zombie_period', number>>>;
}

export interface FreeRadius {
  readonly acctPort: number;
  /** The temporary raddb folder. */
  readonly dir: string;
  /** radacctdir; the detail files are in its rbl-unlist-detail folder. */
  readonly detailDir: string;
  /** Everything FreeRADIUS printed so far. */
  log(): string;
  /** Stops FreeRADIUS (SIGTERM, then SIGKILL) and removes the temp folder. */
  stop(): Promise<void>;
}

/** A FreeRADIUS config string literal: double quotes, with backslash and quote escaped. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Fills in the rbl-unlist home server's ipaddr, port and secret (and any timers given) in the shipped proxy snippet.
 * Throws when a setting is not found exactly once, so a changed snippet fails the test loudly.
 */
export function templateProxySnippet(text: string, home: { host: string; port: number; secret: string; response_window?: number; zombie_period?: number }): string {
  let result = text;
  const timers = (['response_window', 'zombie_period'] as const).flatMap((key) => (home[key] === undefined ? [] : [[key, String(home[key])] as const]));
  for (const [key, value] of [['ipaddr', home.host], ['port', String(home.port)], ['secret', quoted(home.secret)], ...timers] as const) {
    const pattern = new RegExp(`^(\\s*${key}\\s*=\\s*).*$`, 'gm');
    const count = result.match(pattern)?.length ?? 0;
    if (count !== 1) throw new Error(`proxy-rbl-unlist.conf: expected one "${key} =" line, found ${count}`);
    result = result.replace(pattern, (_line, lead: string) => `${lead}${value}`);
  }
  return result;
}

/** FreeRADIUS's client certificate and key towards rbl-unlist, and the CA of rbl-unlist's server certificate. */
export interface RadsecFiles {
  readonly certificateFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** Fills in the shipped RadSec home server: address, port and secret as for UDP, and the tls { } files. */
export function templateRadsecSnippet(text: string, home: { host: string; port: number; secret: string; tls: RadsecFiles }): string {
  let result = templateProxySnippet(text, home);
  for (const [key, value] of [['private_key_file', home.tls.keyFile], ['certificate_file', home.tls.certificateFile], ['ca_file', home.tls.caFile]] as const) {
    const pattern = new RegExp(`^(\\s*${key}\\s*=\\s*).*$`, 'gm');
    const count = result.match(pattern)?.length ?? 0;
    if (count !== 1) throw new Error(`proxy-rbl-unlist-radsec.conf: expected one "${key} =" line, found ${count}`);
    result = result.replace(pattern, (_line, lead: string) => `${lead}${value}`);
  }
  return result;
}

/** What differs between the FreeRADIUS instances the tests and the bench run. */
export interface RadiusdOptions {
  readonly radacctdir: string;
  /** Proxy to home servers (proxy.conf included) and answer Status-Server: the detail relay. */
  readonly relay: boolean;
  /** thread pool start_servers and max_servers. */
  readonly threads: { readonly start: number; readonly max: number };
}

/**
 * A minimal radiusd.conf for a raddb in `dir`: only what the snippets and the bench need. No
 * security { user, group }: the tests may run as root, and FreeRADIUS then keeps running as the
 * invoking user.
 */
export function radiusdConf(dir: string, options: RadiusdOptions): string {
  return `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = ${dir}
sbindir = /usr/sbin
logdir = ${dir}/log
raddbdir = ${dir}
radacctdir = ${options.radacctdir}
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = ${dir}/run
db_dir = \${raddbdir}
libdir = /usr/lib/freeradius
pidfile = \${run_dir}/\${name}.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 16384
hostname_lookups = no
log {
	destination = stdout
	colourise = no
	file = \${logdir}/radius.log
	auth = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 1
	status_server = ${options.relay ? 'yes' : 'no'}
}
proxy_requests = ${options.relay ? 'yes\n$INCLUDE proxy.conf' : 'no'}
$INCLUDE clients.conf
thread pool {
	start_servers = ${options.threads.start}
	max_servers = ${options.threads.max}
	min_spare_servers = 1
	max_spare_servers = ${options.threads.max}
	max_requests_per_server = 0
	auto_limit_acct = no
}
modules {
	$INCLUDE mods-enabled/
}
instantiate {
}
policy {
}
$INCLUDE sites-enabled/
`;
}

function defaultSite(options: FreeRadiusOptions): string {
  const auth = options.authPort === undefined
    ? ''
    : `	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${options.authPort}
	}
`;
  // The NAS-facing virtual server, reduced to the listeners and the shipped accounting section.
  return `server default {
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = ${options.acctPort}
	}
${auth}	authorize {
	}
	authenticate {
	}
	preacct {
	}
	$INCLUDE ${join(DETAIL_RELAY_SNIPPETS, 'accounting-section.conf')}
}
`;
}

/**
 * Writes a raddb tree into `dir`: radiusd.conf, clients.conf for the NAS, and the shipped layout (a)
 * snippets; with `pool` "two-instances", layout (c)'s pool file instead of proxy-rbl-unlist.conf (as shipped,
 * untemplated: good for `freeradius -C`, not for relaying).
 */
export function writeFreeRadiusConfig(dir: string, options: FreeRadiusOptions & { pool?: 'one-instance' | 'two-instances' }): { detailDir: string } {
  const detailDir = options.detailDir ?? join(dir, 'radacct');
  for (const sub of ['log', 'run', 'mods-enabled', 'sites-enabled']) mkdirSync(join(dir, sub), { recursive: true });
  mkdirSync(detailDir, { recursive: true });

  const home = { host: options.homeServer.host ?? '127.0.0.1', port: options.homeServer.port, secret: options.homeServer.secret };
  const proxySnippet = options.pool === 'two-instances'
    ? readFileSync(TWO_INSTANCES_POOL, 'utf8')
    : options.homeServer.tls
    ? templateRadsecSnippet(readFileSync(RADSEC_HOME_SERVER, 'utf8'), { ...home, tls: options.homeServer.tls })
    : templateProxySnippet(readFileSync(join(DETAIL_RELAY_SNIPPETS, 'proxy-rbl-unlist.conf'), 'utf8'), {
      host: options.homeServer.host ?? '127.0.0.1',
      port: options.homeServer.port,
      secret: options.homeServer.secret,
      ...options.homeServerTimers,
    });
  writeFileSync(join(dir, 'radiusd.conf'), radiusdConf(dir, { radacctdir: detailDir, relay: true, threads: { start: 2, max: 8 } }));
  writeFileSync(join(dir, 'proxy.conf'), 'proxy server {\n\tdefault_fallback = no\n}\n$INCLUDE proxy-rbl-unlist.conf\n');
  writeFileSync(join(dir, 'proxy-rbl-unlist.conf'), proxySnippet, { mode: 0o600 });
  writeFileSync(join(dir, 'clients.conf'), `client nas {\n\tipaddr = 127.0.0.1\n\tsecret = ${quoted(options.secretForNas)}\n}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'mods-enabled', 'rbl_unlist_detail'), readFileSync(join(DETAIL_RELAY_SNIPPETS, 'mods-available', 'rbl_unlist_detail')));
  writeFileSync(join(dir, 'sites-enabled', 'rbl-unlist-detail'), readFileSync(join(DETAIL_RELAY_SNIPPETS, 'sites-available', 'rbl-unlist-detail')));
  writeFileSync(join(dir, 'sites-enabled', 'default'), defaultSite(options));
  return { detailDir };
}

/** Starts FreeRADIUS in the foreground with the layout (a) snippets; resolves once it is ready. */
export async function startFreeRadius(options: FreeRadiusOptions): Promise<FreeRadius> {
  const binary = executable('freeradius');
  const temp = tempDir('freeradius');
  const dir = temp.dir;
  const { detailDir } = writeFreeRadiusConfig(dir, options);

  const args = ['-f', '-d', dir, '-l', 'stdout', ...(options.debug ? ['-X'] : [])];
  const peer = await startForegroundPeer('FreeRADIUS to print "Ready to process requests"', binary, args, temp, (output) => output.includes('Ready to process requests'), 20_000);
  return { acctPort: options.acctPort, dir, detailDir, log: peer.output, stop: peer.stop };
}

/** Runs `freeradius -XC` (check the config and exit) on a tree from {@link writeFreeRadiusConfig}. */
export function checkFreeRadiusConfig(dir: string): { status: number | null; output: string } {
  const run = spawnSync(executable('freeradius'), ['-XC', '-d', dir], { encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
