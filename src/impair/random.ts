// The random decisions behind link impairments, all drawn from an injected seeded Rng so that a run
// repeats exactly: jitter samples for the netem distributions, and the Gilbert-Elliott loss chain.
// Nothing here throws or allocates per call.
import type { Rng } from '../util/rng.js';
import type { GilbertElliott, JitterDistribution } from './spec.js';

/** netem's distribution tables span ±4 sigma; samples are clipped there. */
const CLIP = 4;
/** netem's pareto table uses shape 3; mean and standard deviation of Pareto(xm = 1, alpha = 3). */
const PARETO_ALPHA = 3;
const PARETO_MEAN = PARETO_ALPHA / (PARETO_ALPHA - 1);
const PARETO_SD = Math.sqrt(PARETO_ALPHA / ((PARETO_ALPHA - 1) ** 2 * (PARETO_ALPHA - 2)));
/** paretonormal mixes 25% normal with 75% pareto (as iproute2's table); rescaled to sigma 1. */
const MIX_SD = Math.sqrt(0.25 ** 2 + 0.75 ** 2);

function standardNormal(rng: Rng): number {
  const u1 = 1 - rng.next(); // (0, 1]
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function standardPareto(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]
  return (u ** (-1 / PARETO_ALPHA) - PARETO_MEAN) / PARETO_SD;
}

function clip(x: number): number {
  return x > CLIP ? CLIP : x < -CLIP ? -CLIP : x;
}

/**
 * A delay sample in ms: delay plus jitter drawn from `dist`, never below 0. uniform: delay ± jitter;
 * normal, pareto, paretonormal: jitter is one standard deviation, samples clipped at ±4 jitter.
 */
export function sampleDelay(rng: Rng, delayMs: number, jitterMs: number, dist: JitterDistribution): number {
  if (jitterMs === 0) return delayMs;
  let z: number;
  switch (dist) {
    case 'uniform':
      z = 2 * rng.next() - 1;
      break;
    case 'normal':
      z = clip(standardNormal(rng));
      break;
    case 'pareto':
      z = clip(standardPareto(rng));
      break;
    case 'paretonormal':
      z = clip((0.25 * standardNormal(rng) + 0.75 * standardPareto(rng)) / MIX_SD);
      break;
  }
  const d = delayMs + z * jitterMs;
  return d > 0 ? d : 0;
}

/** The Gilbert-Elliott chain for one peer. `lost()` decides one packet and steps the chain. */
export class GilbertElliottChain {
  bad = false;

  constructor(private readonly model: GilbertElliott, private readonly rng: Rng) {}

  /**
   * As the kernel's netem (loss_gilb_ell): the packet's fate depends on the state it arrives in,
   * then the chain moves (good → bad with p, bad → good with r).
   */
  lost(): boolean {
    const m = this.model;
    const rng = this.rng;
    if (this.bad) {
      if (m.r > 0 && rng.next() < m.r) this.bad = false;
      return m.h === 0 || (m.h < 1 && rng.next() >= m.h);
    }
    if (m.p > 0 && rng.next() < m.p) this.bad = true;
    return m.k === 0 || (m.k < 1 && rng.next() >= m.k);
  }

  /** Long-run loss probability: pi_good (1 - k) + pi_bad (1 - h). */
  static lossRate(m: GilbertElliott): number {
    if (m.p + m.r === 0) return 1 - m.k; // never leaves the good state it starts in
    const piBad = m.p / (m.p + m.r);
    return (1 - piBad) * (1 - m.k) + piBad * (1 - m.h);
  }
}
