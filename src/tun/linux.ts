// The Linux TUN device (IFF_TUN | IFF_NO_PI) over the native addon (sys/addon.ts): bursts of up to
// `burst` IP packets are read into one preallocated slab, packet i at i*SLOT_SIZE + PACKET_HEADROOM,
// and handed to the handler as one PacketBatch (the same arrays every time: no per-packet
// allocation). Writes are synchronous write(2) calls.
//
// With `offload` (default on; falls back silently when the kernel refuses) the device is opened with
// IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4): one read may return a TCP super-packet of
// up to 64 KB, or a packet whose checksum is only partial. Those are split/completed here
// (tun/offload.ts) into preallocated slots, so the handler still sees plain IP packets. Writes of
// consecutive in-order TCP segments of one flow are held and merged into one GSO super-packet,
// written on flush() (or when a packet that cannot join arrives): one write(2) for up to 64 KB. With
// `napi` (default on) the device is opened with IFF_NAPI when the kernel allows it. With `uso` (default
// off, used when the kernel knows TUN_F_USO4/6: Linux 6.2+) consecutive UDP datagrams of one flow are
// merged likewise into one GSO_UDP_L4 write (tun/udp-coalesce.ts); a refused one switches it off.
// Off by default: with 64-byte datagrams the receiving pod got half the datagrams (bench/README.md).
//
// It does not configure addresses, routes, MTU or link state (the node agent runs iproute2); `mtu`
// is recorded for the data path and bounds nothing here except validation against the slot size.
// Opening it in a network namespace: withNetns(ns, () => openLinuxTun(...)) from sys/netns.ts.
//
// Throws: openLinuxTun → ConfigError (bad name/mtu/burst), PermissionError (not root / no
// CAP_NET_ADMIN), DeviceError (no /dev/net/tun, busy name, addon not built). write() never throws
// per packet: false means dropped (queue full, device down, bad length, closed) and is counted.
// Buffer ownership: see tun/device.ts; the batch is valid until the handler returns.
import {
  MAX_PACKET,
  PACKET_HEADROOM,
  SLOT_SIZE,
  newPacketBatch,
  pointAtSlots,
  type PacketBatch,
} from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { type TunDevice } from './device.js';
import { loadNative, nativeError, type NativeAddon, type NativeDevice, type NativeHandle } from '../sys/addon.js';
import { readBusyPollStats, type BusyPollStats } from '../sys/busy-poll.js';
import {
  completeChecksum,
  newVnetHdr,
  readVnetHdr,
  TcpCoalescer,
  tcp4HeaderLen,
  tcp4Segment,
  tcp4SegmentCount,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_HDR_LEN,
} from './offload.js';
import { settleNow } from '../util/promise.js';
import { UdpCoalescer } from './udp-coalesce.js';

const EINVAL = 22;

/** Bits of tunOpen's `want`/`got` (native/tun.c). */
const OPEN_VNET = 1;
const OPEN_NAPI = 2;
const GOT_TSO4 = 4;
const GOT_CSUM = 8;
const GOT_USO = 16;
/** Receive slot for an offloading device: a 64 KB super-packet behind its vnet header, and headroom. */
const BIG_SLOT = 65536 + 128;
/** Segments the read side can hold per delivered batch. */
const SEG_SLOTS = 128;

export interface LinuxTunOptions {
  /** Interface name (at most 15 bytes); '' lets the kernel choose (tun0, tun1, …). */
  name: string;
  mtu: number;
  /** Most packets read per burst (1..1024, default 64). */
  burst?: number;
  /** Open with IFF_VNET_HDR and TSO/checksum offload (segment/coalesce here). Default true. */
  offload?: boolean;
  /** Open with IFF_NAPI (the kernel runs GRO on the packets we write). Default true. */
  napi?: boolean;
  /** Merge UDP datagrams of a flow into GSO_UDP_L4 writes where the kernel has them. Default false. */
  uso?: boolean;
}

/** What the kernel granted when the device was opened. */
export interface LinuxTunFeatures {
  vnetHdr: boolean;
  napi: boolean;
  /** Reads may be TCP/IPv4 super-packets (TUN_F_TSO4). */
  tso4: boolean;
  /** Reads may carry partial checksums (TUN_F_CSUM). */
  csum: boolean;
  /** The kernel takes GSO_UDP_L4 writes (it knows TUN_F_USO4/6). */
  uso: boolean;
}

