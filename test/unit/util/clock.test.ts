// src/util/clock.ts: sleep() and Sleeps wait on the clock they are given (virtual time here).
import { describe, expect, it } from 'vitest';
import { sleep, Sleeps, VirtualClock } from '../../../src/util/clock.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('sleep on a virtual clock', () => {
  it('resolves when the clock reaches the time, not before', async () => {
    const clock = new VirtualClock();
    let done = false;
    void sleep(100, clock).then(() => (done = true));
    clock.advance(99);
    await settle();
    expect(done).toBe(false);
    clock.advance(1);
    await settle();
    expect(done).toBe(true);
  });

  it('Sleeps.wakeAll() resolves every pending sleep at once and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const sleeps = new Sleeps(clock);
    let woken = 0;
    for (const ms of [10, 1000, 60_000]) void sleeps.sleep(ms).then(() => woken++);
    clock.advance(10);
    await settle();
    expect(woken).toBe(1);
    sleeps.wakeAll();
    await settle();
    expect(woken).toBe(3);
    expect(clock.pendingTimers()).toBe(0);
  });
});
