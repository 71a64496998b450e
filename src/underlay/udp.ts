// The portable underlay: one IPv4 UDP socket through node:dgram. Every received datagram becomes a
// batch of 1, copied into a reused slot at PACKET_HEADROOM (so the data path can write outer headers
// in front). Slower than underlay/native.ts (no recvmmsg/sendmmsg, a copy and an allocation per
// send) but needs no addon. Datagrams arriving before start() are dropped (counted).
//
// The bind and the checked send are dgram-socket.ts's, shared with the IPv6 underlay (udp6.ts).
// Throws: openUdpUnderlay → DeviceError (port in use, address not on this host, other bind
// failures), PermissionError (privileged port), ConfigError (bad options). send() never throws:
// false (counted) when closed, when the length/offset/port is bad, or when more than `maxInflight`
// sends are waiting in node:dgram; asynchronous send failures are counted in stats().sendErrors.
// node:dgram cannot choose a source port per datagram: send()'s srcPort is ignored and every
// datagram leaves from the bound port (choosesSrcPort = false).
// Buffer ownership: send() copies the bytes (node:dgram keeps its buffer until the send callback);
// a batch is valid until the handler returns.
import type dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError, DeviceError, type FlanError } from '../util/errors.js';
import { bindDgram, dgramBindError, DgramSender, type DgramSendCounters } from './dgram-socket.js';
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

export interface UdpUnderlayStats extends DgramSendCounters {
  received: number;
  /** Received before start(), or larger than the largest UDP payload: dropped. */
  receiveDrops: number;
}

const MAX_UDP_PAYLOAD = 65507;
const DEFAULT_BUF = 4 * 1024 * 1024;

/** Maps a bind failure (an errno `code`) to the error the rest of flannelette expects. */
export function bindError(err: unknown, addr: number, port: number): FlanError {
  const a = formatIpv4(addr);
  return dgramBindError(err, a, a, port);
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
  private readonly batch: DatagramBatch = newDatagramBatch(1);
  private slot = Buffer.alloc(SLOT_SIZE);
  private handler: ((batch: DatagramBatch) => void) | undefined;
  private readonly sender: DgramSender;
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

  /** Use openUdpUnderlay(). */
  constructor(socket: dgram.Socket, addr: number, port: number, maxInflight: number) {
    this.socket = socket;
    this.localAddr = addr;
    this.localPort = port;
    this.sender = new DgramSender(this.counters, MAX_UDP_PAYLOAD, maxInflight);
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
    if (addr !== this.lastAddr) {
      this.lastAddr = addr;
      this.lastAddrText = formatIpv4(addr);
    }
    return this.sender.send(this.socket, this.closing !== undefined, buf, off, len, this.lastAddrText, port);
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
  const socket = await bindDgram('udp4', formatIpv4(opts.addr), opts.port, {
    rcv: opts.rcvbuf ?? DEFAULT_BUF,
    snd: opts.sndbuf ?? DEFAULT_BUF,
  });
  return new UdpUnderlay(socket, opts.addr >>> 0, socket.address().port, maxInflight);
}
