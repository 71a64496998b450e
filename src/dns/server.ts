// The cluster DNS server's sockets: UDP and TCP on one address and port (53 in the lab), each message
// answered by respond.ts. TCP carries several length-prefixed messages per connection (RFC 1035
// 4.2.2, RFC 7766), at most 64 KiB buffered per connection and an idle timeout; a connection that sends
// a length it cannot hold is closed. start() rejects with DeviceError when a socket cannot be bound;
// stop() closes everything. Per-message failures are counted (DnsCounters), never thrown.
import dgram from 'node:dgram';
import net from 'node:net';
import { DeviceError } from '../util/errors.js';
import type { ClusterRecords } from './records.js';
import { newCounters, respond, type DnsCounters } from './respond.js';

export interface DnsServerOptions {
  host: string;
  port: number;
  /** Idle TCP connections are closed after this long (ms). Default 10 s. */
  tcpIdleMs?: number;
  /** At most this many TCP connections at once. Default 256. */
  maxTcpConnections?: number;
}

export class DnsServer {
  readonly counters: DnsCounters = newCounters();
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly conns = new Set<net.Socket>();

  constructor(
    private readonly records: ClusterRecords,
    private readonly opts: DnsServerOptions,
  ) {}

  /** Binds both sockets; resolves with the port (the chosen one when `port` is 0: the UDP port, TCP on the same). */
  async start(): Promise<number> {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      const out = respond(msg, 'udp', this.records, this.counters);
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    udp.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (err) =>
        reject(new DeviceError(`dns: udp ${this.opts.host}:${this.opts.port}: ${err.message}`)),
      );
      udp.bind(this.opts.port, this.opts.host, () => resolve());
    });
    const port = udp.address().port;
    const tcp = net.createServer((s) => this.onConnection(s));
    this.tcp = tcp;
    tcp.maxConnections = this.opts.maxTcpConnections ?? 256;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', (err) => reject(new DeviceError(`dns: tcp ${this.opts.host}:${port}: ${err.message}`)));
      tcp.listen(port, this.opts.host, () => resolve());
    });
    return port;
  }

  private onConnection(s: net.Socket): void {
    this.conns.add(s);
    s.setTimeout(this.opts.tcpIdleMs ?? 10_000, () => s.destroy());
    s.on('close', () => this.conns.delete(s));
    s.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const out = respond(msg, 'tcp', this.records, this.counters);
        if (!out) continue;
        const framed = Buffer.alloc(2 + out.length);
        framed.writeUInt16BE(out.length, 0);
        out.copy(framed, 2);
        s.write(framed);
      }
      if (buf.length > 65_537) s.destroy();
    });
  }

  async stop(): Promise<void> {
    for (const s of this.conns) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }
}
