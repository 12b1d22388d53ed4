/**
 * DNS rebinding: a web page can have the browser of someone on this host send requests to a
 * loopback listener under the page's own name (one its owner makes resolve to 127.0.0.1), and read
 * the answers, and /status and /addresses name subscribers. So a listener on a loopback address
 * answers only requests whose Host names a loopback address or localhost. A listener on another
 * address is reached by name (Prometheus, a load balancer) and takes any Host for its health and
 * metrics; but it may be the loopback listener in disguise (0.0.0.0 answers on 127.0.0.1 too, and
 * a container's port is published on the host's loopback), so the views that name subscribers
 * answer there only a Host that is an address or localhost: no name a web page can rebind. Pure code.
 */
import { parseIPv6Bytes, unmappedAddressBytes } from '../net/address.js';

/** Whether the address text is a loopback address: 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6. */
export function isLoopbackAddress(text: string): boolean {
  const bytes = unmappedAddressBytes(text);
  if (bytes === undefined) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes[15] === 1 && bytes.subarray(0, 15).every((octet) => octet === 0);
}

/**
 * The name or address of a Host header, without its port or brackets, in lower case; undefined
 * when the header is not `host` or `host:port` (RFC 9110 §7.2, RFC 3986 §3.2.2): what follows a
 * bracketed address or a port ("[::1]evil", "127.0.0.1:80:80") must not be dropped as if it were one.
 */
export function hostOfHeader(header: string): string | undefined {
  let host: string;
  let port: string;
  if (header.startsWith('[')) {
    // An IP-literal holds an IPv6 address; only ":" and the port's digits may follow it.
    const close = header.indexOf(']');
    if (close === -1) return undefined;
    host = header.slice(1, close);
    port = header.slice(close + 1);
    if (parseIPv6Bytes(host) === undefined) return undefined;
  } else {
    // Unbracketed, the first colon starts the port: an IPv6 address without brackets ("::1:9813",
    // address or port?) leaves no host, or a port that is not digits, and is refused.
    const colon = header.indexOf(':');
    host = colon === -1 ? header : header.slice(0, colon);
    port = colon === -1 ? '' : header.slice(colon);
    if (host === '') return undefined;
  }
  // The port may be empty ("host:"), as RFC 3986 §3.2.3 allows, but nothing else than digits.
  if (port !== '' && !/^:\d*$/.test(port)) return undefined;
  return host.toLowerCase();
}

/** Whether a request with this Host header may be answered by a listener on `listenHost`. */
export function hostAllowed(listenHost: string, header: string | undefined): boolean {
  // Without a Host (HTTP/1.0) there is no name to rebind.
  if (!isLoopbackAddress(listenHost) || header === undefined) return true;
  const host = hostOfHeader(header);
  return host !== undefined && (isLocalhostName(host) || isLoopbackAddress(host));
}

/** `localhost` or a name under it, which resolvers keep on loopback (RFC 6761 §6.3): no page can rebind it. */
function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * Whether a request with this Host header may read the views that name subscribers (/status,
 * /addresses) from a listener on `listenHost`: on a loopback listener as hostAllowed, elsewhere
 * for an address or localhost only.
 */
export function subscriberViewsAllowed(listenHost: string, header: string | undefined): boolean {
  if (header === undefined) return true;
  if (isLoopbackAddress(listenHost)) return hostAllowed(listenHost, header);
  const host = hostOfHeader(header);
  return host !== undefined && (isLocalhostName(host) || unmappedAddressBytes(host) !== undefined);
}
