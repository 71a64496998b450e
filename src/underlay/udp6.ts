// The IPv6 underlay (flannel's `flannel-v6.1` VTEP: VXLAN, or the udp backend's raw packets, over
// UDP over IPv6): one node:dgram `udp6` socket bound to [addr]:port that receives, plus an optional
// pool of send-only udp6 sockets on ports the kernel picks from its local port range (32768..60999,
// where the kernel's VXLAN device takes its source ports from), so a datagram given a per-flow
// srcPort leaves from pool socket srcPort % N (sourcePortFor() says which port): one flow keeps one
// port, flows spread over N ports, as the kernel's VXLAN does. The kernel writes the outer IPv6 and
// UDP headers; the UDP checksum, mandatory over IPv6 (RFC 8200 8.1), is always computed by it, and
// the kernel drops received datagrams whose checksum is zero or wrong before they reach us.
// Addresses are text as node:dgram gives them (RFC 5952, the same text formatIpv6 writes). The bind
// and the checked send are dgram-socket.ts's, shared with the IPv4 underlay (udp.ts).
//
// Throws: openUdp6Underlay → DeviceError (port in use, address not on this host), PermissionError,
// ConfigError (bad options). send() never throws: false (counted) when closed, when the length,
// offset or port is bad, or when more than `maxInflight` sends wait in node:dgram.
// Buffer ownership: send() copies the bytes; the buffer passed to the handler is reused after it
// returns (the datagram sits at PACKET_HEADROOM so the data path can work in place).
import type dgram from 'node:dgram';
import { formatIpv6, type Ipv6 } from '../addr/ipv6.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { bindDgram, DgramSender, type DgramSendCounters } from './dgram-socket.js';

/** One received datagram: buf[off, off+len) from [from]:port; valid until the handler returns. */
export type Datagram6Handler = (buf: Buffer, off: number, len: number, from: string, port: number) => void;

export interface Udp6UnderlayOptions {
  /** The address to bind (this node's PublicIPv6, or :: for every address). */
  addr: Ipv6;
  /** 0 binds an ephemeral port (see localPort). */
  port: number;
  /** Send-only sockets for per-flow source ports (0..64, default 0: every datagram from localPort). */
  sourcePorts?: number;
  /** Socket buffers in bytes (default 4 MiB; the kernel caps them). */
  bufBytes?: number;
  /** Most sends waiting inside node:dgram before send() drops (default 4096). */
  maxInflight?: number;
}

export interface Udp6Stats extends DgramSendCounters {
  received: number;
  /** Received before start() or on a send-only pool socket: dropped. */
  receiveDrops: number;
  sourcePorts: number;
}

export const MAX_SOURCE_PORTS6 = 64;
const MAX_UDP6_PAYLOAD = 65527;
const DEFAULT_BUF = 4 * 1024 * 1024;

function bind6(addr: string, port: number, bufBytes: number): Promise<dgram.Socket> {
  return bindDgram('udp6', addr, port, { rcv: bufBytes, snd: bufBytes });
}

export class Udp6Underlay {
  readonly localAddr: Ipv6;
  readonly localText: string;
  readonly localPort: number;
  /** The pool sockets' ports (empty without a pool). */
  readonly poolPorts: readonly number[];
  private handler: Datagram6Handler | undefined;
  private slot = Buffer.alloc(SLOT_SIZE);
  private closing: Promise<void> | undefined;
  private readonly counters: Udp6Stats;
  private readonly sender: DgramSender;

  /** Use openUdp6Underlay(). */
  constructor(
    private readonly socket: dgram.Socket,
    private readonly pool: readonly dgram.Socket[],
    addr: Ipv6,
    maxInflight: number,
  ) {
    this.localAddr = addr;
    this.localText = formatIpv6(addr);
    this.localPort = socket.address().port;
    this.poolPorts = pool.map((s) => s.address().port);
    this.counters = {
      received: 0,
      receiveDrops: 0,
      sent: 0,
      sendDrops: 0,
      sendErrors: 0,
      refused: 0,
      sourcePorts: pool.length,
    };
    this.sender = new DgramSender(this.counters, MAX_UDP6_PAYLOAD, maxInflight);
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', () => this.counters.sendErrors++);
    for (const s of pool) {
      s.on('message', () => this.counters.receiveDrops++);
      s.on('error', () => this.counters.sendErrors++);
    }
  }

