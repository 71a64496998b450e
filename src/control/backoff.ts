// Capped exponential backoff with a little jitter from the injected Rng: 1x, 2x, 4x ... up to max,
// each delay scaled by a random factor in [0.8, 1.2). reset() after a success. Pure; never throws.
import type { Rng } from '../util/rng.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 };

export class Backoff {
  private current: number;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly rng: Rng,
  ) {
    this.current = opts.initialMs;
  }

  /** The delay to wait before the next attempt. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.opts.maxMs, this.current * 2);
    return Math.min(this.opts.maxMs, Math.round(base * (0.8 + 0.4 * this.rng.next())));
  }

  reset(): void {
    this.current = this.opts.initialMs;
  }
}
