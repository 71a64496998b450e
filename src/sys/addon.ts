// The one module that loads flannelette's native addon (build/Release/flannelette.node, built from
// native/*.c by `npm install` through node-gyp). Why hand-written C: no usable TUN package exists in
// the npm registry, and node:dgram has no recvmmsg/sendmmsg, so both the TUN device and the batched
// UDP socket live in our own small N-API addon (plain C, no node-addon-api).
//
// Exports the raw, typed addon (for tun/linux.ts, underlay/native.ts and sys/netns.ts only), a
// loader that throws DeviceError when the addon was not built, and the OS-error mapping shared by
// those wrappers. The addon is cached by the loader (loaded once per process, like any module).
//
// Throws: loadNative() → DeviceError when the addon cannot be loaded. The addon's functions throw
// plain Errors with an errno `code`; callers turn them into FlanErrors with nativeError().
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';
import { DeviceError, FlanError, PermissionError } from '../util/errors.js';

/** An opaque handle to an open native device (a napi external). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

export interface NativeStats {
  rxPackets: number;
  rxBursts: number;
  rxErrors: number;
  /** Datagrams larger than a receive slot, dropped. */
  rxTruncated: number;
  txPackets: number;
  /** Writes/sends dropped because the device queue or socket buffer was full (EAGAIN, ENOBUFS). */
  txDrops: number;
  /** Writes/sends that failed for another reason (device down, closed, unreachable). */
  txErrors: number;
  /** Writes/sends refused because of a bad length/offset/port. */
  txTooBig: number;
  /** Datagrams waiting in the UDP send queue. */
  txQueued: number;
  lastRxErrno: number;
  lastTxErrno: number;
  /** Reading stopped after a fatal error (the TUN interface was deleted). */
  rxStopped: boolean;
  closed: boolean;
  /** UDP sockets: how many sockets the source-port pool has (0: none). */
  sourcePorts?: number;
  /** UDP sockets: trains are sent with UDP_SEGMENT (GSO) now. */
  gso?: boolean;
  /** UDP sockets: the kernel knows UDP_SEGMENT. */
  gsoSupported?: boolean;
  /** UDP GSO messages sent, and the datagrams they carried. */
  txGsoSends?: number;
  txGsoSegments?: number;
  /** GSO trains the kernel refused (EIO/EINVAL) and that went out one datagram each. */
  gsoFallbacks?: number;
  /** UDP sockets: UDP_GRO is set (reads may hold several datagrams), and the kernel knows it. */
  gro?: boolean;
  groSupported?: boolean;
  /** UDP GRO reads dropped because their control message (the datagram size) was cut. */
  rxCtrunc?: number;
  /** Busy-poll window (native/busy_poll.c): windows opened, bursts found in them, empty ones, µs spent. */
  bpWindows?: number;
  bpHits?: number;
  bpEmpty?: number;
  bpSpinUs?: number;
}

/** A device backed by an addon handle (LinuxTun, NativeUdpUnderlay): what a busy-poll partner needs. */
export interface NativeDevice {
  readonly nativeHandle: NativeHandle;
}

export interface NativeAddon {
  /** want/returned bits: 1 vnet header + offloads, 2 IFF_NAPI; returned only: 4 TSO4+CSUM, 8 CSUM only. */
  tunOpen(name: string, want?: number): [NativeHandle, string, number?];
  tunStart(
    h: NativeHandle,
    slab: Buffer,
    lens: Int32Array,
    slotSize: number,
    headroom: number,
    burst: number,
    onBurst: (count: number) => void,
  ): void;
  tunWrite(h: NativeHandle, buf: Uint8Array, off: number, len: number): boolean;
  /** One writev of hdr[0, 10) (a virtio_net_hdr) and the packet: for devices opened with a vnet header. */
  tunWriteHdr(h: NativeHandle, hdr: Uint8Array, buf: Uint8Array, off: number, len: number): boolean;
  /**
   * Returns [handle, boundPort, poolPorts, gsoInUse, groOn, groSupported]; poolSize (default 0) send-only
   * sockets on ephemeral ports; gro (default false) sets UDP_GRO (then udpStart needs gsoSizes).
   */
  udpOpen(
    addr: number,
    port: number,
    bufBytes: number,
    sendSlots: number,
    slotSize: number,
    poolSize?: number,
    gso?: boolean,
    gro?: boolean,
  ): [NativeHandle, number, number[], boolean, boolean?, boolean?];
  udpStart(
    h: NativeHandle,
    slab: Buffer,
    lens: Int32Array,
    addrs: Uint32Array,
    ports: Uint16Array,
    slotSize: number,
    headroom: number,
    burst: number,
    onBurst: (count: number) => void,
    gsoSizes?: Uint16Array,
  ): void;
  /** srcPort 1..65535 sends from pool socket srcPort % poolSize (with a pool); 0/absent from the bound one. */
  udpSend(
    h: NativeHandle,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    srcPort?: number,
  ): boolean;
  udpFlush(h: NativeHandle): number;
  devClose(h: NativeHandle): void;
  devStats(h: NativeHandle): NativeStats;
  /** One non-blocking burst read now, delivered to onBurst synchronously; returns the packet count. */
  devPoll(h: NativeHandle): number;
  /**
   * The busy-poll window after traffic: for up to usec µs after the last packet, poll h and partner
   * (zero-timeout poll, yielding between checks) instead of sleeping; 0 switches it off (max 10000).
   */
  devBusyPoll(h: NativeHandle, partner: NativeHandle | null, usec: number): void;
  netnsEnter(path: string): number;
  netnsRestore(savedFd: number): void;
}

let cached: NativeAddon | undefined;
let loadError: DeviceError | undefined;

/** Loads the addon once. Throws DeviceError (with the cause) when it is missing or does not load. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  if (loadError) throw loadError;
  try {
    const path = join(packageRoot(), 'build', 'Release', 'flannelette.node');
    const require = createRequire(import.meta.url);
    cached = require(path) as NativeAddon;
    return cached;
  } catch (err) {
    loadError = new DeviceError(
      'the native addon build/Release/flannelette.node is missing or broken: run `npm install` (needs python3, make, g++)',
      { cause: err },
    );
    throw loadError;
  }
}

/** True when the addon loads (tests use this to skip native suites on machines without a build). */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

/** The errno code of an error thrown by the addon ('EPERM', 'EADDRINUSE', …), or undefined. */
export function nativeCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns an addon error into a PermissionError (EPERM/EACCES) or a DeviceError, keeping the cause. */
export function nativeError(err: unknown, message?: string): FlanError {
  if (err instanceof FlanError) return err;
  const text = message ?? (err instanceof Error ? err.message : String(err));
  const code = nativeCode(err);
  if (code === 'EPERM' || code === 'EACCES') return new PermissionError(text, { cause: err });
  return new DeviceError(text, { cause: err });
}
