import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../src/http/rate-window.js';

describe('the one-minute rate window', () => {
  it('divides by the process age while it is younger than the window', () => {
    let now = 1_000_000;
    const rates = new RateWindow(60, () => now);
    now += 10_000;
    for (let i = 0; i < 50; i++) rates.record('packets');
    expect(rates.perSecond('packets')).toBe(5);
    expect(rates.perSecond('events')).toBe(0);
  });

  it('forgets counts older than the window, also when a bucket slot is reused after a quiet spell', () => {
    let now = 5_000_000;
    const rates = new RateWindow(60, () => now);
    now += 120_000;
    rates.record('unlists', 600);
    expect(rates.perSecond('unlists')).toBe(10);
    now += 60_000;
    expect(rates.perSecond('unlists')).toBe(0);
    // Exactly one window later the same slot is written again: only the new count is there.
    rates.record('unlists', 60);
    expect(rates.perSecond('unlists')).toBe(1);
  });

  it('adds up the seconds of the last minute', () => {
    let now = 0;
    const rates = new RateWindow(60, () => now);
    for (let second = 0; second < 90; second++) {
      now = 100_000 + second * 1000;
      rates.record('events', 2);
    }
    // The last 60 seconds each hold 2; the earlier 30 have left the window.
    expect(rates.perSecond('events')).toBe(2);
  });

  it('refuses a window that is not a whole number of seconds', () => {
    expect(() => new RateWindow(0)).toThrow(RangeError);
    expect(() => new RateWindow(1.5)).toThrow(RangeError);
  });
});
