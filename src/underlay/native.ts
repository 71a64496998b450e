// The fast underlay: one IPv4 UDP socket in the native addon (sys/addon.ts) with recvmmsg bursts
// into one preallocated slab (datagram i at i*SLOT_SIZE + PACKET_HEADROOM, source in addrs/ports)
// and a bounded native send queue (64 slots) sent with one sendmmsg per flush(). The queue flushes
// itself when full, and a microtask flushes whatever a burst handler queued, so a forgotten
// flush() costs batching, not datagrams. Socket buffers: 4 MiB (SO_RCVBUFFORCE when privileged).
//
// The socket is created synchronously inside openNativeUdpUnderlay (before the returned promise
// settles), so withNetns(ns, () => openNativeUdpUnderlay(...)) binds it inside namespace ns.
// Throws (as a rejected promise; createNativeUdpUnderlay throws directly): DeviceError (port in
// use, address not on this host, addon not built), PermissionError, ConfigError (bad options).
// send() never throws: false when refused (closed, bad length/port) or dropped; datagrams that the
// kernel refuses at flush time (EAGAIN/ENOBUFS) are counted in stats().sendDrops.
// Source ports (see underlay.ts): with `sourcePorts: N` (N > 0) the addon also opens N send-only,
// ordinary UDP sockets on addr, each bound to a port the kernel picks from its local port range
// (32768..60999, where the kernel's VXLAN device takes its source ports from; never read: a BPF
// filter drops whatever would be queued to them). A datagram given srcPort leaves from pool socket
// srcPort % N (sourcePortFor() says which port), so one flow keeps one port and its order while
// flows spread over N ports. No raw socket and no CAP_NET_RAW. Receiving is on the bound port only:
// peers always send to the well-known port.
// GSO (`gso`, default on when the kernel has UDP_SEGMENT): flush() sends each train of consecutive
// equal-size datagrams to one peer from one socket as one sendmsg with a UDP_SEGMENT control message;
// the kernel writes each datagram's UDP header and checksum. Refused trains fall back to one
// datagram each and are counted (stats().gsoFallbacks); a refusal with EIO turns GSO off.
// GRO (`gro`, default on when the kernel has UDP_GRO): the socket may return several datagrams of one
// sender glued into one read (up to 64 KB; a peer's GSO train arrives this way unsegmented); reads go
// into GRO_SLOT-sized slots (GRO_READS per burst) and gro-split.ts splits them in place, so the
// handler still gets single datagrams. stats().received counts datagrams either way.
// Buffer ownership: send() copies into the native queue; a batch is valid until the handler returns.
import { formatIpv4 } from '../addr/ipv4.js';
import { loadNative, type NativeAddon, type NativeDevice, type NativeHandle } from '../sys/addon.js';
import { readBusyPollStats, type BusyPollStats } from '../sys/busy-poll.js';
import { PACKET_HEADROOM, SLOT_SIZE, pointAtSlots } from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { bindError, checkUdpOptions } from './udp.js';
import { newDatagramBatch, type DatagramBatch, type Underlay } from './underlay.js';
import { newGroSplitStats, splitGroReads, type GroReads } from './gro-split.js';
import { settleNow } from '../util/promise.js';

/** Most sockets in a source-port pool (the addon's limit). */
export const MAX_SOURCE_PORTS = 256;
/** The pool size a node uses for per-flow source ports unless told otherwise. */
export const DEFAULT_SOURCE_PORTS = 32;
/** A GRO read slot: up to 64 KB of glued datagrams behind the headroom. */
const GRO_SLOT = 65536 + PACKET_HEADROOM;
/** Reads per recvmmsg with GRO (each up to 64 KB), and datagrams per batch handed to the data path. */
const GRO_READS = 16;
const GRO_BATCH = 256;

export interface NativeUdpUnderlayOptions {
  addr: number;
  /** 0 binds an ephemeral port (see localPort). */
  port: number;
  /** Most datagrams per receive burst (1..1024, default 64). */
  burst?: number;
  /** Socket buffer size in bytes, both directions (default 4 MiB). */
  bufBytes?: number;
  /** Send queue slots (1..1024, default 64). */
  sendQueue?: number;
  /**
   * Size of the source-port pool (0..256, default 0): send() honours srcPort (as the port of the
   * pool socket it maps to) when > 0.
   */
  sourcePorts?: number;
  /** Send trains with UDP GSO when the kernel supports it (default true). */
  gso?: boolean;
  /** Receive with UDP GRO when the kernel supports it (default true). */
  gro?: boolean;
}

