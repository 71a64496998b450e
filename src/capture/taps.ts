// Capture taps: wrappers that implement TunDevice / Underlay, pass every call through unchanged and
// copy the packets to capture sinks on the way.
//  - tapTun: the `inner` point. Packets read from the device (leaving the node's pods) are captured
//    before the batch is handed on (the handler may overwrite them); packets given to write()
//    (towards the pods) are captured before the write, whether or not the device accepts them.
//    Records are raw IP packets (LINKTYPE_RAW).
//  - tapUnderlay: the `outer` point. Received datagrams are recorded with src = sender addr:port,
//    dst = local addr:port; sent ones with src = local, dst = peer, the UDP source port being the
//    srcPort given to send() when the wrapped underlay honours it (choosesSrcPort), else the bound
//    port — the port the datagram really leaves from. Each record is an Ethernet frame
//    rebuilt around the UDP payload: Ethernet (fake MACs 02:00:<IPv4 address>, ethertype IPv4),
//    IPv4 (real addresses, TTL 64, DF clear as the sockets send it, protocol 17, ident 0, correct
//    header checksum) and UDP (real ports — the per-flow source port when the underlay chooses it —
//    and length; checksum 0, which receivers accept: the real one is computed by the socket or the
//    native raw sender). LINKTYPE_ETHERNET.
//    A datagram that went over the IPv6 underlay (the wrapped underlay's `ipv6` says which) gets
//    Ethernet + IPv6 + UDP instead, with the real IPv6 addresses and UDP checksum (outer6.ts).
//    The filter sees the inner IP packet: payload + 8 (VXLAN) + 14 (inner Ethernet) for the vxlan
//    backend, the payload itself for the udp backend.
//
// With no sinks, or when every sink's filter rejects a packet, a tap allocates nothing; a captured
// packet costs one copy into each accepting sink's ring (and one timestamp per burst or send).
// addSink/removeSink may be called at any time (also from inside a batch handler); a sink of the
// wrong link type is refused with ConfigError. Taps never close sinks: whoever created a sink
// closes it. Buffer ownership is exactly that of the wrapped device/underlay.
import { writeIpv4 } from '../addr/ipv4.js';
import { backendFacts, innerPacketOffset, isBackendName, type BackendName } from '../backend/table.js';
import type { DatagramBatch, Ipv6Paths, Underlay } from '../underlay/underlay.js';
import type { TunDevice } from '../tun/device.js';
import type { PacketBatch } from '../util/buffers.js';
import { realClock, type Clock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import { ETH_HEADER_LEN, ETHERTYPE_IPV4, writeEthernetHeader } from '../wire/ethernet.js';
import { emitIpv4, IPPROTO_UDP, IPV4_MIN_HEADER, type Ipv4Repr } from '../wire/ipv4.js';
import { UDP_HEADER_LEN, writeUdpHeader } from '../wire/udp.js';
import { Outer6Headers } from './outer6.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcap.js';
import type { CaptureMeta, CaptureSink } from './sink.js';

/** Bytes the underlay tap puts in front of each payload: Ethernet + IPv4 + UDP. */
export const OUTER_HEADERS_LEN = ETH_HEADER_LEN + IPV4_MIN_HEADER + UDP_HEADER_LEN;

export interface SinkSet {
  readonly sinks: readonly CaptureSink[];
  addSink(sink: CaptureSink): void;
  /** Detaches a sink (does not close it). Unknown sinks are ignored. */
  removeSink(sink: CaptureSink): void;
}

export interface TappedTun extends TunDevice, SinkSet {}
export interface TappedUnderlay extends Underlay, SinkSet {}

export interface TapOptions {
  /** Source of capture timestamps (wallNs); default the real clock. */
  clock?: Clock;
}

export interface UnderlayTapOptions extends TapOptions {
  backend: BackendName;
}

type Sinks = CaptureSink | readonly CaptureSink[] | null | undefined;

class SinkList implements SinkSet {
  /** Replaced, never mutated, so a loop over it is never disturbed by add/remove. */
  sinks: readonly CaptureSink[] = [];
  constructor(
    private readonly linktype: number,
    private readonly what: string,
    initial: Sinks,
  ) {
    if (initial) for (const s of ([] as CaptureSink[]).concat(initial)) this.addSink(s);
  }
  addSink(sink: CaptureSink): void {
    if (sink.linktype !== this.linktype)
      throw new ConfigError(`a ${this.what} capture needs link type ${this.linktype}, the sink has ${sink.linktype}`);
    if (!this.sinks.includes(sink)) this.sinks = [...this.sinks, sink];
  }
  removeSink(sink: CaptureSink): void {
    if (this.sinks.includes(sink)) this.sinks = this.sinks.filter((s) => s !== sink);
  }
}

class TunTap implements TappedTun {
  private readonly list: SinkList;
  private readonly clock: Clock;

  constructor(
    private readonly tun: TunDevice,
    sinks: Sinks,
    opts: TapOptions,
  ) {
    this.list = new SinkList(LINKTYPE_RAW, 'TUN (inner)', sinks);
    this.clock = opts.clock ?? realClock;
  }

  get name(): string {
    return this.tun.name;
  }
  get mtu(): number {
    return this.tun.mtu;
  }
  get sinks(): readonly CaptureSink[] {
    return this.list.sinks;
  }
  addSink(sink: CaptureSink): void {
    this.list.addSink(sink);
  }
  removeSink(sink: CaptureSink): void {
    this.list.removeSink(sink);
  }

  start(onBatch: (batch: PacketBatch) => void): void {
    this.tun.start((batch) => {
      const sinks = this.list.sinks;
      if (sinks.length > 0) this.captureBatch(batch, sinks);
      onBatch(batch);
    });
  }

  private captureBatch(batch: PacketBatch, sinks: readonly CaptureSink[]): void {
    let ts = -1n;
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offs[i];
      const len = batch.lens[i];
      for (let s = 0; s < sinks.length; s++) {
        const sink = sinks[s];
        if (!sink.accepts(buf, off, len)) continue;
        if (ts < 0n) ts = this.clock.wallNs();
        sink.record(ts, buf, off, len, null);
      }
    }
  }

  write(buf: Buffer, off: number, len: number): boolean {
    const sinks = this.list.sinks;
    if (sinks.length > 0) {
      let ts = -1n;
      for (let s = 0; s < sinks.length; s++) {
        const sink = sinks[s];
        if (!sink.accepts(buf, off, len)) continue;
        if (ts < 0n) ts = this.clock.wallNs();
        sink.record(ts, buf, off, len, null);
      }
    }
    return this.tun.write(buf, off, len);
  }

  flush(): void {
    this.tun.flush();
  }

  pollNow(): void {
    this.tun.pollNow?.();
  }

  close(): Promise<void> {
    return this.tun.close();
  }
}

