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
import type { Cidr } from '../addr/ipv4.js';
import type { TunDevice, PacketBatch } from '../tun/device.js';
import type { Underlay, DatagramBatch } from '../underlay/underlay.js';
import { RouteTable } from '../route/table.js';
import { ipv4Check, ipv4Dst, ipv4Src, ipv4DecrementTtl, ipv4DontFragment, ipv4TotalLen, ipv4Ttl, ipv4Version } from '../wire/ipv4.js';
import {
  buildIcmpError,
  icmpErrorAllowed,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  ICMP_TIME_EXCEEDED_TTL,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_NET,
} from '../wire/icmp.js';
import { PACKET_HEADROOM } from '../util/buffers.js';
import { flowSourcePort } from '../wire/flow-hash.js';
import { needsVtepMac } from '../backend/table.js';
import type { Backend } from './backends.js';
import { DataplaneCounters, Drop, newPeerCounters } from './counters.js';
import type { Peer, PeerSpec, RouteCommand } from './peer.js';

export interface LocalNode {
  name: string;
  subnet: Cidr;
  publicIp: number;
  port: number;
  vni: number;
  /** Our VTEP MAC (vxlan). */
  vtepMac: Buffer;
  /** MTU of the underlay link; the path MTU for inner packets is this minus the encapsulation. */
  underlayMtu: number;
}

export interface DataplaneOptions {
  tun: TunDevice;
  underlay: Underlay;
  backend: Backend;
  local: LocalNode;
  /** Check that an inner source address lies in the sending peer's subnet (default true). */
  antiSpoof?: boolean;
  /** Decrement the inner TTL as a router hop does (default true). */
  decrementTtl?: boolean;
  now?: () => number;
  routeCapacity?: number;
}

const ICMP_SCRATCH_LEN = 576 + 64;

export class Dataplane {
  readonly counters = new DataplaneCounters();
  readonly routes: RouteTable<Peer>;
  private readonly peersByAddr = new Map<number, Peer>();
  private readonly pending: RouteCommand[] = [];
  private readonly icmpScratch = Buffer.alloc(ICMP_SCRATCH_LEN);
  private readonly tun: TunDevice;
  private readonly underlay: Underlay;
  readonly backend: Backend;
  readonly local: LocalNode;
  private readonly antiSpoof: boolean;
  private readonly decrementTtl: boolean;
  private readonly now: () => number;
  /** The backend's source port follows the inner flow (vxlan). */
  private readonly flowPorts: boolean;
  /** Largest inner packet that fits the underlay once encapsulated. */
  readonly pathMtu: number;
  private started = false;

  constructor(opts: DataplaneOptions) {
    this.tun = opts.tun;
    this.underlay = opts.underlay;
    this.backend = opts.backend;
    this.local = opts.local;
    this.antiSpoof = opts.antiSpoof ?? true;
    this.decrementTtl = opts.decrementTtl ?? true;
    this.now = opts.now ?? (() => performance.now());
    this.flowPorts = opts.backend.sourcePort === 'flow';
    this.routes = new RouteTable<Peer>({ capacity: opts.routeCapacity });
    this.pathMtu = opts.local.underlayMtu - opts.backend.overhead;
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
    this.routes.replace(spec.subnet, peer);
    this.peersByAddr.set(spec.publicIp, peer);
  }

  private removePeer(subnet: Cidr): void {
    const old = this.routes.get(subnet);
    if (!old) return;
    this.routes.remove(subnet);
    if (this.peersByAddr.get(old.publicIp) === old) this.peersByAddr.delete(old.publicIp);
  }

  // ---- pod → overlay -------------------------------------------------------------------------

  private fromTun(batch: PacketBatch): void {
    if (this.pending.length > 0) this.applyPending();
    const { bufs, offs, lens } = batch;
    let wroteIcmp = false;
    for (let i = 0; i < batch.count; i++) {
      const r = this.forwardOne(bufs[i]!, offs[i]!, lens[i]!);
      if (r) wroteIcmp = true;
    }
    this.underlay.flush();
    if (wroteIcmp) this.tun.flush();
  }

