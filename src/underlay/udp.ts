// The portable underlay: one IPv4 UDP socket through node:dgram. Every received datagram becomes a
// batch of 1, copied into a reused slot at PACKET_HEADROOM (so the data path can write outer headers
// in front). Slower than underlay/native.ts (no recvmmsg/sendmmsg, a copy and an allocation per
// send) but needs no addon. Datagrams arriving before start() are dropped (counted).
//
// Throws: openUdpUnderlay → DeviceError (port in use, address not on this host, other bind
// failures), PermissionError (privileged port), ConfigError (bad options). send() never throws:
// false (counted) when closed, when the length/offset/port is bad, or when more than `maxInflight`
// sends are waiting in node:dgram; asynchronous send failures are counted in stats().sendErrors.
// node:dgram cannot choose a source port per datagram: send()'s srcPort is ignored and every
// datagram leaves from the bound port (choosesSrcPort = false).
// Buffer ownership: send() copies the bytes (node:dgram keeps its buffer until the send callback);
// a batch is valid until the handler returns.
import dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError, DeviceError, FlanError, PermissionError } from '../util/errors.js';
import { newDatagramBatch, type DatagramBatch, type Underlay } from './underlay.js';

export interface UdpUnderlayOptions {
  addr: number;
  /** 0 binds an ephemeral port (see localPort). */
  port: number;
  /** Socket receive buffer in bytes (default 4 MiB; the kernel caps it at net.core.rmem_max). */
  rcvbuf?: number;
  /** Socket send buffer in bytes (default 4 MiB; capped at net.core.wmem_max). */
  sndbuf?: number;
  /** Most sends waiting inside node:dgram before send() drops (default 4096). */
  maxInflight?: number;
}

export interface UdpUnderlayStats {
  received: number;
  /** Received before start(), or larger than the largest UDP payload: dropped. */
  receiveDrops: number;
  sent: number;
  /** send() returned false: too many sends in flight. */
  sendDrops: number;
  /** Sends that node:dgram reported as failed (asynchronously). */
  sendErrors: number;
  /** send() refused: closed, or bad length/offset/port. */
  refused: number;
}

const MAX_UDP_PAYLOAD = 65507;
const DEFAULT_BUF = 4 * 1024 * 1024;

