/**
 * Throwaway certificates for RadSec tests, made by the real `openssl` in a temporary folder: a CA,
 * a server certificate for 127.0.0.1 and localhost, client certificates with chosen names, and a
 * second CA that the server does not trust. EC P-256 keys, so making them takes milliseconds.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executable } from './peers.js';

/** A certificate and key on disk, with their PEM text. */
export interface CertificateFiles {
  readonly certificateFile: string;
  readonly keyFile: string;
  readonly certificate: Buffer;
  readonly key: Buffer;
}

export interface Authority extends CertificateFiles {
  readonly name: string;
  /** Issues a certificate signed by this CA; `dnsNames` become subjectAltNames (none: the CN alone names it). */
  issue(fileName: string, options: { commonName: string; dnsNames?: readonly string[]; ipAddresses?: readonly string[]; server?: boolean }): CertificateFiles;
}

function openssl(args: readonly string[], cwd: string): void {
  const run = spawnSync(executable('openssl'), args, { cwd, encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`);
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function files(dir: string, fileName: string): CertificateFiles {
  const certificateFile = join(dir, `${fileName}.crt`);
  const keyFile = join(dir, `${fileName}.key`);
  return { certificateFile, keyFile, certificate: readFileSync(certificateFile), key: readFileSync(keyFile) };
}

/** Makes a self-signed CA in `dir` (files NAME.crt and NAME.key). */
export function makeAuthority(dir: string, name: string): Authority {
  openssl(['req', '-x509', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  let serial = 1;
  return {
    name,
    ...files(dir, name),
    issue(fileName, options) {
      const sans = [...(options.dnsNames ?? []).map((n) => `DNS:${n}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
      const extensions = join(dir, `${fileName}.ext`);
      writeFileSync(extensions, [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${options.server ? 'serverAuth' : 'clientAuth'}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
        '',
      ].join('\n'));
      openssl(['req', '-new', ...KEY, '-keyout', `${fileName}.key`, '-out', `${fileName}.csr`, '-subj', `/CN=${options.commonName}`], dir);
      openssl(['x509', '-req', '-in', `${fileName}.csr`, '-CA', `${name}.crt`, '-CAkey', `${name}.key`, '-set_serial', String(serial++),
        '-days', '2', '-extfile', extensions, '-out', `${fileName}.crt`], dir);
      return files(dir, fileName);
    },
  };
}

/** The set RadSec tests use: a trusted CA with a server and clients, and a CA nobody trusts. */
export interface RadsecCertificates {
  readonly ca: Authority;
  readonly server: CertificateFiles;
  /** CN proxy1, subjectAltName DNS:proxy1.test. */
  readonly client: CertificateFiles;
  /** The trusted CA, but subjectAltName DNS:intruder.test. */
  readonly wrongName: CertificateFiles;
  /** CN proxy1.test and subjectAltName DNS:proxy1.test, from a CA the server does not trust. */
  readonly otherCa: CertificateFiles;
}

/** Makes every certificate of {@link RadsecCertificates} in `dir`. */
export function makeRadsecCertificates(dir: string): RadsecCertificates {
  const ca = makeAuthority(dir, 'test-ca');
  const other = makeAuthority(dir, 'other-ca');
  return {
    ca,
    server: ca.issue('server', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], server: true }),
    client: ca.issue('client', { commonName: 'proxy1', dnsNames: ['proxy1.test'] }),
    wrongName: ca.issue('wrong-name', { commonName: 'proxy1.test', dnsNames: ['intruder.test'] }),
    otherCa: other.issue('other-ca-client', { commonName: 'proxy1.test', dnsNames: ['proxy1.test'] }),
  };
}