export interface NativeUdpStats {
  received: number;
  bursts: number;
  receiveErrors: number;
  /** Datagrams larger than a slot (SLOT_SIZE - PACKET_HEADROOM bytes): dropped. */
  truncated: number;
  sent: number;
  /** Datagrams the kernel refused for lack of buffer space (EAGAIN/ENOBUFS). */
  sendDrops: number;
  /** Datagrams the kernel refused otherwise (e.g. unreachable), or sent after close. */
  sendErrors: number;
  /** send() refused: bad length/offset/port. */
  refused: number;
  /** Datagrams waiting in the send queue. */
  queued: number;
  /** Size of the source-port pool (0: every datagram leaves from localPort). */
  sourcePorts: number;
  /** Trains go out as UDP GSO messages now. */
  gso: boolean;
  /** The kernel knows UDP_SEGMENT (probed at open). */
  gsoSupported: boolean;
  /** GSO messages sent, and the datagrams in them. */
  gsoSends: number;
  gsoSegments: number;
  /** GSO trains the kernel refused, sent again one datagram each (none lost). */
  gsoFallbacks: number;
  /** UDP_GRO is on (reads may hold several datagrams), and the kernel knows it (probed at open). */
  gro: boolean;
  groSupported: boolean;
  /** GRO reads that held more than one datagram, and the datagrams in them. */
  groReads: number;
  groDatagrams: number;
  /** GRO reads dropped: their datagram size was lost (cmsg cut) or impossible (gro-split.ts). */
  groMalformed: number;
  /** The busy-poll window after reads of this socket (sys/busy-poll.ts). */
  busyPoll: BusyPollStats;
}

export class NativeUdpUnderlay implements Underlay, NativeDevice {
  readonly localAddr: number;
  readonly localPort: number;
  /** True when there is a source-port pool: send() honours srcPort (see sourcePortFor). */
  readonly choosesSrcPort: boolean;
  /** The pool sockets' ports (empty without a pool). */
  readonly poolPorts: readonly number[];
  /** For a busy-poll partner (sys/busy-poll.ts). */
  readonly nativeHandle: NativeHandle;
  private readonly addon: NativeAddon;
  private readonly handle: NativeHandle;
  private readonly burst: number;
  private started = false;
  private closed = false;
  private flushScheduled = false;
  private finalStats: NativeUdpStats | undefined;
  private readonly flushSoon = (): void => {
    this.flushScheduled = false;
    if (!this.closed) this.addon.udpFlush(this.handle);
  };

  /** Use openNativeUdpUnderlay(). */
  constructor(
    addon: NativeAddon,
    handle: NativeHandle,
    addr: number,
    port: number,
    burst: number,
    poolPorts: readonly number[] = [],
    private readonly gro: { on: boolean; supported: boolean } = { on: false, supported: false },
  ) {
    this.addon = addon;
    this.handle = this.nativeHandle = handle;
    this.localAddr = addr;
    this.localPort = port;
    this.burst = burst;
    this.poolPorts = poolPorts;
    this.choosesSrcPort = poolPorts.length > 0;
  }

  /** The port a datagram sent with srcPort leaves from (the addon's choice: pool socket srcPort % size). */
  sourcePortFor(srcPort: number): number {
    const n = this.poolPorts.length;
    return n === 0 || !(srcPort > 0) ? this.localPort : this.poolPorts[srcPort % n];
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    const where = `${formatIpv4(this.localAddr)}:${this.localPort}`;
    if (this.closed) throw new DeviceError(`underlay ${where} is closed`);
    if (this.started) throw new DeviceError(`underlay ${where} was already started`);
    this.started = true;
    if (this.gro.on) {
      this.startGro(onBatch, where);
      return;
    }
    const slab = Buffer.alloc(this.burst * SLOT_SIZE);
    const batch = newDatagramBatch(this.burst);
    const onBurst = (count: number): void => {
      pointAtSlots(batch, slab, count, SLOT_SIZE, PACKET_HEADROOM);
      onBatch(batch);
    };
    try {
      this.addon.udpStart(
        this.handle,
        slab,
        batch.lens,
        batch.addrs,
        batch.ports,
        SLOT_SIZE,
        PACKET_HEADROOM,
        this.burst,
        onBurst,
      );
    } catch (err) {
      throw new DeviceError(`cannot start receiving on ${where}: ${String(err)}`, { cause: err });
    }
  }

  private readonly groStats = newGroSplitStats();