  /** Returns true when an ICMP error was written back to the TUN device. */
  private forwardOne(buf: Buffer, off: number, len: number): boolean {
    const c = this.counters;
    if (len < 1 || ipv4Version(buf, off) !== 4) {
      c.drop(len >= 1 && ipv4Version(buf, off) === 6 ? Drop['tun-not-ipv4'] : Drop['tun-malformed']);
      return false;
    }
    if (ipv4Check(buf, off, len) !== 0) {
      c.drop(Drop['tun-malformed']);
      return false;
    }
    len = ipv4TotalLen(buf, off);
    const peer = this.routes.lookup(ipv4Dst(buf, off));
    if (peer === undefined) {
      c.drop(Drop['no-route']);
      return this.icmpError(buf, off, len, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET, 0);
    }
    if (this.decrementTtl) {
      if (ipv4Ttl(buf, off) <= 1) {
        c.drop(Drop['ttl-expired']);
        return this.icmpError(buf, off, len, ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_TTL, 0);
      }
      ipv4DecrementTtl(buf, off);
    }
    if (len > this.pathMtu) {
      c.drop(Drop['too-big']);
      if (ipv4DontFragment(buf, off)) return this.icmpError(buf, off, len, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED, this.pathMtu);
      return false;
    }
    const srcPort = this.flowPorts ? flowSourcePort(buf, off, len) : 0;
    const start = this.backend.encapsulate(buf, off, peer, this.local);
    const total = len + (off - start);
    if (!this.underlay.send(buf, start, total, peer.publicIp, peer.port, srcPort)) {
      c.drop(Drop['underlay-send-failed']);
      return false;
    }
    c.txPackets++;
    c.txBytes += len;
    const pc = peer.counters;
    pc.txPackets++;
    pc.txBytes += len;
    pc.lastTx = this.now();
    return false;
  }

  /**
   * Sends an ICMP error about the packet at (buf, off, len) back to its sender through the TUN
   * device — never about an ICMP error, a non-first fragment or a broadcast (RFC 1122 3.2.2).
   */
  private icmpError(buf: Buffer, off: number, len: number, type: number, code: number, rest: number): boolean {
    if (!icmpErrorAllowed(buf, off, len)) return false;
    const out = this.icmpScratch;
    const n = buildIcmpError(out, 0, type, code, rest, this.local.subnet.network, buf, off, len);
    if (n <= 0) return false;
    this.tun.write(out, 0, n);
    this.counters.icmpSent++;
    return true;
  }

  // ---- overlay → pod -------------------------------------------------------------------------

  private fromUnderlay(batch: DatagramBatch): void {
    if (this.pending.length > 0) this.applyPending();
    const { bufs, offs, lens, addrs } = batch;
    for (let i = 0; i < batch.count; i++) this.deliverOne(bufs[i]!, offs[i]!, lens[i]!, addrs[i]!);
    this.tun.flush();
  }

  private deliverOne(buf: Buffer, off: number, len: number, from: number): void {
    const c = this.counters;
    const peer = this.peersByAddr.get(from);
    if (peer === undefined) {
      c.drop(Drop['unknown-peer']);
      return;
    }
    const inner = this.backend.decapsulate(buf, off, len, this.local);
    if (inner < 0) {
      c.drop(-inner - 1);
      return;
    }
    const available = len - (inner - off);
    if (ipv4Version(buf, inner) !== 4) {
      c.drop(Drop['not-ipv4-inner']);
      return;
    }
    if (ipv4Check(buf, inner, available) !== 0) {
      c.drop(Drop['inner-malformed']);
      return;
    }
    const innerLen = ipv4TotalLen(buf, inner);
    // A peer may send from its pods' subnet, or from its own public IP (a node answering a pod
    // that reached it over the underlay: the reply is routed back through the overlay).
    const src = ipv4Src(buf, inner);
    if (this.antiSpoof && !peer.subnet.contains(src) && src !== peer.publicIp) {
      c.drop(Drop['spoofed-source']);
      return;
    }
    if (!this.local.subnet.contains(ipv4Dst(buf, inner))) {
      c.drop(Drop['not-local-destination']);
      return;
    }
    if (!this.tun.write(buf, inner, innerLen)) {
      c.drop(Drop['tun-write-failed']);
      return;
    }
    c.rxPackets++;
    c.rxBytes += innerLen;
    const pc = peer.counters;
    pc.rxPackets++;
    pc.rxBytes += innerLen;
    pc.lastRx = this.now();
  }
}
