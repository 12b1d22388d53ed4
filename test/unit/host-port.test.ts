import { describe, expect, it } from 'vitest';
import { endpointText, hostPort } from '../../src/net/host-port.js';

describe('host:port text', () => {
  it('brackets an IPv6 address, so its colons are not read as the port’s', () => {
    expect(hostPort('2001:db8::1', 1813)).toBe('[2001:db8::1]:1813');
    expect(hostPort('::ffff:192.0.2.1', 2083)).toBe('[::ffff:192.0.2.1]:2083');
    expect(endpointText({ host: '::1', port: 53 })).toBe('[::1]:53');
  });

  it('writes an IPv4 address or a name as it is', () => {
    expect(hostPort('192.0.2.1', 1813)).toBe('192.0.2.1:1813');
    expect(hostPort('localhost', 9813)).toBe('localhost:9813');
    expect(endpointText({ host: '127.0.0.1', port: 5353 })).toBe('127.0.0.1:5353');
  });
});
