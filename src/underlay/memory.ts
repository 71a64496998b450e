// An in-memory underlay: MemoryNetwork is a switch between MemoryUnderlays, each attached at an
// IPv4 address and UDP port. send() copies the datagram into the network's bounded FIFO; delivery
// hands datagrams to the destination's handler in order, consecutive datagrams for the same
// destination together as one batch (up to `burst`).
//
// Delivery modes (option `delivery`):
//  - 'manual' (default, for simulations on a virtual clock): nothing moves until the test calls
//    network.deliverAll(), which pumps until no datagram is pending (including those sent by
//    handlers meanwhile), bounded by `maxDatagrams` to stop endless ping-pong.
//  - 'auto' (real time): a send schedules deliverAll() with setImmediate.
// Never re-entrant: send() only queues; deliverAll() from inside a handler returns 0.
//
// send()'s srcPort is honoured: the receiver sees it as the datagram's source port (ports[i]);
// undefined/0 means the sender's localPort. Nobody needs to be attached at the source port.
// Counted, never thrown: datagrams to an address:port nobody is attached to (stats.unreachable),
// a full queue (stats.queueDrops), bad lengths or ports, or sends on a closed underlay (stats.refused).
// Throws: attach() → DeviceError when the address:port is taken (like EADDRINUSE); ConfigError for
// bad options or a port outside 0..65535 (0 picks a free port from 49152 up).
// Buffer ownership: send() copies; a batch is valid until the handler returns.
import { formatIpv4 } from '../addr/ipv4.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { newDatagramBatch, type DatagramBatch, type Underlay } from './underlay.js';
import { settleNow } from '../util/promise.js';

export interface MemoryNetworkOptions {
  delivery?: 'manual' | 'auto';
  /** Most datagrams in flight in the whole network (default 4096). */
  queueLimit?: number;
  /** Most datagrams per batch (default 64). */
  burst?: number;
}

export interface MemoryNetworkStats {
  sent: number;
  delivered: number;
  batches: number;
  /** Dropped: nobody attached (or attached but not started, or closed) at the destination on delivery. */
  unreachable: number;
  /** Dropped: the network queue was full. */
  queueDrops: number;
  /** Refused by send(): closed underlay, bad length/offset, bad destination or source port. */
  refused: number;
}

/** Largest UDP payload in an IPv4 datagram. */
const MAX_UDP_PAYLOAD = 65507;
const EPHEMERAL_FIRST = 49152;

function key(addr: number, port: number): number {
  return (addr >>> 0) * 65536 + port;
}

