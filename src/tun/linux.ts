// The Linux TUN device (IFF_TUN | IFF_NO_PI) over the native addon (tun/native.ts): bursts of up to
// `burst` IP packets are read into one preallocated slab, packet i at i*SLOT_SIZE + PACKET_HEADROOM,
// and handed to the handler as one PacketBatch (the same arrays every time: no per-packet
// allocation). Writes are synchronous write(2) calls.
//
// It does not configure addresses, routes, MTU or link state (the node agent runs iproute2); `mtu`
// is recorded for the data path and bounds nothing here except validation against the slot size.
// Opening it in a network namespace: withNetns(ns, () => openLinuxTun(...)) from tun/native.ts.
//
// Throws: openLinuxTun → ConfigError (bad name/mtu/burst), PermissionError (not root / no
// CAP_NET_ADMIN), DeviceError (no /dev/net/tun, busy name, addon not built). write() never throws
// per packet: false means dropped (queue full, device down, bad length, closed) and is counted.
// Buffer ownership: see tun/device.ts; the batch is valid until the handler returns.
import { MAX_PACKET, PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { newPacketBatch, pointAtSlots, type PacketBatch, type TunDevice } from './device.js';
import { loadNative, nativeError, type NativeAddon, type NativeHandle } from './native.js';

export interface LinuxTunOptions {
  /** Interface name (at most 15 bytes); '' lets the kernel choose (tun0, tun1, …). */
  name: string;
  mtu: number;
  /** Most packets read per burst (1..1024, default 64). */
  burst?: number;
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
}

const IFNAME = /^[^\s/:]{0,15}$/;

export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  private readonly addon: NativeAddon;
  private readonly handle: NativeHandle;
  private readonly burst: number;
  private started = false;
  private closed = false;
  private refusedInJs = 0;
  private lastStats: LinuxTunStats | undefined;

  /** Use openLinuxTun(). */
  constructor(addon: NativeAddon, handle: NativeHandle, name: string, mtu: number, burst: number) {
    this.addon = addon;
    this.handle = handle;
    this.name = name;
    this.mtu = mtu;
    this.burst = burst;
  }

  start(onBatch: (batch: PacketBatch) => void): void {
    if (this.closed) throw new DeviceError(`TUN device ${this.name} is closed`);
    if (this.started) throw new DeviceError(`TUN device ${this.name} was already started`);
    this.started = true;
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

  write(buf: Buffer, off: number, len: number): boolean {
    if (this.closed) {
      this.refusedInJs++;
      return false;
    }
    if (!(len > 0 && len <= MAX_PACKET && off >= 0 && off + len <= buf.length) || !Number.isInteger(off) || !Number.isInteger(len)) {
      this.refusedInJs++;
      return false;
    }
    return this.addon.tunWrite(this.handle, buf, off, len);
  }

  flush(): void {
    // writes are synchronous
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.lastStats = this.readStats();
    this.closed = true;
    this.addon.devClose(this.handle);
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
  if (!Number.isInteger(burst) || burst < 1 || burst > 1024) throw new ConfigError(`TUN burst must be 1..1024, got ${burst}`);
  const addon = loadNative();
  let opened: [NativeHandle, string];
  try {
    opened = addon.tunOpen(opts.name);
  } catch (err) {
    throw nativeError(err);
  }
  return new LinuxTun(addon, opened[0], opened[1], opts.mtu, burst);
}
