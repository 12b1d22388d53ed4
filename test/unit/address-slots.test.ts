import { describe, expect, it } from 'vitest';
import { AddressSlots } from '../../src/http/address-slots.js';

describe('the address history slots', () => {
  it('find each address in the slot it was given, IPv4 ones kept as numbers and given back as the same text', () => {
    const slots = new AddressSlots(8);
    const addresses = ['10.64.0.1', '0.0.0.0', '255.255.255.255', '2001:db8::1', '2001:db8:100::/48', '10.64.0.0/24'];
    const taken = addresses.map((address) => slots.take(address));
    expect(new Set(taken).size).toBe(addresses.length);
    addresses.forEach((address, i) => {
      expect(slots.find(address)).toBe(taken[i]);
      expect(slots.addressOf(taken[i]!)).toBe(address);
    });
    expect(slots.find('10.64.0.2')).toBe(-1);
    expect(slots.find('2001:db8::2')).toBe(-1);
    // An address text that is not canonical dotted-quad is not confused with the number it names.
    expect(slots.find('10.64.0.01')).toBe(-1);
  });

  it('free a released slot for another address, with nothing of the first left in it', () => {
    const slots = new AddressSlots(2);
    const first = slots.take('10.64.0.1');
    slots.eventType[first] = 'stop';
    slots.sessionId[first] = 's1';
    slots.jobId[first] = 7;
    slots.deliveries[first] = { backend: 'bind', zone: 'a.test', outcome: 'unlisted', at: 1, endedAt: 1 };
    slots.take('2001:db8::1');
    slots.release(first);
    expect(slots.find('10.64.0.1')).toBe(-1);
    const second = slots.take('2001:db8::2');
    expect(second).toBe(first);
    expect(slots.find('2001:db8::2')).toBe(second);
    expect(slots.find('2001:db8::1')).not.toBe(-1);
    expect(slots.sessionNote(second)).toBeUndefined();
    expect(Number.isNaN(slots.jobId[second]!)).toBe(true);
    expect(slots.deliveries[second]).toBeUndefined();
    expect(slots.sessionId[second]).toBeUndefined();
  });

  it('hold as many addresses as they have slots, each found again, through many releases', () => {
    const size = 500;
    const slots = new AddressSlots(size);
    const held = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const address = i % 3 === 0 ? `2001:db8::${i.toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      if (held.size === size) {
        const [oldest, slot] = held.entries().next().value as [string, number];
        slots.release(slot);
        held.delete(oldest);
        expect(slots.find(oldest)).toBe(-1);
      }
      held.set(address, slots.take(address));
    }
    for (const [address, slot] of held) expect(slots.find(address)).toBe(slot);
  });
});
