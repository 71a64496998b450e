// The IPv6 underlay beside the IPv4 one, as flannel runs `flannel-v6.1` beside `flannel.1`: when this
// node has a PublicIPv6, an inner IPv6 packet for a peer that has a PublicIPv6 goes out over the
// IPv6 socket to [peer PublicIPv6]:port (vxlan: the data path has already put the peer's IPv6 VTEP
// MAC, BackendV6Data's VtepMAC, in the inner frame: PeerSpec.vtepMacV6); everything else (inner IPv4, peers without PublicIPv6) keeps
// the IPv4 underlay. Datagrams received on the IPv6 socket are matched to a peer by their source
// address only and handed to the data path as if from that peer's PublicIP, so the data path's
// checks (VXLAN flags, VNI, inner MAC, anti-spoofing, destination) run unchanged; a source that is
// no peer's PublicIPv6 is counted as `unknown-peer` and dropped.
//
// DualStackUnderlay implements Underlay, wrapping the IPv4 one (its address, port and source-port
// policy are the IPv4 socket's). It sits directly on the sockets, under the impairments and capture
// taps, which therefore act on both families: impairments are per peer (keyed by its PublicIP, as
// every datagram here is), and taps read `ipv6` (underlay.ts Ipv6Paths) to write the real outer
// IPv6 header. Peers are told with setPeer/removePeer by the node (keyed by the IPv4 subnet, as
// membership events are). Nothing throws per packet; the caller's buffer is never modified.
import { formatIpv6, ipv6ToBytes, parseIpv6, type Ipv6 } from '../addr/ipv6.js';
import type { Datagram6Handler } from '../underlay/udp6.js';
import type { DatagramBatch, Ipv6Paths, Underlay } from '../underlay/underlay.js';
import type { Backend } from './backends.js';
import { Drop, type DataplaneCounters } from './counters.js';

/** What this module needs of the IPv6 socket (underlay/udp6.ts's Udp6Underlay). */
export interface Ipv6Socket {
  readonly localText: string;
  readonly localPort: number;
  sourcePortFor(srcPort: number): number;
  start(onDatagram: Datagram6Handler): void;
  send(buf: Buffer, off: number, len: number, addr: string, port: number, srcPort?: number): boolean;
  flush(): void;
  close(): Promise<void>;
}

interface Peer6 {
  v4: number;
  v6: string;
  v6Bytes: Uint8Array;
}

export class DualStackUnderlay implements Underlay, Ipv6Paths {
  readonly localAddr: number;
  readonly localPort: number;
  readonly choosesSrcPort: boolean | undefined;
  readonly sourcePortFor: ((srcPort: number) => number) | undefined;
  readonly ipv6: Ipv6Paths = this;
  readonly local6: Uint8Array;
  readonly localPort6: number;
  /** Datagrams sent and received over the IPv6 socket. */
  sent6 = 0;
  received6 = 0;
  private readonly bySubnet = new Map<string, Peer6>();
  private readonly byV4 = new Map<number, Peer6>();
  private readonly byV6 = new Map<string, Peer6>();
  private readonly batch: DatagramBatch = {
    count: 0,
    bufs: new Array<Buffer>(1),
    offs: new Int32Array(1),
    lens: new Int32Array(1),
    addrs: new Uint32Array(1),
    ports: new Uint16Array(1),
  };
  private readonly innerAt: number;
  /** The sender of the datagram in `batch` (received over IPv6). */
  private from6: Uint8Array = new Uint8Array(16);

  /** publicIpv6: what `local6` reports when the socket is bound to :: (behind NAT). */
  constructor(
    private readonly v4: Underlay,
    private readonly v6: Ipv6Socket,
    backend: Backend,
    private readonly counters: DataplaneCounters,
    publicIpv6?: Ipv6,
  ) {
    this.localAddr = v4.localAddr;
    this.localPort = v4.localPort;
    this.choosesSrcPort = v4.choosesSrcPort;
    this.sourcePortFor = v4.sourcePortFor ? (p) => v4.sourcePortFor!(p) : undefined;
    this.innerAt = backend.headerLen;
    const bound = parseIpv6(v6.localText);
    this.local6 = ipv6ToBytes(bound === 0n && publicIpv6 !== undefined ? publicIpv6 : bound);
    this.localPort6 = v6.localPort;
  }

  sourcePortFor6(srcPort: number | undefined): number {
    return srcPort ? this.v6.sourcePortFor(srcPort) : this.v6.localPort;
  }

  sendPeer6(buf: Buffer, off: number, len: number, addr: number): Uint8Array | undefined {
    return this.byV4.size > 0 && len > this.innerAt && buf[off + this.innerAt] >>> 4 === 6
      ? this.byV4.get(addr)?.v6Bytes
      : undefined;
  }

  receivedPeer6(batch: DatagramBatch): Uint8Array | undefined {
    return batch === this.batch ? this.from6 : undefined;
  }

  /** The peer with IPv4 subnet `subnetKey` is reached at v6 for inner IPv6 (undefined: IPv4 only). */
  setPeer(subnetKey: string, v4: number, v6: Ipv6 | undefined): void {
    this.removePeer(subnetKey);
    if (v6 === undefined) return;
    const p: Peer6 = { v4: v4 >>> 0, v6: formatIpv6(v6), v6Bytes: ipv6ToBytes(v6) };
    this.bySubnet.set(subnetKey, p);
    this.byV4.set(p.v4, p);
    this.byV6.set(p.v6, p);
  }

  removePeer(subnetKey: string): void {
    const old = this.bySubnet.get(subnetKey);
    if (!old) return;
    this.bySubnet.delete(subnetKey);
    if (this.byV4.get(old.v4) === old) this.byV4.delete(old.v4);
    if (this.byV6.get(old.v6) === old) this.byV6.delete(old.v6);
  }

  /** The IPv6 address inner IPv6 to this peer's PublicIP goes to (undefined: the IPv4 underlay). */
  ipv6Of(v4: number): string | undefined {
    return this.byV4.get(v4 >>> 0)?.v6;
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    this.v4.start(onBatch);
    const b = this.batch;
    this.v6.start((buf, off, len, from, port) => {
      const peer = this.byV6.get(from);
      if (peer === undefined) {
        this.counters.drop(Drop['unknown-peer']);
        return;
      }
      this.received6++;
      this.from6 = peer.v6Bytes;
      b.bufs[0] = buf;
      b.offs[0] = off;
      b.lens[0] = len;
      b.addrs[0] = peer.v4;
      b.ports[0] = port;
      b.count = 1;
      onBatch(b);
    });
  }

  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean {
    if (this.byV4.size > 0 && len > this.innerAt && buf[off + this.innerAt] >>> 4 === 6) {
      const peer = this.byV4.get(addr);
      if (peer !== undefined) {
        const ok = this.v6.send(buf, off, len, peer.v6, port, srcPort);
        if (ok) this.sent6++;
        return ok;
      }
    }
    return this.v4.send(buf, off, len, addr, port, srcPort);
  }

  flush(): void {
    this.v4.flush();
    this.v6.flush();
  }

  async close(): Promise<void> {
    await Promise.all([this.v4.close(), this.v6.close()]);
  }
}
