// An in-memory TunDevice for tests and multi-node simulations. The "kernel side" is the test:
// inject() queues a packet as if the kernel had routed it into the device; packets the data path
// writes are recorded in `written` (copies) and passed to `onWrite`.
//
// Delivery modes (option `delivery`):
//  - 'manual' (default, for simulations on a virtual clock): injected packets wait until the test
//    calls deliverPending(), which hands them to the handler in bursts of up to `burst`, in order.
//  - 'auto' (real time): the device schedules deliverPending() with setImmediate after an inject,
//    like a real device becoming readable on the next event-loop turn.
// Never re-entrant: inject() only queues, and deliverPending() called from inside a handler
// returns 0 (the outer call delivers what was queued meanwhile).
//
// Bounded: the queue holds `queueLimit` packets (extra injects are counted drops), `written` keeps
// at most `recordLimit` packets (then only counts; takeWritten() drains it).
// Buffer ownership: inject() copies the packet (the caller may reuse its buffer). The batch handed
// to the handler is valid until it returns (slots are reused). write() copies before returning;
// onWrite receives a view of the caller's buffer that is valid only during the call.
// Throws: the constructor throws ConfigError on bad options; start() twice throws DeviceError.
import { MAX_PACKET, PACKET_HEADROOM, SLOT_SIZE, newPacketBatch, type PacketBatch } from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { type TunDevice } from './device.js';

export interface MemoryTunOptions {
  name?: string;
  mtu?: number;
  /** Most packets per batch (default 64). */
  burst?: number;
  /** Most injected packets waiting for delivery (default 1024). */
  queueLimit?: number;
  delivery?: 'manual' | 'auto';
  /** Most packets kept in `written` (default 10000). */
  recordLimit?: number;
}

export interface MemoryTunStats {
  injected: number;
  /** Injects refused: queue full, device closed, empty or larger than the MTU. */
  injectDrops: number;
  delivered: number;
  batches: number;
  written: number;
  /** Writes refused: closed, empty, longer than MAX_PACKET or outside the buffer. */
  writeRefused: number;
  /** Writes counted but not kept in `written` because recordLimit was reached. */
  writesNotRecorded: number;
}

