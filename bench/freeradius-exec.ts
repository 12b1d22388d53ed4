/**
 * The setup rbl-unlist replaces: FreeRADIUS 3 whose accounting section runs rlm_exec, which runs
 * nsupdate for each Stop (a shell and an nsupdate process per Stop, one UPDATE message per name).
 * A raddb of its own in a temporary folder; the NAS is the bench's load generator.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { executable, findExecutable, freePort } from '../test/helpers/peers.js';
import { benchTempDir } from './temp-dir.js';
import { radiusdConf } from '../test/helpers/freeradius.js';
import { runLoad, type LoadResult } from './load.js';
import { BENCH_SECRET } from './zone.js';

export interface ExecBaselineOptions {
  readonly bindPort: number;
  readonly keyFile: string;
  readonly zone: string;
  readonly packets: readonly Buffer[];
  /** Requests in flight (FreeRADIUS runs up to 32 threads here). */
  readonly window: number;
  readonly maxDurationMs: number;
}

/** Whether FreeRADIUS and nsupdate are installed. */
export function haveFreeRadius(): boolean {
  return findExecutable('freeradius') !== undefined && findExecutable('nsupdate') !== undefined;
}

function raddb(dir: string, options: ExecBaselineOptions, acctPort: number): void {
  for (const sub of ['log', 'run', 'mods-enabled', 'sites-enabled']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'radiusd.conf'), radiusdConf(dir, { radacctdir: join(dir, 'radacct'), relay: false, threads: { start: 8, max: 32 } }));
  writeFileSync(join(dir, 'clients.conf'), `client bench {\n\tipaddr = 127.0.0.1\n\tsecret = "${BENCH_SECRET}"\n}\n`, { mode: 0o600 });
  // What operators write: a shell line feeding nsupdate a delete for the reversed address.
  const script = join(dir, 'unlist.sh');
  writeFileSync(
    script,
    `#!/bin/sh
printf 'server 127.0.0.1 ${options.bindPort}\\nzone ${options.zone}.\\nupdate delete %s.${options.zone}. A\\nupdate delete %s.${options.zone}. TXT\\nsend\\n' "$1" "$1" | ${executable('nsupdate')} -k ${options.keyFile}
`,
    { mode: 0o755 },
  );
  writeFileSync(
    join(dir, 'mods-enabled', 'unlist_nsupdate'),
    `exec unlist_nsupdate {
	wait = yes
	program = "/bin/sh ${script} %{control:Tmp-String-0}"
	shell_escape = yes
	timeout = 10
}
`,
  );
  writeFileSync(
    join(dir, 'sites-enabled', 'default'),
    `server default {
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = ${acctPort}
	}
	preacct {
	}
	accounting {
		if (&Acct-Status-Type == Stop && &Framed-IP-Address =~ /^([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)$/) {
			update control {
				&Tmp-String-0 := "%{4}.%{3}.%{2}.%{1}"
			}
			unlist_nsupdate
		}
	}
}
`,
  );
}

/** Starts FreeRADIUS with rlm_exec + nsupdate, sends the Stops, and stops it again. */
export async function measureFreeRadiusExec(options: ExecBaselineOptions): Promise<LoadResult> {
  const { dir, remove } = benchTempDir('bench-freeradius');
  const acctPort = await freePort();
  raddb(dir, options, acctPort);
  const child = spawn(executable('freeradius'), ['-f', '-d', dir, '-l', 'stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  try {
    const deadline = Date.now() + 20_000;
    while (!output.includes('Ready to process requests')) {
      if (exited || Date.now() > deadline) throw new Error(`FreeRADIUS did not start:\n${output.slice(-3000)}`);
      await sleep(50);
    }
    const result = await runLoad({
      port: acctPort,
      packets: options.packets,
      secret: BENCH_SECRET,
      sockets: 1,
      window: options.window,
      maxDurationMs: options.maxDurationMs,
      retransmitMs: 10_000,
      maxRetransmits: 0,
    });
    if (result.acked === 0) throw new Error(`FreeRADIUS answered no Stop:\n${output.slice(-3000)}`);
    return result;
  } finally {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
    }
    remove();
  }
}
