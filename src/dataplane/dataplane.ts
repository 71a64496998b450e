// The forwarding pipeline of one node: TUN → route lookup → encapsulate → underlay, and underlay →
// checks → decapsulate → TUN. It owns no OS resources: it is given a TunDevice, an Underlay, a
// backend and this node's identity, and runs the same over Linux devices or in-memory ones.
//
// Per-packet failures never throw: each is a named drop counter (dataplane/counters.ts), and where
// RFC 1122/1812 call for it an ICMP error goes back to the local sender through the TUN device.
// Route/peer changes arrive as RouteCommands and are applied between bursts. The hot path
// allocates nothing per packet: packets are encapsulated in place in the headroom the device left.
// For backends whose source port follows the flow (vxlan), each datagram is sent with the UDP
// source port flowSourcePort() computes from the inner packet; the udp backend sends from the bound
// port. Received datagrams are matched to peers by source address only, never by source port.
// What to do with each packet is decided by dataplane/decision.ts (which trace.ts runs too); this
// class carries the decisions out: counters, ICMP errors, sends and writes.
import type { Cidr } from '../addr/ipv4.js';
import { ipv6ToBytes, type Cidr6 } from '../addr/ipv6.js';
import type { TunDevice } from '../tun/device.js';
import { type PacketBatch, PACKET_HEADROOM } from '../util/buffers.js';
import type { Underlay, DatagramBatch } from '../underlay/underlay.js';
import { RouteTable } from '../route/table.js';
import { RouteTable6 } from '../route/table6.js';
import { buildIcmpError } from '../wire/icmp.js';
import { buildIcmpv6Error } from '../wire/icmpv6.js';
import { needsVtepMac } from '../backend/table.js';
import type { Backend } from './backends.js';
import { DataplaneCounters, Drop, newPeerCounters } from './counters.js';
import {
  applyForward,
  decideDeliver,
  decrementHop,
  decideForward,
  decideInner,
  DeliverDecision,
  ForwardDecision,
  NO_DROP,
  NO_ICMP,
  type DeliverPolicy,
  type ForwardPolicy,
} from './decision.js';
import type { Peer, PeerSpec, RouteCommand } from './peer.js';
import type { PacketTunnel } from './tunnel.js';

export interface LocalNode {
  name: string;
  subnet: Cidr;
  publicIp: number;
  port: number;
  vni: number;
  /** Our VTEP MAC (vxlan). */
  vtepMac: Buffer;
  /** vxlan over an IPv6 underlay: our IPv6 VTEP's own MAC (absent: vtepMac serves both). */
  vtepMacV6?: Buffer;
  /** MTU of the underlay link; the path MTU for inner packets is this minus the encapsulation. */
  underlayMtu: number;
  /** IPv6 underlay (dual-underlay.ts): its MTU; inner IPv6 to peers with a PublicIPv6 has 20 bytes less room. */
  underlayMtu6?: number;
  /** Dual stack: this node's IPv6 subnet (inner IPv6 to it is delivered; its network address sources ICMPv6). */
  subnet6?: Cidr6;
}

export interface DataplaneOptions {
  tun: TunDevice;
  underlay: Underlay;
  /** After writing a burst into the TUN device, read it once at once (TunDevice.pollNow; default true). */
  pollAfterWrite?: boolean;
  backend: Backend;
  local: LocalNode;
  /** Check that an inner source address lies in the sending peer's subnet (default true). */
  antiSpoof?: boolean;
  /** Decrement the inner TTL as a router hop does (default true). */
  decrementTtl?: boolean;
  now?: () => number;
  routeCapacity?: number;
  /** The sessions of an encrypted backend (wireguard): required for one, unused otherwise. */
  tunnel?: PacketTunnel;
  /** Counters to bump (default: new ones); the tunnel counts its drops into the same object. */
  counters?: DataplaneCounters;
}

/** An outer IPv6 header is 20 bytes longer than an outer IPv4 one. */
const IPV6_OUTER_EXTRA = 20;
const ICMP_SCRATCH_LEN = 1280 + 64; // an ICMPv6 error may be 1280 bytes (an ICMPv4 one 576)

