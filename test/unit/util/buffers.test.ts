import { describe, expect, it } from 'vitest';
import { newPacketBatch, PACKET_HEADROOM, pointAtSlots, SLOT_SIZE } from '../../../src/util/buffers.js';

describe('packet batches', () => {
  it('start empty with room for `capacity` packets', () => {
    const b = newPacketBatch(4);
    expect([b.count, b.bufs.length, b.offs.length, b.lens.length]).toEqual([0, 4, 4, 4]);
  });

  it('pointAtSlots puts packet i after the headroom of slot i, whatever a handler moved', () => {
    const slab = Buffer.alloc(3 * SLOT_SIZE);
    const b = newPacketBatch(4);
    b.offs[0] = 5; // as if a handler had encapsulated in place
    pointAtSlots(b, slab, 3, SLOT_SIZE, PACKET_HEADROOM);
    expect(b.count).toBe(3);
    expect(Array.from(b.offs.subarray(0, 3))).toEqual([0, 1, 2].map((i) => i * SLOT_SIZE + PACKET_HEADROOM));
    expect(b.bufs.slice(0, 3).every((x) => x === slab)).toBe(true);
    expect(b.bufs[3]).toBeUndefined();
  });
});