export interface LinuxTunStats {
  packetsRead: number;
  bursts: number;
  readErrors: number;
  /** Reading stopped for good: the interface was deleted under us (errno in lastReadErrno). */
  readStopped: boolean;
  lastReadErrno: number;
  written: number;
  /** Writes dropped because the kernel queue was full (EAGAIN/ENOBUFS). */
  writeDrops: number;
  /** Writes that failed in the kernel otherwise (device down: EIO, not an IP packet: EINVAL). */
  writeErrors: number;
  /** Writes refused before reaching the kernel (closed, length 0, > MAX_PACKET, outside the buffer). */
  writeRefused: number;
  /** Offload: super-packets read and split, and the segments they gave. */
  superPacketsRead: number;
  segmentsRead: number;
  /** Offload: reads that could not be split/completed (bad vnet header or packet), dropped. */
  offloadErrors: number;
  /** Offload: merged writes (each one write(2)) and the packets merged into them. */
  superPacketsWritten: number;
  segmentsMerged: number;
  /** Offload: packets accepted by write() that were lost when their merged write failed. */
  mergedDrops: number;
  /** GSO_UDP_L4 writes (each one write(2)) and the UDP datagrams merged into them. */
  udpSuperPacketsWritten: number;
  udpSegmentsMerged: number;
  /** GSO_UDP_L4 merging is on now (switched off after the kernel refused one). */
  udpMerging: boolean;
  busyPoll: BusyPollStats; // the busy-poll window after reads of this device (sys/busy-poll.ts)
}

const IFNAME = /^[^\s/:]{0,15}$/;

export class LinuxTun implements TunDevice, NativeDevice {
  readonly name: string;
  readonly mtu: number;
  readonly nativeHandle: NativeHandle; // for a busy-poll partner (sys/busy-poll.ts)
  private readonly addon: NativeAddon;
  private readonly handle: NativeHandle;
  private readonly burst: number;
  private started = false;
  private closed = false;
  private refusedInJs = 0;
  private lastStats: LinuxTunStats | undefined;
  readonly features: LinuxTunFeatures;
  private readonly coalescer: TcpCoalescer | undefined;
  private udpCoalescer: UdpCoalescer | undefined;
  private readonly zeroHdr = Buffer.alloc(VNET_HDR_LEN);
  private readonly off = { superRead: 0, segsRead: 0, errors: 0, superWritten: 0, merged: 0, mergedDrops: 0 };
  private readonly udp = { written: 0, merged: 0 };

  /** Use openLinuxTun(). */
  constructor(
    addon: NativeAddon,
    handle: NativeHandle,
    name: string,
    mtu: number,
    burst: number,
    got = 0,
    uso = false,
  ) {
    this.addon = addon;
    this.handle = this.nativeHandle = handle;
    this.name = name;
    this.mtu = mtu;
    this.burst = burst;
    this.features = {
      vnetHdr: (got & OPEN_VNET) !== 0,
      napi: (got & OPEN_NAPI) !== 0,
      tso4: (got & GOT_TSO4) !== 0,
      csum: (got & (GOT_TSO4 | GOT_CSUM)) !== 0,
      uso: (got & GOT_USO) !== 0,
    };
    if (this.features.vnetHdr) this.coalescer = new TcpCoalescer();
    if (this.features.vnetHdr && this.features.uso && uso) this.udpCoalescer = new UdpCoalescer();
  }

  start(onBatch: (batch: PacketBatch) => void): void {
    if (this.closed) throw new DeviceError(`TUN device ${this.name} is closed`);
    if (this.started) throw new DeviceError(`TUN device ${this.name} was already started`);
    this.started = true;
    if (this.features.vnetHdr) {
      this.startOffload(onBatch);
      return;
    }
    const slab = Buffer.alloc(this.burst * SLOT_SIZE);
    const batch = newPacketBatch(this.burst);
    const onBurst = (count: number): void => {
      pointAtSlots(batch, slab, count, SLOT_SIZE, PACKET_HEADROOM);
      onBatch(batch);
    };
    try {
      this.addon.tunStart(this.handle, slab, batch.lens, SLOT_SIZE, PACKET_HEADROOM, this.burst, onBurst);
    } catch (err) {
      throw nativeError(err, `cannot start reading TUN device ${this.name}: ${String(err)}`);
    }
  }