/** Most packets one deliverPending() call hands over (guards against inject/deliver loops). */
const MAX_DELIVER_PER_CALL = 1_000_000;

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Copies of the packets written towards the kernel, oldest first (at most recordLimit). */
  readonly written: Buffer[] = [];
  /** Called for every accepted write with a view valid only during the call. */
  onWrite: ((packet: Buffer) => void) | undefined;
  readonly stats: MemoryTunStats = {
    injected: 0,
    injectDrops: 0,
    delivered: 0,
    batches: 0,
    written: 0,
    writeRefused: 0,
    writesNotRecorded: 0,
  };

  private readonly burst: number;
  private readonly recordLimit: number;
  private readonly auto: boolean;
  private readonly slots: (Buffer | undefined)[];
  private readonly slotLens: Int32Array;
  private head = 0;
  private size = 0;
  private handler: ((batch: PacketBatch) => void) | undefined;
  private readonly batch: PacketBatch;
  private delivering = false;
  private scheduled = false;
  private closed = false;

  constructor(opts: MemoryTunOptions = {}) {
    this.name = opts.name ?? 'mem0';
    this.mtu = opts.mtu ?? 1500;
    this.burst = opts.burst ?? 64;
    const queueLimit = opts.queueLimit ?? 1024;
    this.recordLimit = opts.recordLimit ?? 10_000;
    this.auto = (opts.delivery ?? 'manual') === 'auto';
    if (!Number.isInteger(this.mtu) || this.mtu < 68 || this.mtu > SLOT_SIZE - PACKET_HEADROOM)
      throw new ConfigError(`MemoryTun mtu must be 68..${SLOT_SIZE - PACKET_HEADROOM}, got ${this.mtu}`);
    if (!Number.isInteger(this.burst) || this.burst < 1) throw new ConfigError(`MemoryTun burst must be >= 1, got ${this.burst}`);
    if (!Number.isInteger(queueLimit) || queueLimit < 1) throw new ConfigError(`MemoryTun queueLimit must be >= 1, got ${queueLimit}`);
    if (!Number.isInteger(this.recordLimit) || this.recordLimit < 0) throw new ConfigError(`MemoryTun recordLimit must be >= 0`);
    this.slots = new Array<Buffer | undefined>(queueLimit);
    this.slotLens = new Int32Array(queueLimit);
    this.batch = newPacketBatch(this.burst);
  }

  /** Queues `packet` as if the kernel routed it into the device. False (counted) when refused. */
  inject(packet: Uint8Array): boolean {
    const len = packet.length;
    if (this.closed || len === 0 || len > this.mtu || this.size === this.slots.length) {
      this.stats.injectDrops++;
      return false;
    }
    const idx = (this.head + this.size) % this.slots.length;
    let slot = this.slots[idx];
    if (!slot) slot = this.slots[idx] = Buffer.alloc(SLOT_SIZE);
    slot.set(packet, PACKET_HEADROOM);
    this.slotLens[idx] = len;
    this.size++;
    this.stats.injected++;
    if (this.auto) this.schedule();
    return true;
  }

  /** Packets injected and not yet delivered. */
  pending(): number {
    return this.size;
  }

  /**
   * Hands every queued packet (including ones injected by the handler meanwhile) to the handler in
   * bursts, in order. Returns how many were delivered; 0 before start(), after close(), or when
   * called from inside the handler.
   */
  deliverPending(): number {
    if (!this.handler || this.closed || this.delivering) return 0;
    this.delivering = true;
    let delivered = 0;
    try {
      while (this.size > 0 && !this.closed && delivered < MAX_DELIVER_PER_CALL) {
        const count = Math.min(this.burst, this.size);
        const cap = this.slots.length;
        for (let i = 0; i < count; i++) {
          const idx = (this.head + i) % cap;
          this.batch.bufs[i] = this.slots[idx]!;
          this.batch.offs[i] = PACKET_HEADROOM;
          this.batch.lens[i] = this.slotLens[idx]!;
        }
        this.batch.count = count;
        try {
          this.handler(this.batch);
        } finally {
          // The slots stay reserved until the handler returned; then they are free.
          this.head = (this.head + count) % cap;
          this.size -= count;
          delivered += count;
          this.stats.delivered += count;
          this.stats.batches++;
        }
      }
    } finally {
      this.delivering = false;
    }
    return delivered;
  }

  /** Returns the recorded writes and forgets them. */
  takeWritten(): Buffer[] {
    return this.written.splice(0, this.written.length);
  }

  start(onBatch: (batch: PacketBatch) => void): void {
    if (this.closed) throw new DeviceError(`TUN device ${this.name} is closed`);
    if (this.handler) throw new DeviceError(`TUN device ${this.name} was already started`);
    this.handler = onBatch;
    if (this.auto && this.size > 0) this.schedule();
  }

  write(buf: Buffer, off: number, len: number): boolean {
    if (this.closed || !(len > 0 && len <= MAX_PACKET && off >= 0 && off + len <= buf.length) || !Number.isInteger(off + len)) {
      this.stats.writeRefused++;
      return false;
    }
    this.stats.written++;
    if (this.written.length < this.recordLimit) this.written.push(Buffer.from(buf.subarray(off, off + len)));
    else this.stats.writesNotRecorded++;
    this.onWrite?.(buf.subarray(off, off + len));
    return true;
  }

  flush(): void {
    // writes are recorded synchronously
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.size = 0;
    this.handler = undefined;
  }

  private schedule(): void {
    if (this.scheduled || !this.handler) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliverPending();
    });
  }
}
