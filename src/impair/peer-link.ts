// The per-peer state of ImpairedUnderlay (impair.ts): the effective spec plus the loss chain, the
// token bucket, the held copies and the counters, and how a new spec is installed on it. Never throws.
import type { TimerHandle } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { zeroCounters, type ImpairCounters } from './counters.js';
import { HeldHeap } from './queue.js';
import { GilbertElliottChain } from './random.js';
import { needsScheduling, type ImpairmentSpec } from './spec.js';
import type { TokenBucketState } from './token-bucket.js';

/** Per-peer state: the effective spec plus the loss chain, token bucket, held copies and counters. */
export interface PeerLink extends TokenBucketState {
  readonly addr: number;
  /** Effective spec (peer or default, partitions folded in); undefined = pass straight through. */
  spec: ImpairmentSpec | undefined;
  scheduled: boolean;
  ge: GilbertElliottChain | null;
  lastDue: number;
  readonly heap: HeldHeap;
  timer: TimerHandle | undefined;
  timerAt: number;
  readonly counters: ImpairCounters;
}

export function newPeerLink(addr: number): PeerLink {
  return {
    addr,
    spec: undefined,
    scheduled: false,
    ge: null,
    bytesPerMs: 0,
    bucketTokens: 0,
    bucketTime: -Infinity,
    lastDue: -Infinity,
    heap: new HeldHeap(),
    timer: undefined,
    timerAt: 0,
    counters: zeroCounters(),
  };
}

/** Installs a new effective spec; the loss chain and token bucket restart, held copies stay. */
export function applyLinkSpec(link: PeerLink, spec: ImpairmentSpec | undefined, rng: Rng, now: number): void {
  if (link.spec === spec) return;
  link.spec = spec;
  link.scheduled = spec !== undefined && needsScheduling(spec);
  link.ge = spec?.lossModel ? new GilbertElliottChain(spec.lossModel, rng) : null;
  link.bytesPerMs = spec ? spec.rateBitsPerSec / 8000 : 0;
  if (spec && link.bytesPerMs > 0) {
    // Copies still waiting for the old rate keep their place; new ones queue behind them.
    link.bucketTokens = link.bucketTime > now ? 0 : spec.burstBytes;
    if (link.bucketTime < now) link.bucketTime = now;
  }
}