  /**
   * The read side of an offloading device: packets arrive behind a vnet header in big slots; plain
   * ones are handed over in place (checksum completed if partial), super-packets are split into
   * the segment slab. A batch is delivered whenever the segment slab or the batch fills up.
   */
  private startOffload(onBatch: (batch: PacketBatch) => void): void {
    const readHeadroom = PACKET_HEADROOM - VNET_HDR_LEN;
    const inSlab = Buffer.alloc(this.burst * BIG_SLOT);
    const inLens = new Int32Array(this.burst);
    const stride = Math.ceil((PACKET_HEADROOM + this.mtu + 64) / 64) * 64;
    const segRoom = stride - PACKET_HEADROOM;
    const segSlab = Buffer.alloc(SEG_SLOTS * stride);
    const cap = SEG_SLOTS + this.burst;
    const batch = newPacketBatch(cap);
    const h = newVnetHdr();
    const st = this.off;
    let n = 0;
    let seg = 0;
    const deliver = (): void => {
      batch.count = n;
      if (n > 0) onBatch(batch);
      n = 0;
      seg = 0;
    };
    const onBurst = (count: number): void => {
      for (let i = 0; i < count; i++) {
        const base = i * BIG_SLOT + readHeadroom;
        const pkt = base + VNET_HDR_LEN;
        const len = inLens[i] - VNET_HDR_LEN;
        if (len <= 0) {
          st.errors++;
          continue;
        }
        readVnetHdr(inSlab, base, h);
        if (h.gsoType === VNET_GSO_NONE) {
          if ((h.flags & VNET_F_NEEDS_CSUM) !== 0 && !completeChecksum(inSlab, pkt, len, h.csumStart, h.csumOffset)) {
            st.errors++;
            continue;
          }
          if (n === cap) deliver();
          batch.bufs[n] = inSlab;
          batch.offs[n] = pkt;
          batch.lens[n] = len;
          n++;
          continue;
        }
        const k = (h.gsoType & ~VNET_GSO_ECN) === VNET_GSO_TCPV4 ? tcp4SegmentCount(inSlab, pkt, len, h.gsoSize) : 0;
        if (k === 0 || tcp4HeaderLen(inSlab, pkt, len) + h.gsoSize > segRoom) {
          st.errors++;
          continue;
        }
        st.superRead++;
        for (let s = 0; s < k; s++) {
          if (n === cap || seg === SEG_SLOTS) deliver();
          const o = seg * stride + PACKET_HEADROOM;
          const l = tcp4Segment(inSlab, pkt, len, h.gsoSize, s, segSlab, o);
          if (l <= 0 || l > segRoom) {
            st.errors++;
            break;
          }
          batch.bufs[n] = segSlab;
          batch.offs[n] = o;
          batch.lens[n] = l;
          n++;
          seg++;
          st.segsRead++;
        }
      }
      deliver();
    };
    try {
      this.addon.tunStart(this.handle, inSlab, inLens, BIG_SLOT, readHeadroom, this.burst, onBurst);
    } catch (err) {
      throw nativeError(err, `cannot start reading TUN device ${this.name}: ${String(err)}`);
    }
  }

  write(buf: Buffer, off: number, len: number): boolean {
    if (this.closed) {
      this.refusedInJs++;
      return false;
    }
    if (
      !(len > 0 && len <= MAX_PACKET && off >= 0 && off + len <= buf.length) ||
      !Number.isInteger(off) ||
      !Number.isInteger(len)
    ) {
      this.refusedInJs++;
      return false;
    }
    const c = this.coalescer;
    if (c === undefined) return this.addon.tunWrite(this.handle, buf, off, len);
    if (c.add(buf, off, len)) return true;
    if (c.count > 0) {
      this.writeMerged(c);
      if (c.add(buf, off, len)) return true;
    }
    const u = this.udpCoalescer;
    if (u !== undefined) {
      if (u.add(buf, off, len)) return true;
      if (u.count > 0) {
        this.writeUdpMerged(u);
        if (this.udpCoalescer !== undefined && u.add(buf, off, len)) return true;
      }
    }
    return this.addon.tunWriteHdr(this.handle, this.zeroHdr, buf, off, len);
  }

