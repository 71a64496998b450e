// The anti-replay sliding window of RFC 6479 as WireGuard uses it (whitepaper §5.4.6; the ring
// layout of wireguard-go's replay/replay.go and the kernel's original counter.c): a ring of
// 64-bit blocks, the newest counter seen, and a window of RING_BITS − 64 counters behind it.
// Here the ring holds 2048 bits, the kernel's COUNTER_BITS_TOTAL of the whitepaper era, so the
// window is 1984 counters. Counters are bigint because they run to 2^64.
//
// validate() never throws and allocates nothing beyond the bigint arithmetic.

const BLOCK_BITS = 64;
const RING_BLOCKS = 32; // 32 × 64 = 2048 bits
export const REPLAY_RING_BITS = RING_BLOCKS * BLOCK_BITS;
/** How far behind the newest counter a counter may be and still be accepted once. */
export const REPLAY_WINDOW = (RING_BLOCKS - 1) * BLOCK_BITS;

export class ReplayFilter {
  private last = 0n;
  // each 64-bit block as two 32-bit words: [lo, hi] at 2i, 2i+1
  private readonly ring = new Uint32Array(RING_BLOCKS * 2);

  reset(): void {
    this.last = 0n;
    this.ring.fill(0);
  }

  /**
   * True when `counter` is below `limit`, not older than the window and not seen before (and
   * marks it seen); false otherwise.
   */
  validate(counter: bigint, limit: bigint): boolean {
    if (counter >= limit) return false;
    const blockIndex = counter >> 6n;
    if (counter > this.last) {
      const current = this.last >> 6n;
      let diff = blockIndex - current;
      if (diff > BigInt(RING_BLOCKS)) diff = BigInt(RING_BLOCKS);
      const cur = Number(current & BigInt(RING_BLOCKS - 1));
      for (let i = 1; i <= Number(diff); i++) {
        const b = (cur + i) & (RING_BLOCKS - 1);
        this.ring[2 * b] = 0;
        this.ring[2 * b + 1] = 0;
      }
      this.last = counter;
    } else if (this.last - counter > BigInt(REPLAY_WINDOW)) {
      return false;
    }
    const b = Number(blockIndex & BigInt(RING_BLOCKS - 1));
    const bit = Number(counter & 63n);
    const word = 2 * b + (bit >> 5);
    const mask = (1 << (bit & 31)) >>> 0;
    const old = this.ring[word];
    if ((old & mask) !== 0) return false;
    this.ring[word] = (old | mask) >>> 0;
    return true;
  }
}
