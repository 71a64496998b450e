// Packet buffers: the sizes every device and underlay shares, and the batch that hands a burst of
// packets from a device's slab to the data path. Packets read from a TUN device or an underlay sit
// in slab slots with at least PACKET_HEADROOM free bytes in front, so outer headers are written in
// place. Pure; nothing throws.

/** Free bytes kept in front of every packet: enough for VXLAN (8) + inner Ethernet (14), and spare. */
export const PACKET_HEADROOM = 64;
/** Largest packet any device or underlay hands over (an IPv4 datagram cannot be larger). */
export const MAX_PACKET = 65535;
/** Slot size used by pooled packet buffers (headroom + a 9000-byte jumbo packet + tail room). */
export const SLOT_SIZE = 9216;

/** A burst of packets: packet i is bufs[i][offs[i] .. offs[i] + lens[i]). */
export interface PacketBatch {
  count: number;
  bufs: Buffer[];
  offs: Int32Array;
  lens: Int32Array;
}

/**
 * Points the first `count` packets of a batch at their slots of a slab (slot i starts at
 * i * slotSize, its packet after `headroom` free bytes). Devices call it before each burst, since
 * the previous handler may have moved offsets (encapsulating or decapsulating in place).
 */
export function pointAtSlots(batch: PacketBatch, slab: Buffer, count: number, slotSize: number, headroom: number): void {
  for (let i = 0; i < count; i++) {
    batch.bufs[i] = slab;
    batch.offs[i] = i * slotSize + headroom;
  }
  batch.count = count;
}

export function newPacketBatch(capacity: number): PacketBatch {
  return { count: 0, bufs: new Array<Buffer>(capacity), offs: new Int32Array(capacity), lens: new Int32Array(capacity) };
}
