// The kubelet's container restart back-off (flowcontrol.Backoff): an entry per container; a restart is
// allowed when the time since the last one is at least the current delay; each allowed restart doubles
// the delay (base, 2·base, 4·base … up to cap); an entry idle for 2·cap starts over at base. The first
// restart after a container's first exit happens at once (there is no entry yet), as in Kubernetes.
// Pure: the clock is passed in. Nothing throws.

export interface BackoffEntry {
  delayMs: number;
  lastStartMs: number;
}

export class RestartBackoff {
  private readonly entries = new Map<string, BackoffEntry>();

  constructor(
    readonly baseMs = 10_000,
    readonly capMs = 300_000,
  ) {}

  /** Milliseconds still to wait before `key` may restart (0: now). */
  remaining(key: string, nowMs: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lastStartMs + e.delayMs - nowMs);
  }

  /** The delay in force for `key` (for the CrashLoopBackOff message). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Records a restart of `key` now. */
  next(key: string, nowMs: number): void {
    const e = this.entries.get(key);
    if (!e || nowMs - e.lastStartMs > 2 * this.capMs) {
      this.entries.set(key, { delayMs: this.baseMs, lastStartMs: nowMs });
      return;
    }
    e.delayMs = Math.min(e.delayMs * 2, this.capMs);
    e.lastStartMs = nowMs;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