/** Maps a bind failure (an errno `code`) to the error the rest of flannelette expects. */
export function bindError(err: unknown, addr: number, port: number): FlanError {
  const code = (err as { code?: unknown } | null)?.code;
  const a = formatIpv4(addr);
  if (code === 'EADDRINUSE') return new DeviceError(`UDP port ${port} on ${a} is already in use`, { cause: err });
  if (code === 'EADDRNOTAVAIL')
    return new DeviceError(`address ${a} is not on this host (or namespace)`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM')
    return new PermissionError(`binding UDP port ${port} on ${a} needs root or CAP_NET_BIND_SERVICE`, { cause: err });
  const text = err instanceof Error ? err.message : String(err);
  return new DeviceError(`cannot bind UDP ${a}:${port}: ${text}`, { cause: err });
}

/** Validates the address/port options shared by the UDP underlays. */
export function checkUdpOptions(addr: number, port: number): void {
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) throw new ConfigError(`bad IPv4 address ${addr}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`bad UDP port ${port}`);
}

export class UdpUnderlay implements Underlay {
  readonly localAddr: number;
  readonly localPort: number;
  readonly choosesSrcPort = false;
  private readonly socket: dgram.Socket;
  private readonly maxInflight: number;
  private readonly batch: DatagramBatch = newDatagramBatch(1);
  private slot = Buffer.alloc(SLOT_SIZE);
  private handler: ((batch: DatagramBatch) => void) | undefined;
  private inflight = 0;
  private closing: Promise<void> | undefined;
  private lastAddr = -1;
  private lastAddrText = '';
  private readonly counters: UdpUnderlayStats = {
    received: 0,
    receiveDrops: 0,
    sent: 0,
    sendDrops: 0,
    sendErrors: 0,
    refused: 0,
  };
  private readonly onSent = (err: Error | null): void => {
    this.inflight--;
    if (err) this.counters.sendErrors++;
    else this.counters.sent++;
  };

  /** Use openUdpUnderlay(). */
  constructor(socket: dgram.Socket, addr: number, port: number, maxInflight: number) {
    this.socket = socket;
    this.localAddr = addr;
    this.localPort = port;
    this.maxInflight = maxInflight;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // After bind, socket errors are per-datagram events: count them, never crash.
    socket.on('error', () => this.counters.sendErrors++);
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    if (this.closing) throw new DeviceError(`underlay ${formatIpv4(this.localAddr)}:${this.localPort} is closed`);
    if (this.handler)
      throw new DeviceError(`underlay ${formatIpv4(this.localAddr)}:${this.localPort} was already started`);
    this.handler = onBatch;
  }

  /** srcPort is ignored: node:dgram sends from the bound port. */
  send(buf: Buffer, off: number, len: number, addr: number, port: number, _srcPort?: number): boolean {
    if (
      this.closing ||
      !(len >= 0 && len <= MAX_UDP_PAYLOAD && off >= 0 && off + len <= buf.length) ||
      !Number.isInteger(off + len) ||
      !(port > 0 && port <= 65535)
    ) {
      this.counters.refused++;
      return false;
    }
    if (this.inflight >= this.maxInflight) {
      this.counters.sendDrops++;
      return false;
    }
    if (addr !== this.lastAddr) {
      this.lastAddr = addr;
      this.lastAddrText = formatIpv4(addr);
    }
    const copy = Buffer.allocUnsafe(len);
    buf.copy(copy, 0, off, off + len);
    this.inflight++;
    try {
      this.socket.send(copy, 0, len, port, this.lastAddrText, this.onSent);
    } catch {
      this.inflight--;
      this.counters.sendErrors++;
      return false;
    }
    return true;
  }

  flush(): void {
    // node:dgram sends each datagram itself
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.handler = undefined;
      this.closing = new Promise<void>((resolve) => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      });
    }
    return this.closing;
  }

  stats(): UdpUnderlayStats {
    return { ...this.counters };
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const handler = this.handler;
    if (!handler) {
      this.counters.receiveDrops++;
      return;
    }
    if (msg.length + PACKET_HEADROOM > this.slot.length) this.slot = Buffer.alloc(PACKET_HEADROOM + MAX_UDP_PAYLOAD);
    msg.copy(this.slot, PACKET_HEADROOM);
    const b = this.batch;
    b.bufs[0] = this.slot;
    b.offs[0] = PACKET_HEADROOM;
    b.lens[0] = msg.length;
    b.addrs[0] = parseIpv4(rinfo.address);
    b.ports[0] = rinfo.port;
    b.count = 1;
    this.counters.received++;
    handler(b);
  }
}

/** Binds a node:dgram UDP socket at opts.addr:opts.port. */
export async function openUdpUnderlay(opts: UdpUnderlayOptions): Promise<UdpUnderlay> {
  checkUdpOptions(opts.addr, opts.port);
  const maxInflight = opts.maxInflight ?? 4096;
  if (!Number.isInteger(maxInflight) || maxInflight < 1)
    throw new ConfigError(`maxInflight must be >= 1, got ${maxInflight}`);
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      try {
        socket.close();
      } catch {
        // never bound
      }
      reject(bindError(err, opts.addr, opts.port));
    };
    socket.once('error', onError);
    socket.bind({ address: formatIpv4(opts.addr), port: opts.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(opts.rcvbuf ?? DEFAULT_BUF);
    socket.setSendBufferSize(opts.sndbuf ?? DEFAULT_BUF);
  } catch {
    // the kernel refused the size: keep its default
  }
  return new UdpUnderlay(socket, opts.addr >>> 0, socket.address().port, maxInflight);
}