class UnderlayTap implements TappedUnderlay {
  private readonly list: SinkList;
  private readonly clock: Clock;
  private readonly innerOff: number;
  private readonly scratch = Buffer.alloc(OUTER_HEADERS_LEN);
  private readonly meta: CaptureMeta;
  private readonly outer6: Outer6Headers;
  private readonly srcMac = Buffer.from([2, 0, 0, 0, 0, 0]);
  private readonly dstMac = Buffer.from([2, 0, 0, 0, 0, 0]);
  private readonly ip: Ipv4Repr = {
    src: 0,
    dst: 0,
    protocol: IPPROTO_UDP,
    ttl: 64,
    tos: 0,
    ident: 0,
    dontFragment: false,
    moreFragments: false,
    fragOffset: 0,
    payloadLen: 0,
  };

  constructor(
    private readonly underlay: Underlay,
    sinks: Sinks,
    opts: UnderlayTapOptions,
  ) {
    const known = isBackendName(opts.backend);
    // An encrypted payload (wireguard) has no readable inner packet: -1 hands filters an empty one,
    // so only an unfiltered capture records its datagrams.
    const innerOff = known
      ? (innerPacketOffset(backendFacts(opts.backend)) ?? (backendFacts(opts.backend).encrypted ? -1 : null))
      : null;
    if (innerOff === null) throw new ConfigError(`unknown backend for an underlay capture: "${String(opts.backend)}"`);
    this.list = new SinkList(LINKTYPE_ETHERNET, 'underlay (outer)', sinks);
    this.clock = opts.clock ?? realClock;
    this.innerOff = innerOff;
    this.meta = { head: this.scratch, headLen: OUTER_HEADERS_LEN, innerOff: Math.max(0, this.innerOff) };
    this.outer6 = new Outer6Headers(Math.max(0, this.innerOff));
  }

