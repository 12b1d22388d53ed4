/**
 * An address and port as logs, errors, `check-config` and URLs write them: "host:port", with an
 * IPv6 address in brackets (RFC 3986 §3.2.2), so the port cannot be read as part of it. Pure code.
 */

/** "192.0.2.1:1813", "[2001:db8::1]:1813". */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An endpoint (a config listen or server address) as "host:port". */
export function endpointText(endpoint: { readonly host: string; readonly port: number }): string {
  return hostPort(endpoint.host, endpoint.port);
}
