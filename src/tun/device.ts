// The TunDevice interface: a layer-3 device that hands the data path bursts of IP packets and takes
// IP packets back. Implementations: the Linux TUN device (tun/linux.ts) and an in-memory device
// (tun/memory.ts); both pass test/helpers/tun-compliance.ts.
//
// Buffer ownership: a PacketBatch passed to the read handler belongs to the device and is valid only
// until the handler returns; the handler may overwrite the headroom in front of each packet (at
// least PACKET_HEADROOM bytes) and the packet bytes themselves. write() does not keep a reference to
// the buffer after it returns (it copies or writes synchronously).

/** A burst of packets: packet i is bufs[i][offs[i] .. offs[i] + lens[i]). */
export interface PacketBatch {
  count: number;
  bufs: Buffer[];
  offs: Int32Array;
  lens: Int32Array;
}

export interface TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Starts delivering bursts of packets read from the device. Called once. */
  start(onBatch: (batch: PacketBatch) => void): void;
  /** Writes one IP packet towards the kernel. Returns false when it was dropped (device queue full). */
  write(buf: Buffer, off: number, len: number): boolean;
  /** Ends a batch of writes (implementations that batch flush here). */
  flush(): void;
  /** Stops reading and closes the device. Idempotent. */
  close(): Promise<void>;
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