  get localAddr(): number {
    return this.underlay.localAddr;
  }
  get localPort(): number {
    return this.underlay.localPort;
  }
  get choosesSrcPort(): boolean {
    return this.underlay.choosesSrcPort === true;
  }
  sourcePortFor(srcPort: number): number {
    return this.underlay.sourcePortFor?.(srcPort) ?? srcPort;
  }
  get ipv6(): Ipv6Paths | undefined {
    return this.underlay.ipv6;
  }
  get sinks(): readonly CaptureSink[] {
    return this.list.sinks;
  }
  addSink(sink: CaptureSink): void {
    this.list.addSink(sink);
  }
  removeSink(sink: CaptureSink): void {
    this.list.removeSink(sink);
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    this.underlay.start((batch) => {
      const sinks = this.list.sinks;
      if (sinks.length > 0) this.captureBatch(batch, sinks);
      onBatch(batch);
    });
  }

  private captureBatch(batch: DatagramBatch, sinks: readonly CaptureSink[]): void {
    const localAddr = this.underlay.localAddr;
    const localPort = this.underlay.localPort;
    const v6 = this.underlay.ipv6;
    const from6 = v6?.receivedPeer6(batch);
    let meta = this.meta;
    let ts = -1n;
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offs[i];
      const len = batch.lens[i];
      let built = false;
      for (let s = 0; s < sinks.length; s++) {
        const sink = sinks[s];
        const io = this.innerOff < 0 ? len : this.innerOff;
        if (!sink.accepts(buf, off + io, len - io)) continue;
        if (ts < 0n) ts = this.clock.wallNs();
        if (!built) {
          if (v6 && from6)
            meta = this.outer6.build(
              from6,
              batch.ports[i],
              batch.addrs[i],
              v6.local6,
              v6.localPort6,
              localAddr,
              buf,
              off,
              len,
            );
          else this.buildHeaders(batch.addrs[i], batch.ports[i], localAddr, localPort, len);
          built = true;
        }
        sink.record(ts, buf, off, len, meta);
      }
    }
  }

  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean {
    const sinks = this.list.sinks;
    if (sinks.length > 0) {
      let ts = -1n;
      let meta = this.meta;
      for (let s = 0; s < sinks.length; s++) {
        const sink = sinks[s];
        const io = this.innerOff < 0 ? len : this.innerOff;
        if (!sink.accepts(buf, off + io, len - io)) continue;
        if (ts < 0n) {
          ts = this.clock.wallNs();
          const u = this.underlay;
          const to6 = u.ipv6?.sendPeer6(buf, off, len, addr);
          if (to6) {
            const v6 = u.ipv6!;
            meta = this.outer6.build(
              v6.local6,
              v6.sourcePortFor6(srcPort),
              u.localAddr,
              to6,
              port,
              addr,
              buf,
              off,
              len,
            );
          } else {
            const sport = srcPort && u.choosesSrcPort === true ? (u.sourcePortFor?.(srcPort) ?? srcPort) : u.localPort;
            this.buildHeaders(u.localAddr, sport, addr, port, len);
          }
        }
        sink.record(ts, buf, off, len, meta);
      }
    }
    return this.underlay.send(buf, off, len, addr, port, srcPort);
  }

  /** Writes Ethernet + IPv4 + UDP headers for a `payloadLen`-byte datagram into the scratch buffer. */
  private buildHeaders(src: number, srcPort: number, dst: number, dstPort: number, payloadLen: number): void {
    const h = this.scratch;
    writeIpv4(this.srcMac, 2, src);
    writeIpv4(this.dstMac, 2, dst);
    writeEthernetHeader(h, 0, this.dstMac, this.srcMac, ETHERTYPE_IPV4);
    const ip = this.ip;
    ip.src = src;
    ip.dst = dst;
    ip.payloadLen = UDP_HEADER_LEN + payloadLen;
    emitIpv4(ip, h, ETH_HEADER_LEN);
    writeUdpHeader(h, ETH_HEADER_LEN + IPV4_MIN_HEADER, srcPort, dstPort, UDP_HEADER_LEN + payloadLen);
  }

  flush(): void {
    this.underlay.flush();
  }

  close(): Promise<void> {
    return this.underlay.close();
  }
}

/** Wraps a TUN device so that the packets it reads and writes are copied to `sinks` (LINKTYPE_RAW). */
export function tapTun(tun: TunDevice, sinks?: Sinks, opts: TapOptions = {}): TappedTun {
  return new TunTap(tun, sinks, opts);
}

/** Wraps an underlay so that datagrams sent and received are copied to `sinks` (LINKTYPE_ETHERNET). */
export function tapUnderlay(underlay: Underlay, sinks: Sinks, opts: UnderlayTapOptions): TappedUnderlay {
  return new UnderlayTap(underlay, sinks, opts);
}
