// A start gate for the lab supervisor: at most `limit` children are "starting" at once. A child holds
// its slot from its start until it is ready (its ready check passes: e.g. its socket exists), it exits,
// or `readyTimeoutMs` passes; then the next queued start runs, in the order they were queued. A
// 100-node lab starts ~200 Node.js processes, and started all at once they starve each other (and the
// control plane) of the 2 cores: each one's start-up is mostly CPU (loading modules), so a few at a
// time finish sooner in total. The clock (setTimeout) is injected for tests. Never throws; `close()`
// drops what is still queued.

export interface GateEntry {
  /** Starts the child; returns a promise that resolves when it exits, or undefined if it did not start. */
  start: () => Promise<void> | undefined;
  /** True once the child is ready (polled every `pollMs`). */
  ready: () => boolean;
}

export interface StartGateOptions {
  limit: number;
  readyTimeoutMs?: number;
  pollMs?: number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

const realTimer = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
};

export class StartGate {
  private readonly queue: GateEntry[] = [];
  private active = 0;
  private closed = false;
  private readonly limit: number;
  private readonly readyTimeoutMs: number;
  private readonly pollMs: number;
  private readonly setTimer: NonNullable<StartGateOptions['setTimer']>;

  constructor(o: StartGateOptions) {
    this.limit = Math.max(1, Math.floor(o.limit));
    this.readyTimeoutMs = o.readyTimeoutMs ?? 15_000;
    this.pollMs = o.pollMs ?? 100;
    this.setTimer = o.setTimer ?? realTimer;
  }

  /** Children started and not yet ready (holding a slot). */
  get starting(): number {
    return this.active;
  }

  /** Children waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  enqueue(e: GateEntry): void {
    if (this.closed) return;
    this.queue.push(e);
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private pump(): void {
    while (!this.closed && this.active < this.limit && this.queue.length > 0) {
      const e = this.queue.shift()!;
      this.active++;
      this.hold(e);
    }
  }

  private hold(e: GateEntry): void {
    let released = false;
    const timers: { timeout?: { cancel(): void }; poller?: { cancel(): void } } = {};
    const release = (): void => {
      if (released) return;
      released = true;
      timers.timeout?.cancel();
      timers.poller?.cancel();
      this.active--;
      this.pump();
    };
    const exited = e.start();
    if (!exited) return release();
    void exited.then(release);
    timers.timeout = this.setTimer(release, this.readyTimeoutMs);
    const poll = (): void => {
      if (released) return;
      if (e.ready()) return release();
      timers.poller = this.setTimer(poll, this.pollMs);
    };
    poll();
  }
}