  /** start() with GRO on: whole reads land in big slots and are split per datagram (gro-split.ts). */
  private startGro(onBatch: (batch: DatagramBatch) => void, where: string): void {
    const reads = Math.min(this.burst, GRO_READS);
    const r: GroReads = {
      slab: Buffer.allocUnsafeSlow(reads * GRO_SLOT), // pages are touched only as big reads arrive
      slotSize: GRO_SLOT,
      headroom: PACKET_HEADROOM,
      maxLen: SLOT_SIZE - PACKET_HEADROOM, // as without GRO: longer ones are counted in `truncated`
      lens: new Int32Array(reads),
      sizes: new Uint16Array(reads),
      addrs: new Uint32Array(reads),
      ports: new Uint16Array(reads),
    };
    const batch = newDatagramBatch(GRO_BATCH);
    const st = this.groStats;
    const onBurst = (count: number): void => splitGroReads(r, count, batch, onBatch, st);
    try {
      this.addon.udpStart(
        this.handle,
        r.slab,
        r.lens,
        r.addrs,
        r.ports,
        GRO_SLOT,
        PACKET_HEADROOM,
        reads,
        onBurst,
        r.sizes,
      );
    } catch (err) {
      throw new DeviceError(`cannot start receiving on ${where}: ${String(err)}`, { cause: err });
    }
  }

  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean {
    if (this.closed) return false;
    const ok = this.addon.udpSend(this.handle, buf, off, len, addr, port, srcPort);
    if (ok && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushSoon);
    }
    return ok;
  }

  flush(): void {
    if (!this.closed) this.addon.udpFlush(this.handle);
  }

  /** Flushes the send queue, stops receiving and closes the socket. Idempotent. */
  close(): Promise<void> {
    return settleNow(() => {
      if (this.closed) return;
      this.closed = true;
      this.addon.devClose(this.handle);
      this.finalStats = this.readStats();
    });
  }

  stats(): NativeUdpStats {
    return this.finalStats ? { ...this.finalStats } : this.readStats();
  }

  private readStats(): NativeUdpStats {
    const n = this.addon.devStats(this.handle);
    const g = this.groStats;
    return {
      received: this.gro.on ? g.datagrams : n.rxPackets,
      bursts: n.rxBursts,
      receiveErrors: n.rxErrors,
      truncated: n.rxTruncated + g.tooLong,
      sent: n.txPackets,
      sendDrops: n.txDrops,
      sendErrors: n.txErrors,
      refused: n.txTooBig,
      queued: n.txQueued,
      sourcePorts: n.sourcePorts ?? 0,
      gso: n.gso === true,
      gsoSupported: n.gsoSupported === true,
      gsoSends: n.txGsoSends ?? 0,
      gsoSegments: n.txGsoSegments ?? 0,
      gsoFallbacks: n.gsoFallbacks ?? 0,
      gro: n.gro === true,
      groSupported: n.groSupported === true,
      groReads: g.coalescedReads,
      groDatagrams: g.coalescedDatagrams,
      groMalformed: g.malformed + (n.rxCtrunc ?? 0),
      busyPoll: readBusyPollStats(n),
    };
  }
}

/** Creates and binds the socket synchronously; throws DeviceError/PermissionError/ConfigError. */
export function createNativeUdpUnderlay(opts: NativeUdpUnderlayOptions): NativeUdpUnderlay {
  checkUdpOptions(opts.addr, opts.port);
  const burst = opts.burst ?? 64;
  const sendQueue = opts.sendQueue ?? 64;
  const bufBytes = opts.bufBytes ?? 4 * 1024 * 1024;
  if (!Number.isInteger(burst) || burst < 1 || burst > 1024)
    throw new ConfigError(`UDP burst must be 1..1024, got ${burst}`);
  if (!Number.isInteger(sendQueue) || sendQueue < 1 || sendQueue > 1024)
    throw new ConfigError(`UDP send queue must be 1..1024, got ${sendQueue}`);
  if (!Number.isInteger(bufBytes) || bufBytes < 0)
    throw new ConfigError(`UDP buffer size must be >= 0, got ${bufBytes}`);
  const sourcePorts = opts.sourcePorts ?? 0;
  if (!Number.isInteger(sourcePorts) || sourcePorts < 0 || sourcePorts > MAX_SOURCE_PORTS)
    throw new ConfigError(`source-port pool size must be 0..${MAX_SOURCE_PORTS}, got ${sourcePorts}`);
  const addon = loadNative();
  let opened: [NativeHandle, number, number[], boolean, boolean?, boolean?];
  try {
    const gso = opts.gso ?? true;
    opened = addon.udpOpen(
      opts.addr >>> 0,
      opts.port,
      bufBytes,
      sendQueue,
      SLOT_SIZE,
      sourcePorts,
      gso,
      opts.gro ?? true,
    );
  } catch (err) {
    throw bindError(err, opts.addr, opts.port);
  }
  const gro = { on: opened[4] === true, supported: opened[5] === true };
  return new NativeUdpUnderlay(addon, opened[0], opts.addr >>> 0, opened[1], burst, opened[2], gro);
}

/** Binds a batched native UDP socket at opts.addr:opts.port (see createNativeUdpUnderlay). */
export function openNativeUdpUnderlay(opts: NativeUdpUnderlayOptions): Promise<NativeUdpUnderlay> {
  return settleNow(() => createNativeUdpUnderlay(opts));
}
