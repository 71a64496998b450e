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
// Source ports (see underlay.ts): with `rawSend` (default on) a second, send-only raw socket
// (SOCK_RAW/IPPROTO_UDP, bound to addr, never read: a BPF filter drops everything it would receive)
// carries the datagrams given a srcPort; the addon writes their UDP header and checksum. Opening it
// needs CAP_NET_RAW: without it (or when bound to 0.0.0.0) the underlay still opens, every datagram
// leaves from the bound port, and stats().rawSend is false (rawSendError says why).
// Buffer ownership: send() copies into the native queue; a batch is valid until the handler returns.
import { constants as osConstants } from 'node:os';
import { formatIpv4 } from '../addr/ipv4.js';
import { loadNative, type NativeAddon, type NativeHandle } from '../sys/addon.js';
import { PACKET_HEADROOM, SLOT_SIZE, pointAtSlots } from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { bindError, checkUdpOptions } from './udp.js';
import { newDatagramBatch, type DatagramBatch, type Underlay } from './underlay.js';

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
   * Open the raw send socket so that send() honours srcPort (default true). Without CAP_NET_RAW it
   * cannot be opened and the underlay falls back to its bound port (never an error).
   */
  rawSend?: boolean;
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
  /** Datagrams given a srcPort leave from it (the raw send socket is open); false: from localPort. */
  rawSend: boolean;
  /** Why the raw send socket could not be opened ('EPERM', …); '' when it was or was not asked for. */
  rawSendError: string;
}

function errnoName(errno: number): string {
  if (errno === 0) return '';
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

export class NativeUdpUnderlay implements Underlay {
  readonly localAddr: number;
  readonly localPort: number;
  /** True when the raw send socket is open: send() honours srcPort. */
  readonly choosesSrcPort: boolean;
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
  constructor(addon: NativeAddon, handle: NativeHandle, addr: number, port: number, burst: number, rawSend = false) {
    this.addon = addon;
    this.handle = handle;
    this.localAddr = addr;
    this.localPort = port;
    this.burst = burst;
    this.choosesSrcPort = rawSend;
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    const where = `${formatIpv4(this.localAddr)}:${this.localPort}`;
    if (this.closed) throw new DeviceError(`underlay ${where} is closed`);
    if (this.started) throw new DeviceError(`underlay ${where} was already started`);
    this.started = true;
    const slab = Buffer.alloc(this.burst * SLOT_SIZE);
    const batch = newDatagramBatch(this.burst);
    const onBurst = (count: number): void => {
      pointAtSlots(batch, slab, count, SLOT_SIZE, PACKET_HEADROOM);
      onBatch(batch);
    };
    try {
      this.addon.udpStart(this.handle, slab, batch.lens, batch.addrs, batch.ports, SLOT_SIZE, PACKET_HEADROOM, this.burst, onBurst);
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
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.addon.devClose(this.handle);
    this.finalStats = this.readStats();
  }

  stats(): NativeUdpStats {
    return this.finalStats ? { ...this.finalStats } : this.readStats();
  }

  private readStats(): NativeUdpStats {
    const n = this.addon.devStats(this.handle);
    return {
      received: n.rxPackets,
      bursts: n.rxBursts,
      receiveErrors: n.rxErrors,
      truncated: n.rxTruncated,
      sent: n.txPackets,
      sendDrops: n.txDrops,
      sendErrors: n.txErrors,
      refused: n.txTooBig,
      queued: n.txQueued,
      rawSend: n.rawSend === true,
      rawSendError: errnoName(n.rawErrno ?? 0),
    };
  }
}

/** Creates and binds the socket synchronously; throws DeviceError/PermissionError/ConfigError. */
export function createNativeUdpUnderlay(opts: NativeUdpUnderlayOptions): NativeUdpUnderlay {
  checkUdpOptions(opts.addr, opts.port);
  const burst = opts.burst ?? 64;
  const sendQueue = opts.sendQueue ?? 64;
  const bufBytes = opts.bufBytes ?? 4 * 1024 * 1024;
  if (!Number.isInteger(burst) || burst < 1 || burst > 1024) throw new ConfigError(`UDP burst must be 1..1024, got ${burst}`);
  if (!Number.isInteger(sendQueue) || sendQueue < 1 || sendQueue > 1024) throw new ConfigError(`UDP send queue must be 1..1024, got ${sendQueue}`);
  if (!Number.isInteger(bufBytes) || bufBytes < 0) throw new ConfigError(`UDP buffer size must be >= 0, got ${bufBytes}`);
  const addon = loadNative();
  let opened: [NativeHandle, number, boolean?, number?];
  try {
    opened = addon.udpOpen(opts.addr >>> 0, opts.port, bufBytes, sendQueue, SLOT_SIZE, opts.rawSend ?? true);
  } catch (err) {
    throw bindError(err, opts.addr, opts.port);
  }
  return new NativeUdpUnderlay(addon, opened[0], opts.addr >>> 0, opened[1], burst, opened[2] === true);
}

/** Binds a batched native UDP socket at opts.addr:opts.port (see createNativeUdpUnderlay). */
export async function openNativeUdpUnderlay(opts: NativeUdpUnderlayOptions): Promise<NativeUdpUnderlay> {
  return createNativeUdpUnderlay(opts);
}