  get choosesSrcPort(): boolean {
    return this.pool.length > 0;
  }

  /** The port a datagram sent with srcPort leaves from (pool socket srcPort % size, else localPort). */
  sourcePortFor(srcPort: number): number {
    const n = this.pool.length;
    return n === 0 || !(srcPort > 0) ? this.localPort : this.poolPorts[srcPort % n];
  }

  start(onDatagram: Datagram6Handler): void {
    const where = `[${this.localText}]:${this.localPort}`;
    if (this.closing) throw new DeviceError(`underlay ${where} is closed`);
    if (this.handler) throw new DeviceError(`underlay ${where} was already started`);
    this.handler = onDatagram;
  }

  send(buf: Buffer, off: number, len: number, addr: string, port: number, srcPort?: number): boolean {
    const n = this.pool.length;
    const socket = n > 0 && srcPort !== undefined && srcPort > 0 ? this.pool[srcPort % n] : this.socket;
    return this.sender.send(socket, this.closing !== undefined, buf, off, len, addr, port);
  }

  flush(): void {
    // node:dgram sends each datagram itself
  }

  close(): Promise<void> {
    this.handler = undefined;
    this.closing ??= Promise.all(
      [this.socket, ...this.pool].map(
        (s) =>
          new Promise<void>((resolve) => {
            try {
              s.close(() => resolve());
            } catch {
              resolve(); // already closed
            }
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }

  stats(): Udp6Stats {
    return { ...this.counters };
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const handler = this.handler;
    if (!handler || msg.length > MAX_UDP6_PAYLOAD) {
      this.counters.receiveDrops++;
      return;
    }
    if (msg.length + PACKET_HEADROOM > this.slot.length) this.slot = Buffer.alloc(PACKET_HEADROOM + MAX_UDP6_PAYLOAD);
    msg.copy(this.slot, PACKET_HEADROOM);
    this.counters.received++;
    handler(this.slot, PACKET_HEADROOM, msg.length, rinfo.address, rinfo.port);
  }
}

/** Binds the receiving udp6 socket at [opts.addr]:opts.port and the send pool beside it. */
export async function openUdp6Underlay(opts: Udp6UnderlayOptions): Promise<Udp6Underlay> {
  if (typeof opts.addr !== 'bigint' || opts.addr < 0n || opts.addr >= 1n << 128n)
    throw new ConfigError(`bad IPv6 address ${String(opts.addr)}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    throw new ConfigError(`bad UDP port ${opts.port}`);
  const poolSize = opts.sourcePorts ?? 0;
  if (!Number.isInteger(poolSize) || poolSize < 0 || poolSize > MAX_SOURCE_PORTS6)
    throw new ConfigError(`IPv6 source-port pool size must be 0..${MAX_SOURCE_PORTS6}, got ${poolSize}`);
  const maxInflight = opts.maxInflight ?? 4096;
  if (!Number.isInteger(maxInflight) || maxInflight < 1)
    throw new ConfigError(`maxInflight must be >= 1, got ${maxInflight}`);
  const text = formatIpv6(opts.addr);
  const bufBytes = opts.bufBytes ?? DEFAULT_BUF;
  const socket = await bind6(text, opts.port, bufBytes);
  const pool: dgram.Socket[] = [];
  try {
    for (let i = 0; i < poolSize; i++) pool.push(await bind6(text, 0, bufBytes));
  } catch (err) {
    for (const s of [socket, ...pool]) s.close();
    throw err;
  }
  return new Udp6Underlay(socket, pool, opts.addr, maxInflight);
}
