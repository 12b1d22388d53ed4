/**
 * The signals main.ts listens for before serve has loaded (src/cli/early-signals.ts): each one that
 * came first reaches serve's listener once serve listens for it, after the subscribing call, and
 * once however often it came; later ones go straight to serve.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { earlySignals } from '../../src/cli/early-signals.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('signals that arrive while serve loads', () => {
  it('passes a SIGTERM that came first to the listener, after on() returned, and once for several', async () => {
    const target = new EventEmitter();
    const source = earlySignals(target);
    target.emit('SIGTERM', 'SIGTERM');
    target.emit('SIGTERM', 'SIGTERM');
    const heard: string[] = [];
    source.on('SIGTERM', () => heard.push('SIGTERM'));
    expect(heard).toEqual([]);
    await nextTurn();
    expect(heard).toEqual(['SIGTERM']);
    // The remembering listener is gone: serve's alone hears the next one, once.
    expect(target.listenerCount('SIGTERM')).toBe(1);
    target.emit('SIGTERM', 'SIGTERM');
    expect(heard).toEqual(['SIGTERM', 'SIGTERM']);
  });

  it('passes on nothing when nothing came, and each signal only to its own listener', async () => {
    const target = new EventEmitter();
    const source = earlySignals(target);
    target.emit('SIGHUP', 'SIGHUP');
    const heard: string[] = [];
    source.on('SIGTERM', () => heard.push('SIGTERM'));
    source.on('SIGINT', () => heard.push('SIGINT'));
    await nextTurn();
    expect(heard).toEqual([]);
    source.on('SIGHUP', () => heard.push('SIGHUP'));
    await nextTurn();
    expect(heard).toEqual(['SIGHUP']);
  });

  it('listens for SIGTERM, SIGINT and SIGHUP from the start, and off() removes a listener', () => {
    const target = new EventEmitter();
    const source = earlySignals(target);
    expect(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1'].map((signal) => target.listenerCount(signal))).toEqual([1, 1, 1, 0]);
    const listener = () => undefined;
    source.on('SIGINT', listener);
    source.off('SIGINT', listener);
    expect(target.listenerCount('SIGINT')).toBe(0);
  });
});
