/**
 * Runs the real FreeRADIUS radclient (freeradius-utils) against a listener, as a NAS would talk
 * to it. Check havePeers('radclient') first; executable() throws naming the missing package.
 */
import { spawn } from 'node:child_process';
import { executable } from './peers.js';

export interface RadclientOptions {
  /** Seconds radclient waits for each answer (-t); default 1. */
  readonly timeoutS?: number;
  /** Sends per request (-r); default 1, so a missing answer is not retried. */
  readonly retries?: number;
  /** Adds -x (print what is sent and received); default true. */
  readonly verbose?: boolean;
  /** Server address; default 127.0.0.1. */
  readonly host?: string;
}

export interface RadclientResult {
  /** radclient's exit status: 0 when every request was answered. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Sends the attribute lines (radclient's input, e.g. "Acct-Status-Type = Stop\nFramed-IP-Address = 10.64.0.5")
 * to host:port as `type` (acct, status, ...) with `secret`, and resolves when radclient exits.
 */
export function radclient(port: number, secret: string, attributesText: string, type = 'acct', options: RadclientOptions = {}): Promise<RadclientResult> {
  const host = options.host ?? '127.0.0.1';
  const server = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const args = [
    ...(options.verbose === false ? [] : ['-x']),
    '-t', String(options.timeoutS ?? 1),
    '-r', String(options.retries ?? 1),
    server, type, secret,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(executable('radclient'), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(attributesText.endsWith('\n') ? attributesText : `${attributesText}\n`);
  });
}