export class Dataplane {
  readonly counters: DataplaneCounters;
  readonly routes: RouteTable<Peer>;
  /** Dual stack: the peers' IPv6 subnets (present when this node has an IPv6 subnet). */
  readonly routes6: RouteTable6<Peer> | undefined;
  private readonly icmp6Source: Uint8Array | undefined;
  private readonly peersByAddr = new Map<number, Peer>();
  private readonly pending: RouteCommand[] = [];
  private readonly icmpScratch = Buffer.alloc(ICMP_SCRATCH_LEN);
  private readonly tun: TunDevice;
  private readonly underlay: Underlay;
  readonly backend: Backend;
  readonly local: LocalNode;
  private readonly now: () => number;
  /** Largest inner packet that fits the underlay once encapsulated. */
  readonly pathMtu: number;
  /** What decideForward and decideDeliver need of this node (trace.ts reads them too). */
  readonly forwardPolicy: ForwardPolicy;
  readonly deliverPolicy: DeliverPolicy;
  private readonly fwd = new ForwardDecision();
  private readonly dlv = new DeliverDecision();
  private started = false;
  private readonly tunnel: PacketTunnel | undefined;
  private readonly pollAfterWrite: boolean;

  constructor(opts: DataplaneOptions) {
    this.tunnel = opts.tunnel;
    this.pollAfterWrite = opts.pollAfterWrite ?? true;
    this.counters = opts.counters ?? new DataplaneCounters();
    if (opts.backend.encrypted && !opts.tunnel) throw new Error(`the ${opts.backend.name} backend needs a tunnel`);
    this.tun = opts.tun;
    this.underlay = opts.underlay;
    this.backend = opts.backend;
    this.local = opts.local;
    this.now = opts.now ?? (() => performance.now());
    this.routes = new RouteTable<Peer>({ capacity: opts.routeCapacity });
    const subnet6 = opts.local.subnet6;
    this.routes6 = subnet6 ? new RouteTable6<Peer>({ capacity: opts.routeCapacity }) : undefined;
    this.icmp6Source = subnet6 ? ipv6ToBytes(subnet6.network) : undefined;
    this.pathMtu = opts.local.underlayMtu - opts.backend.overhead;
    this.forwardPolicy = {
      routes: this.routes,
      routes6: this.routes6,
      pathMtu: this.pathMtu,
      pathMtu6: opts.local.underlayMtu6 && opts.local.underlayMtu6 - opts.backend.overhead - IPV6_OUTER_EXTRA,
      decrementTtl: opts.decrementTtl ?? true,
      flowPorts: opts.backend.sourcePort === 'flow',
      localPort: opts.local.port,
      sourcePortFor: opts.underlay.sourcePortFor ? (p) => opts.underlay.sourcePortFor!(p) : undefined,
    };
    this.deliverPolicy = {
      peersByAddr: this.peersByAddr,
      backend: opts.backend,
      local: opts.local,
      antiSpoof: opts.antiSpoof ?? true,
    };
    if (PACKET_HEADROOM < opts.backend.headerLen) throw new Error('packet headroom too small for the backend');
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.tun.start((batch) => this.fromTun(batch));
    this.underlay.start((batch) => this.fromUnderlay(batch));
  }

  /** Queues a route change; it takes effect before the next burst is processed. */
  apply(cmd: RouteCommand): void {
    this.pending.push(cmd);
    if (this.pending.length === 1) queueMicrotask(() => this.applyPending());
  }

  peers(): Peer[] {
    return this.routes.entries().map(([, p]) => p);
  }

  peerByAddr(addr: number): Peer | undefined {
    return this.peersByAddr.get(addr);
  }

  applyPending(): void {
    while (this.pending.length > 0) {
      const cmd = this.pending.shift()!;
      if (cmd.type === 'add-peer') this.addPeer(cmd.peer);
      else this.removePeer(cmd.subnet);
    }
  }

  private addPeer(spec: PeerSpec): void {
    if (needsVtepMac(this.backend) && !spec.vtepMac) throw new Error(`peer ${spec.name} has no VTEP MAC`);
    const old = this.routes.get(spec.subnet);
    if (old && old.publicIp !== spec.publicIp) this.peersByAddr.delete(old.publicIp);
    const peer: Peer = { ...spec, counters: old?.counters ?? newPeerCounters() };
    if (old?.subnet6 && !(spec.subnet6 && old.subnet6.equals(spec.subnet6))) this.routes6?.remove(old.subnet6);
    if (spec.subnet6) this.routes6?.replace(spec.subnet6, peer);
    this.routes.replace(spec.subnet, peer);
    this.peersByAddr.set(spec.publicIp, peer);
    this.tunnel?.peerAdded(peer);
  }

  private removePeer(subnet: Cidr): void {
    const old = this.routes.get(subnet);
    if (!old) return;
    this.routes.remove(subnet);
    if (old.subnet6) this.routes6?.remove(old.subnet6);
    if (this.peersByAddr.get(old.publicIp) === old) this.peersByAddr.delete(old.publicIp);
    this.tunnel?.peerRemoved(old);
  }

  // ---- pod → overlay -------------------------------------------------------------------------

