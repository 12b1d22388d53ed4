import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the JSON log time', () => {
  it('is the ISO time of the millisecond each line was logged in, whether lines share a millisecond or not', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const lines: string[] = [];
    const logger = createLogger('info', { write: (chunk: string) => void lines.push(chunk) });
    const start = Date.parse('2026-11-29T21:00:00.000Z');
    vi.setSystemTime(start);
    logger.info('first');
    logger.info('same millisecond');
    vi.setSystemTime(start + 1);
    logger.info('next millisecond');
    vi.setSystemTime(start + 3_600_000);
    logger.info('an hour later');
    const times = lines.map((line) => (JSON.parse(line) as { time: string }).time);
    expect(times).toEqual(['2026-11-29T21:00:00.000Z', '2026-11-29T21:00:00.000Z', '2026-11-29T21:00:00.001Z', '2026-11-29T22:00:00.000Z']);
  });
});
