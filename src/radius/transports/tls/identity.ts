/**
 * Whether a RadSec client's certificate is the one its config entry names (RFC 6614 §2.3): the
 * `certificate_name` is compared with the certificate's DNS subjectAltNames, or with its subject CN
 * when it has none (as RFC 6125 §6.4.4 allows). Exact, case-insensitive; no wildcards. Pure code.
 */

/** One "KIND:value" entry of node:tls's subjectaltname text; a value may be a quoted JSON string. */
const SAN_ENTRY = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;

/** The parts of a peer certificate (node:tls PeerCertificate) read here. */
export interface CertificateNames {
  readonly subject?: { readonly CN?: string | readonly string[] } | null;
  /** As node:tls formats it: "DNS:a.example, IP Address:192.0.2.1". */
  readonly subjectaltname?: string;
}

/** The names a certificate answers to: its DNS subjectAltNames, else its subject CNs; lower case, no final dot. */
export function certificateNames(certificate: CertificateNames): string[] {
  const dns: string[] = [];
  for (const [, kind, value = ''] of (certificate.subjectaltname ?? '').matchAll(SAN_ENTRY)) {
    // node:tls writes a name holding a comma or quote as a JSON string.
    if (kind === 'DNS') dns.push(canonicalName(value.startsWith('"') ? (JSON.parse(value) as string) : value));
  }
  if (dns.length > 0) return dns;
  const cn = certificate.subject?.CN;
  const cns = cn === undefined ? [] : typeof cn === 'string' ? [cn] : [...cn];
  return cns.map(canonicalName);
}

/** Whether the certificate carries `name` (see {@link certificateNames}). */
export function certificateCarriesName(certificate: CertificateNames, name: string): boolean {
  return certificateNames(certificate).includes(canonicalName(name));
}

function canonicalName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
