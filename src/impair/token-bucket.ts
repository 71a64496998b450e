// The token bucket behind the impairment stage's `rate`: when a copy leaves, given the bucket's
// state, which it updates. Pure arithmetic on the state it is given; nothing throws or allocates.

/** A peer link's bucket: fill rate, tokens (bytes) and the time they were counted at (ms). */
export interface TokenBucketState {
  bytesPerMs: number;
  bucketTokens: number;
  bucketTime: number;
}

/**
 * When a copy of `len` bytes arriving at `now` leaves the token bucket (FIFO behind earlier copies).
 * The bucket holds up to `burst` bytes; a copy larger than the bucket leaves once the bucket is full.
 */
export function tokenBucketDeparture(b: TokenBucketState, burst: number, now: number, len: number): number {
  const rate = b.bytesPerMs;
  const start = now > b.bucketTime ? now : b.bucketTime;
  let tokens = b.bucketTokens + (start - b.bucketTime) * rate;
  if (tokens > burst) tokens = burst;
  const need = len < burst ? len : burst;
  let depart = start;
  if (tokens < need) {
    depart = start + (need - tokens) / rate;
    tokens = need;
  }
  b.bucketTokens = tokens - len;
  b.bucketTime = depart;
  return depart;
}