  private fromTun(batch: PacketBatch): void {
    if (this.pending.length > 0) this.applyPending();
    const { bufs, offs, lens } = batch;
    let wroteIcmp = false;
    for (let i = 0; i < batch.count; i++) {
      const r = this.forwardOne(bufs[i], offs[i], lens[i]);
      if (r) wroteIcmp = true;
    }
    this.underlay.flush();
    if (wroteIcmp) this.tun.flush();
  }

  /** Returns true when an ICMP error was written back to the TUN device. */
  private forwardOne(buf: Buffer, off: number, len: number): boolean {
    const d = this.fwd;
    decideForward(this.forwardPolicy, buf, off, len, d);
    if (d.drop !== NO_DROP) {
      this.counters.drop(d.drop);
      return d.icmpType !== NO_ICMP && this.icmpError(buf, off, d.len, d.icmpType, d.icmpCode, d.icmpRest);
    }
    len = d.len;
    if (this.tunnel) return this.sendSealed(buf, off, d);
    const start = applyForward(this.forwardPolicy, this.backend, this.local, buf, off, d);
    if (!this.underlay.send(buf, start, len + (off - start), d.dstAddr, d.dstPort, d.sendSrcPort)) {
      this.counters.drop(Drop['underlay-send-failed']);
      return false;
    }
    this.countTx(d.peer!, len);
    return false;
  }

  /** forwardOne for an encrypted backend: the tunnel seals the packet and says where it goes. */
  private sendSealed(buf: Buffer, off: number, d: ForwardDecision): boolean {
    const t = this.tunnel!;
    if (this.forwardPolicy.decrementTtl) decrementHop(buf, off);
    const n = t.seal(d.peer!, buf, off, d.len);
    if (n < 0) return false; // staged behind a handshake, or counted as a drop by the tunnel
    if (!this.underlay.send(buf, off - this.backend.headerLen, n, t.dstAddr, t.dstPort, 0)) {
      this.counters.drop(Drop['underlay-send-failed']);
      return false;
    }
    this.countTx(d.peer!, d.len);
    return false;
  }

  private countTx(peer: Peer, len: number): void {
    const c = this.counters;
    c.txPackets++;
    c.txBytes += len;
    const pc = peer.counters;
    pc.txPackets++;
    pc.txBytes += len;
    pc.lastTx = this.now();
  }

  /**
   * Sends an ICMP error about the packet at (buf, off, len) back to its sender through the TUN
   * device (decideForward has checked that one is allowed: RFC 1122 3.2.2).
   */
  private icmpError(buf: Buffer, off: number, len: number, type: number, code: number, rest: number): boolean {
    const out = this.icmpScratch;
    const n =
      buf[off] >>> 4 === 6
        ? buildIcmpv6Error(out, 0, type, code, rest, this.icmp6Source!, buf, off, len)
        : buildIcmpError(out, 0, type, code, rest, this.local.subnet.network, buf, off, len);
    if (n <= 0) return false;
    this.tun.write(out, 0, n);
    this.counters.icmpSent++;
    return true;
  }

  // ---- overlay → pod -------------------------------------------------------------------------

  private fromUnderlay(batch: DatagramBatch): void {
    if (this.pending.length > 0) this.applyPending();
    const { bufs, offs, lens, addrs, ports } = batch;
    for (let i = 0; i < batch.count; i++) this.deliverOne(bufs[i], offs[i], lens[i], addrs[i], ports[i]);
    this.tun.flush();
    // latency: a local pod's answer to what we just wrote is often queued already (the kernel
    // produced it inside our write); send it now instead of after another event-loop round
    if (this.pollAfterWrite) this.tun.pollNow?.();
  }

  private deliverOne(buf: Buffer, off: number, len: number, from: number, fromPort: number): void {
    const d = this.dlv;
    const t = this.tunnel;
    if (t) {
      // only what the tunnel authenticated goes on: the peer is the one whose keys opened it
      const inner = t.open(buf, off, len, from, fromPort);
      if (inner < 0) return;
      decideInner(this.deliverPolicy, t.openedPeer!, buf, inner, t.openedLen, d);
    } else decideDeliver(this.deliverPolicy, buf, off, len, from, d);
    if (d.drop !== NO_DROP) {
      this.counters.drop(d.drop);
      return;
    }
    const innerLen = d.len;
    if (!this.tun.write(buf, d.inner, innerLen)) {
      this.counters.drop(Drop['tun-write-failed']);
      return;
    }
    const c = this.counters;
    c.rxPackets++;
    c.rxBytes += innerLen;
    const pc = d.peer!.counters;
    pc.rxPackets++;
    pc.rxBytes += innerLen;
    pc.lastRx = this.now();
  }
}
