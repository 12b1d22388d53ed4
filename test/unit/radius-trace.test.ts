import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePacket, type RadiusPacket } from '../../src/radius/packet.js';
import { octetsTrace, packetTrace } from '../../src/radius/trace.js';
import { projectDictionaries, radiusPackageDictionaries, readDictionaries } from '../../src/radius/dictionary.js';
import { tempDir } from '../helpers/peers.js';
import { buildAccountingRequest, vendorSpecific, type AttributeEntry } from '../helpers/radius-packets.js';

const temp = tempDir('trace-dictionary');
afterAll(() => temp.remove());

const vendorFile = join(temp.dir, 'dictionary.example');
writeFileSync(
  vendorFile,
  ['VENDOR Example 32473', 'BEGIN-VENDOR Example', 'ATTRIBUTE Example-Pool 1 string', 'ATTRIBUTE Example-Class 2 integer', 'VALUE Example-Class Gold 3', 'ATTRIBUTE Example-Key 3 octets encrypt=2', 'END-VENDOR Example', ''].join('\n'),
);
const dictionary = readDictionaries([radiusPackageDictionaries(), projectDictionaries(), vendorFile]);

function packet(attributes: readonly AttributeEntry[]): RadiusPacket {
  const parsed = parsePacket(buildAccountingRequest({ identifier: 9, secret: 's', attributes }));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.packet;
}

const integer = (value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};

describe('the packet trace', () => {
  it('names standard and vendor attributes from the dictionaries, integer values by their VALUE names, strings quoted', () => {
    const trace = packetTrace(
      packet([
        ['Acct-Status-Type', 'Interim-Update'],
        ['User-Name', 'bob'],
        ['Framed-IPv6-Prefix', '2001:db8:100:1::/64'],
        ['Framed-IPv6-Address', '2001:db8:100:2::1'],
        vendorSpecific(32473, [1, Buffer.from('pool-a')], [2, integer(3)]),
      ]),
      '127.0.0.1:1645',
      dictionary,
    );
    expect(trace.header).toBe('Received Accounting-Request Id 9 from 127.0.0.1:1645 length 81');
    expect(trace.attributes).toEqual([
      'Acct-Status-Type = Interim-Update',
      'User-Name = "bob"',
      'Framed-IPv6-Prefix = 2001:db8:100:1::/64',
      'Framed-IPv6-Address = 2001:db8:100:2::1',
      'Example-Pool = "pool-a"',
      'Example-Class = Gold',
    ]);
  });

  it('prints Event-Timestamp as a date, as FreeRADIUS does', () => {
    const trace = packetTrace(packet([['Event-Timestamp', Date.UTC(2026, 10, 29, 20, 7, 56) / 1000]]), '127.0.0.1:1', dictionary);
    expect(trace.attributes).toEqual(['Event-Timestamp = "Nov 29 2026 20:07:56 UTC"']);
  });

  it('escapes control characters in strings, so a NAS cannot forge extra log lines', () => {
    const trace = packetTrace(packet([['User-Name', 'eve\n\tAcct-Status-Type = Stop']]), '127.0.0.1:1', dictionary);
    expect(trace.attributes).toEqual(['User-Name = "eve\\n\\tAcct-Status-Type = Stop"']);
  });

  it('shows a Vendor-Specific that does not parse as raw octets with the reason, and the attributes around it', () => {
    const trace = packetTrace(packet([[26, Buffer.from([0, 0, 0x7e, 0xd9, 1, 40, 0x41])], ['Acct-Session-Id', 'x1']]), '127.0.0.1:1', dictionary);
    expect(trace.attributes[0]).toMatch(/^Vendor-Specific = 0x00007ed9012841 \(vendor 32473 attribute 1 has length 40, which does not fit/);
    expect(trace.attributes[1]).toBe('Acct-Session-Id = "x1"');
  });

  it('shows encrypted attributes and credentials in URLs as REDACTED, vendor ones included', () => {
    const trace = packetTrace(
      packet([
        [2, Buffer.from('hidden-password1')],
        [69, Buffer.from('tunnel-secret')],
        vendorSpecific(32473, [3, Buffer.from('0011223344556677', 'hex')]),
        ['User-Name', 'https://bob:hunter2@portal.example/?api_key=k-1&x=1'],
      ]),
      '127.0.0.1:1',
      dictionary,
    );
    expect(trace.attributes).toEqual([
      'User-Password = REDACTED',
      'Tunnel-Password = REDACTED',
      'Example-Key = REDACTED',
      'User-Name = "https://bob:REDACTED@portal.example/?api_key=REDACTED&x=1"',
    ]);
  });

  it.each([
    ['nothing', Buffer.alloc(0), 'Received 0 octets from 127.0.0.1:1'],
    ['3 octets', Buffer.from([4, 5, 0]), 'Received 3 octets from 127.0.0.1:1'],
    ['a header cut after its Length', Buffer.from([4, 5, 0x05, 0x00]), 'Received Accounting-Request Id 5 from 127.0.0.1:1 length 1280 (4 octets received)'],
    ['an Access-Request', Buffer.concat([Buffer.from([1, 6, 0, 20]), Buffer.alloc(16)]), 'Received Access-Request Id 6 from 127.0.0.1:1 length 20 (20 octets received)'],
    ['an unknown code', Buffer.concat([Buffer.from([99, 7, 0, 20]), Buffer.alloc(16)]), 'Received code 99 Id 7 from 127.0.0.1:1 length 20 (20 octets received)'],
  ])('traces octets that do not parse as far as their header goes: %s', (_name, octets, header) => {
    expect(octetsTrace(octets, '127.0.0.1:1', dictionary)).toEqual({ header, attributes: [] });
  });

  it('traces octets that parse as the packet they are', () => {
    const octets = buildAccountingRequest({ identifier: 9, secret: 's', attributes: [['User-Name', 'bob']] });
    expect(octetsTrace(octets, '127.0.0.1:1', dictionary)).toEqual({ header: 'Received Accounting-Request Id 9 from 127.0.0.1:1 length 25', attributes: ['User-Name = "bob"'] });
  });
});
