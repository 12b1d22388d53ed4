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
import { unmappedAddressBytes } from '../net/address.js';

/** Whether the address text is a loopback address: 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6. */
export function isLoopbackAddress(text: string): boolean {
  const bytes = unmappedAddressBytes(text);
  if (bytes === undefined) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes[15] === 1 && bytes.subarray(0, 15).every((octet) => octet === 0);
}

/** The name or address of a Host header, without its port or brackets, in lower case. */
export function hostOfHeader(header: string): string {
  const host = header.startsWith('[') ? header.slice(1, header.indexOf(']') === -1 ? undefined : header.indexOf(']')) : header.replace(/:\d*$/, '');
  return host.toLowerCase();
}

/** Whether a request with this Host header may be answered by a listener on `listenHost`. */
export function hostAllowed(listenHost: string, header: string | undefined): boolean {
  // Without a Host (HTTP/1.0) there is no name to rebind.
  if (!isLoopbackAddress(listenHost) || header === undefined) return true;
  const host = hostOfHeader(header);
  return isLocalhostName(host) || isLoopbackAddress(host);
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
  return isLocalhostName(host) || unmappedAddressBytes(host) !== undefined;
}
