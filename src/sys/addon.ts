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
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /** UDP sockets: the raw send socket (datagrams with a chosen source port) was opened. */
  rawSend: boolean;
  /** Why the raw send socket could not be opened (an errno; 0 when it was, or was not asked for). */
  rawErrno: number;
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
  /** Returns [handle, boundPort, rawSendOpened, rawErrno]; rawSend (default false) asks for the raw send socket. */
  udpOpen(
    addr: number,
    port: number,
    bufBytes: number,
    sendSlots: number,
    slotSize: number,
    rawSend?: boolean,
  ): [NativeHandle, number, boolean?, number?];
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
  ): void;
  /** srcPort 1..65535 sends through the raw socket from that port (when open); 0/absent from the bound one. */
  udpSend(h: NativeHandle, buf: Uint8Array, off: number, len: number, addr: number, port: number, srcPort?: number): boolean;
  udpFlush(h: NativeHandle): number;
  devClose(h: NativeHandle): void;
  devStats(h: NativeHandle): NativeStats;
  netnsEnter(path: string): number;
  netnsRestore(savedFd: number): void;
}

let cached: NativeAddon | undefined;
let loadError: DeviceError | undefined;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new DeviceError(`cannot find flannelette's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

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
