// The TunDevice interface: a layer-3 device that hands the data path bursts of IP packets and takes
// IP packets back. Implementations: the Linux TUN device (tun/linux.ts) and an in-memory device
// (tun/memory.ts); both pass test/helpers/tun-compliance.ts.
//
// Buffer ownership: a PacketBatch (util/buffers.ts) passed to the read handler belongs to the device
// and is valid only until the handler returns; the handler may overwrite the headroom in front of
// each packet (at least PACKET_HEADROOM bytes) and the packet bytes themselves. write() does not
// keep a reference to the buffer after it returns (it copies or writes synchronously).

import type { PacketBatch } from '../util/buffers.js';

export interface TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Starts delivering bursts of packets read from the device. Called once. */
  start(onBatch: (batch: PacketBatch) => void): void;
  /** Writes one IP packet towards the kernel. Returns false when it was dropped (device queue full). */
  write(buf: Buffer, off: number, len: number): boolean;
  /** Ends a batch of writes (implementations that batch flush here). */
  flush(): void;
  /**
   * Reads what is queued now (non-blocking) and hands it to the start() callback synchronously,
   * without waiting for the event loop (optional; a latency shortcut after writing a burst).
   */
  pollNow?(): void;
  /** Stops reading and closes the device. Idempotent. */
  close(): Promise<void>;
}