export class MemoryNetwork {
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, batches: 0, unreachable: 0, queueDrops: 0, refused: 0 };
  private readonly burst: number;
  private readonly auto: boolean;
  private readonly members = new Map<number, MemoryUnderlay>();
  // The FIFO: a ring of lazily allocated slots (datagram at PACKET_HEADROOM) and their metadata.
  private readonly slots: (Buffer | undefined)[];
  private readonly lens: Int32Array;
  private readonly srcAddr: Uint32Array;
  private readonly srcPort: Uint16Array;
  private readonly dstAddr: Uint32Array;
  private readonly dstPort: Uint16Array;
  private head = 0;
  private size = 0;
  private delivering = false;
  private scheduled = false;
  private nextEphemeral = EPHEMERAL_FIRST;

  constructor(opts: MemoryNetworkOptions = {}) {
    const queueLimit = opts.queueLimit ?? 4096;
    this.burst = opts.burst ?? 64;
    this.auto = (opts.delivery ?? 'manual') === 'auto';
    if (!Number.isInteger(queueLimit) || queueLimit < 1)
      throw new ConfigError(`MemoryNetwork queueLimit must be >= 1, got ${queueLimit}`);
    if (!Number.isInteger(this.burst) || this.burst < 1)
      throw new ConfigError(`MemoryNetwork burst must be >= 1, got ${this.burst}`);
    this.slots = new Array<Buffer | undefined>(queueLimit);
    this.lens = new Int32Array(queueLimit);
    this.srcAddr = new Uint32Array(queueLimit);
    this.srcPort = new Uint16Array(queueLimit);
    this.dstAddr = new Uint32Array(queueLimit);
    this.dstPort = new Uint16Array(queueLimit);
  }

  /** Attaches a new underlay at addr:port (port 0: a free port). Throws DeviceError when taken. */
  attach(addr: number, port: number): MemoryUnderlay {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`bad UDP port ${port}`);
    if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) throw new ConfigError(`bad IPv4 address ${addr}`);
    if (port === 0) port = this.freePort(addr);
    if (this.members.has(key(addr, port)))
      throw new DeviceError(`UDP port ${port} on ${formatIpv4(addr)} is already in use`);
    const u = new MemoryUnderlay(this, addr >>> 0, port, this.burst);
    this.members.set(key(addr, port), u);
    return u;
  }

  /** Removes whatever is attached at addr:port (later datagrams to it count as unreachable). */
  detach(addr: number, port: number): void {
    this.members.delete(key(addr, port));
  }

  /** Datagrams sent and not yet delivered. */
  pending(): number {
    return this.size;
  }

  /**
   * Delivers queued datagrams in order until none is pending (handlers may send more), at most
   * `maxDatagrams` (default 1e6). Returns how many were handed to handlers or dropped as
   * unreachable; check pending() afterwards when a loop might not settle.
   */
  deliverAll(maxDatagrams = 1_000_000): number {
    if (this.delivering) return 0;
    this.delivering = true;
    let done = 0;
    try {
      const cap = this.slots.length;
      while (this.size > 0 && done < maxDatagrams) {
        const first = this.head;
        const dst = this.members.get(key(this.dstAddr[first], this.dstPort[first]));
        // take the run of consecutive datagrams with the same destination, up to its burst
        let count = 1;
        while (
          count < this.size &&
          count < this.burst &&
          this.dstAddr[(first + count) % cap] === this.dstAddr[first] &&
          this.dstPort[(first + count) % cap] === this.dstPort[first]
        )
          count++;
        try {
          if (!dst || !dst.deliver(this.slots, this.lens, this.srcAddr, this.srcPort, first, count, cap)) {
            this.stats.unreachable += count;
          } else {
            this.stats.delivered += count;
            this.stats.batches++;
          }
        } finally {
          this.head = (this.head + count) % cap;
          this.size -= count;
          done += count;
        }
      }
    } finally {
      this.delivering = false;
    }
    return done;
  }

  /** @internal used by MemoryUnderlay.send */
  enqueue(
    buf: Buffer,
    off: number,
    len: number,
    srcAddr: number,
    srcPort: number,
    dstAddr: number,
    dstPort: number,
  ): boolean {
    if (
      !(len >= 0 && len <= MAX_UDP_PAYLOAD && off >= 0 && off + len <= buf.length) ||
      !Number.isInteger(off + len) ||
      !(dstPort > 0 && dstPort <= 65535) ||
      !(srcPort > 0 && srcPort <= 65535 && Number.isInteger(srcPort))
    ) {
      this.stats.refused++;
      return false;
    }
    if (this.size === this.slots.length) {
      this.stats.queueDrops++;
      return false;
    }
    const idx = (this.head + this.size) % this.slots.length;
    let slot = this.slots[idx];
    if (!slot || slot.length < PACKET_HEADROOM + len)
      slot = this.slots[idx] = Buffer.alloc(Math.max(SLOT_SIZE, PACKET_HEADROOM + len));
    buf.copy(slot, PACKET_HEADROOM, off, off + len);
    this.lens[idx] = len;
    this.srcAddr[idx] = srcAddr;
    this.srcPort[idx] = srcPort;
    this.dstAddr[idx] = dstAddr >>> 0;
    this.dstPort[idx] = dstPort;
    this.size++;
    this.stats.sent++;
    if (this.auto) this.schedule();
    return true;
  }

  /** @internal */
  refuse(): void {
    this.stats.refused++;
  }

  /** @internal */
  release(u: MemoryUnderlay): void {
    if (this.members.get(key(u.localAddr, u.localPort)) === u) this.members.delete(key(u.localAddr, u.localPort));
  }

  /** @internal */
  scheduleIfAuto(): void {
    if (this.auto && this.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliverAll();
    });
  }

  private freePort(addr: number): number {
    for (let tries = 0; tries < 65536 - EPHEMERAL_FIRST; tries++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port === 65535 ? EPHEMERAL_FIRST : port + 1;
      if (!this.members.has(key(addr, port))) return port;
    }
    throw new DeviceError(`no free UDP port on ${formatIpv4(addr)}`);
  }
}

export class MemoryUnderlay implements Underlay {
  readonly localAddr: number;
  readonly localPort: number;
  readonly choosesSrcPort = true;
  private readonly network: MemoryNetwork;
  private readonly batch: DatagramBatch;
  private handler: ((batch: DatagramBatch) => void) | undefined;
  private closed = false;

  /** Use MemoryNetwork.attach(). */
  constructor(network: MemoryNetwork, addr: number, port: number, burst: number) {
    this.network = network;
    this.localAddr = addr;
    this.localPort = port;
    this.batch = newDatagramBatch(burst);
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    if (this.closed) throw new DeviceError(`underlay ${formatIpv4(this.localAddr)}:${this.localPort} is closed`);
    if (this.handler)
      throw new DeviceError(`underlay ${formatIpv4(this.localAddr)}:${this.localPort} was already started`);
    this.handler = onBatch;
    this.network.scheduleIfAuto();
  }

  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean {
    if (this.closed) {
      this.network.refuse();
      return false;
    }
    return this.network.enqueue(buf, off, len, this.localAddr, srcPort || this.localPort, addr, port);
  }

  flush(): void {
    // sends are queued in the network at once
  }

  close(): Promise<void> {
    return settleNow(() => {
      if (this.closed) return;
      this.closed = true;
      this.handler = undefined;
      this.network.release(this);
    });
  }

  /**
   * @internal Hands datagrams [first, first+count) of the network's ring to the handler. Returns
   * false when there is no handler (not started or closed): the datagrams are dropped.
   */
  deliver(
    slots: (Buffer | undefined)[],
    lens: Int32Array,
    srcAddr: Uint32Array,
    srcPort: Uint16Array,
    first: number,
    count: number,
    cap: number,
  ): boolean {
    if (!this.handler) return false;
    const b = this.batch;
    for (let i = 0; i < count; i++) {
      const idx = (first + i) % cap;
      b.bufs[i] = slots[idx]!;
      b.offs[i] = PACKET_HEADROOM;
      b.lens[i] = lens[idx]!;
      b.addrs[i] = srcAddr[idx]!;
      b.ports[i] = srcPort[idx]!;
    }
    b.count = count;
    this.handler(b);
    return true;
  }
}