  private writeUdpMerged(u: UdpCoalescer): void {
    const segs = u.count;
    const n = u.finish();
    if (this.addon.tunWriteHdr(this.handle, u.out, u.out, VNET_HDR_LEN, n - VNET_HDR_LEN)) {
      if (segs > 1) {
        this.udp.written++;
        this.udp.merged += segs;
      }
      return;
    }
    this.off.mergedDrops += segs;
    // EINVAL: the kernel does not take GSO_UDP_L4 writes after all; write datagrams one by one from now on
    if (segs > 1 && this.addon.devStats(this.handle).lastTxErrno === EINVAL) this.udpCoalescer = undefined;
  }

  private writeMerged(c: TcpCoalescer): void {
    const segs = c.count;
    const n = c.finish();
    if (segs > 1) {
      this.off.superWritten++;
      this.off.merged += segs;
    }
    if (!this.addon.tunWriteHdr(this.handle, c.out, c.out, VNET_HDR_LEN, n - VNET_HDR_LEN))
      this.off.mergedDrops += segs;
  }

  flush(): void {
    // plain writes are synchronous; merged TCP segments go out now
    const c = this.coalescer;
    if (c !== undefined && c.count > 0 && !this.closed) this.writeMerged(c);
    const u = this.udpCoalescer;
    if (u !== undefined && u.count > 0 && !this.closed) this.writeUdpMerged(u);
  }

  /** One non-blocking read burst now, to the start() callback (a no-op before start or after close). */
  pollNow(): void {
    if (!this.closed) this.addon.devPoll(this.handle);
  }

  close(): Promise<void> {
    return settleNow(() => {
      if (this.closed) return;
      this.flush();
      this.lastStats = this.readStats();
      this.closed = true;
      this.addon.devClose(this.handle);
    });
  }

  stats(): LinuxTunStats {
    const s = this.closed && this.lastStats ? { ...this.lastStats } : this.readStats();
    s.writeRefused += this.refusedInJs;
    return s;
  }

  private readStats(): LinuxTunStats {
    const n = this.addon.devStats(this.handle);
    return {
      packetsRead: n.rxPackets,
      bursts: n.rxBursts,
      readErrors: n.rxErrors,
      readStopped: n.rxStopped,
      lastReadErrno: n.lastRxErrno,
      written: n.txPackets,
      writeDrops: n.txDrops,
      writeErrors: n.txErrors,
      writeRefused: n.txTooBig,
      superPacketsRead: this.off.superRead,
      segmentsRead: this.off.segsRead,
      offloadErrors: this.off.errors,
      superPacketsWritten: this.off.superWritten,
      segmentsMerged: this.off.merged,
      mergedDrops: this.off.mergedDrops,
      udpSuperPacketsWritten: this.udp.written,
      udpSegmentsMerged: this.udp.merged,
      udpMerging: this.udpCoalescer !== undefined,
      busyPoll: readBusyPollStats(n),
    };
  }
}

/** Opens (creating if needed) the TUN device `opts.name` in the calling thread's network namespace. */
export function openLinuxTun(opts: LinuxTunOptions): LinuxTun {
  const burst = opts.burst ?? 64;
  if (!IFNAME.test(opts.name) || Buffer.byteLength(opts.name) > 15)
    throw new ConfigError(`bad TUN device name "${opts.name}" (at most 15 bytes, no spaces, '/' or ':')`);
  if (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > SLOT_SIZE - PACKET_HEADROOM)
    throw new ConfigError(`TUN MTU must be an integer from 68 to ${SLOT_SIZE - PACKET_HEADROOM}, got ${opts.mtu}`);
  if (!Number.isInteger(burst) || burst < 1 || burst > 1024)
    throw new ConfigError(`TUN burst must be 1..1024, got ${burst}`);
  const addon = loadNative();
  const want = ((opts.offload ?? true) ? OPEN_VNET : 0) | ((opts.napi ?? true) ? OPEN_NAPI : 0);
  let opened: [NativeHandle, string, number?];
  try {
    opened = addon.tunOpen(opts.name, want);
  } catch (err) {
    throw nativeError(err);
  }
  return new LinuxTun(addon, opened[0], opened[1], opts.mtu, burst, opened[2] ?? 0, opts.uso ?? false);
}
