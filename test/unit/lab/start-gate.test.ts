import { describe, expect, it } from 'vitest';
import { StartGate } from '../../../src/lab/start-gate.js';

/** A manual clock: timers fire only when the test advances it. */
function manualTimers() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        now = next.at;
        next.live = false;
        next.fn();
      }
      now = until;
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('StartGate', () => {
  it('starts at most `limit` children, each holding its slot until it is ready, in queue order', () => {
    const clock = manualTimers();
    const gate = new StartGate({ limit: 2, pollMs: 100, readyTimeoutMs: 10_000, setTimer: clock.setTimer });
    const started: string[] = [];
    const ready = new Set<string>();
    for (const name of ['a', 'b', 'c', 'd']) {
      gate.enqueue({
        start: () => (started.push(name), new Promise<void>(() => undefined)),
        ready: () => ready.has(name),
      });
    }
    expect(started).toEqual(['a', 'b']);
    expect(gate.waiting).toBe(2);
    ready.add('b');
    clock.advance(100);
    expect(started).toEqual(['a', 'b', 'c']);
    clock.advance(1000);
    expect(started).toEqual(['a', 'b', 'c']);
    ready.add('a').add('c');
    clock.advance(100);
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(gate.starting).toBe(1);
  });

  it('frees the slot of a child that never gets ready after readyTimeoutMs, and of one that exits', async () => {
    const clock = manualTimers();
    const gate = new StartGate({ limit: 1, pollMs: 100, readyTimeoutMs: 5000, setTimer: clock.setTimer });
    const started: string[] = [];
    let exit!: () => void;
    gate.enqueue({ start: () => (started.push('slow'), new Promise<void>(() => undefined)), ready: () => false });
    gate.enqueue({
      start: () => (started.push('crash'), new Promise<void>((r) => (exit = r))),
      ready: () => false,
    });
    gate.enqueue({ start: () => (started.push('last'), new Promise<void>(() => undefined)), ready: () => false });
    clock.advance(4900);
    expect(started).toEqual(['slow']);
    clock.advance(100);
    expect(started).toEqual(['slow', 'crash']);
    exit();
    await flush();
    expect(started).toEqual(['slow', 'crash', 'last']);
  });

  it('moves on at once when a start does not happen, and close() drops the queue', () => {
    const clock = manualTimers();
    const gate = new StartGate({ limit: 1, setTimer: clock.setTimer });
    const started: string[] = [];
    gate.enqueue({ start: () => (started.push('skipped'), undefined), ready: () => false });
    gate.enqueue({ start: () => (started.push('held'), new Promise<void>(() => undefined)), ready: () => false });
    gate.enqueue({ start: () => (started.push('dropped'), new Promise<void>(() => undefined)), ready: () => true });
    expect(started).toEqual(['skipped', 'held']);
    gate.close();
    clock.advance(60_000);
    expect(started).toEqual(['skipped', 'held']);
    expect(gate.waiting).toBe(0);
  });
});
