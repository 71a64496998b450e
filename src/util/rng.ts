// Seeded pseudo-random numbers: mulberry32 (a 32-bit Weyl-sequence state, each output mixed by two
// multiply-xorshift rounds). Small and fast; good enough for network emulation, not for cryptography.
// Every use of randomness in flannelette goes through an Rng so that a run can be repeated exactly
// from a seed. Nothing here throws.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
}

export function seededRng(seed: number): Rng {
  // mulberry32: the seed is the initial state (seed 0 is replaced by the golden-ratio constant).
  let state = seed >>> 0 || 0x9e3779b9;
  const nextU32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return { nextU32, next: () => nextU32() / 4294967296 };
}

/** An Rng seeded from the OS, for production use where repeatability is not asked for. */
export function randomRng(): Rng {
  const seed = (Math.random() * 4294967296) >>> 0;
  return seededRng(seed);
}
