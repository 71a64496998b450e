// Time, injected. `realClock` uses the process clock; `VirtualClock` only moves when a test
// advances it, firing due timers in order, so simulations are deterministic and fast.
// Times are milliseconds (floating point) since an arbitrary origin. sleep() and Sleeps wait on a
// given clock, so code that waits can run on virtual time in tests. Nothing here throws.

export type TimerHandle = { readonly id: number };

export interface Clock {
  now(): number;
  /** Wall-clock time in nanoseconds since the Unix epoch (for capture timestamps). */
  wallNs(): bigint;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

// Wall time as the process's start (microsecond precision) plus the monotonic clock since then: it
// never goes back within a process, and processes on one host agree to a few microseconds, so
// captures of several nodes merge in the order things happened.
const ORIGIN_NS = BigInt(Math.round(performance.timeOrigin * 1e6));

export const realClock: Clock = {
  now: () => performance.now(),
  wallNs: () => ORIGIN_NS + BigInt(Math.round(performance.now() * 1e6)),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { id: 0, t } as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout((handle as unknown as { t: NodeJS.Timeout }).t);
  },
};

interface VirtualTimer {
  id: number;
  at: number;
  fn: () => void;
}

export class VirtualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private timers: VirtualTimer[] = [];

  constructor(private readonly epochNs: bigint = 1_700_000_000_000_000_000n) {}

  now(): number {
    return this.time;
  }

  wallNs(): bigint {
    return this.epochNs + BigInt(Math.round(this.time * 1_000_000));
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: VirtualTimer | undefined;
      for (const t of this.timers)
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}

/** Resolves after `ms` on `clock` (the real clock unless one is given). */
export function sleep(ms: number, clock: Clock = realClock): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Sleeps on a clock that can all be cut short at once (on stop), so nothing waits on a timer
 *  that no longer matters. */
export class Sleeps {
  private readonly pending = new Set<{ handle: TimerHandle; resolve: () => void }>();

  constructor(private readonly clock: Clock) {}

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        handle: this.clock.setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.pending.add(entry);
    });
  }

  /** Resolves every pending sleep now and cancels its timer. */
  wakeAll(): void {
    for (const s of this.pending) {
      this.clock.clearTimeout(s.handle);
      s.resolve();
    }
    this.pending.clear();
  }
}
