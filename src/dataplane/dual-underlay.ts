// The IPv6 underlay beside the IPv4 one, as flannel runs `flannel-v6.1` beside `flannel.1`: when this
// node has a PublicIPv6, an inner IPv6 packet for a peer that has a PublicIPv6 goes out over the
// IPv6 socket to [peer PublicIPv6]:port (vxlan: with the peer's IPv6 VTEP MAC, BackendV6Data's
// VtepMAC, as the inner destination); everything else (inner IPv4, peers without PublicIPv6) keeps
// the IPv4 underlay. Datagrams received on the IPv6 socket are matched to a peer by their source
// address only and handed to the data path as if from that peer's PublicIP, so the data path's
// checks (VXLAN flags, VNI, inner MAC, anti-spoofing, destination) run unchanged; a source that is
// no peer's PublicIPv6 is counted as `unknown-peer` and dropped.
//
// DualStackUnderlay implements Underlay, wrapping the IPv4 one (its address, port and source-port
// policy are the IPv4 socket's). Peers are told with setPeer/removePeer by the node (keyed by the
// IPv4 subnet, as membership events are). Nothing throws per packet; send() may rewrite the inner
// destination MAC in the caller's buffer (the vxlan frame it is sending).
import { formatIpv6, type Ipv6 } from '../addr/ipv6.js';
import type { Mac } from '../addr/mac.js';
import type { Datagram6Handler } from '../underlay/udp6.js';
import type { DatagramBatch, Underlay } from '../underlay/underlay.js';
import { VXLAN_HEADER_LEN } from '../wire/vxlan.js';
import type { Backend } from './backends.js';
import { Drop, type DataplaneCounters } from './counters.js';

/** What this module needs of the IPv6 socket (underlay/udp6.ts's Udp6Underlay). */
export interface Ipv6Socket {
  readonly localText: string;
  readonly localPort: number;
  start(onDatagram: Datagram6Handler): void;
  send(buf: Buffer, off: number, len: number, addr: string, port: number, srcPort?: number): boolean;
  flush(): void;
  close(): Promise<void>;
}

interface Peer6 {
  v4: number;
  v6: string;
  mac6: Mac | undefined;
}

export class DualStackUnderlay implements Underlay {
  readonly localAddr: number;
  readonly localPort: number;
  readonly choosesSrcPort: boolean | undefined;
  readonly sourcePortFor: ((srcPort: number) => number) | undefined;
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
  private readonly vxlan: boolean;

  constructor(
    private readonly v4: Underlay,
    private readonly v6: Ipv6Socket,
    backend: Backend,
    private readonly counters: DataplaneCounters,
  ) {
    this.localAddr = v4.localAddr;
    this.localPort = v4.localPort;
    this.choosesSrcPort = v4.choosesSrcPort;
    this.sourcePortFor = v4.sourcePortFor ? (p) => v4.sourcePortFor!(p) : undefined;
    this.innerAt = backend.headerLen;
    this.vxlan = backend.name === 'vxlan';
  }

  /** The peer with IPv4 subnet `subnetKey` is reached at v6 for inner IPv6 (undefined: IPv4 only). */
  setPeer(subnetKey: string, v4: number, v6: Ipv6 | undefined, mac6?: Mac): void {
    this.removePeer(subnetKey);
    if (v6 === undefined) return;
    const p: Peer6 = { v4: v4 >>> 0, v6: formatIpv6(v6), mac6: mac6 ? Buffer.from(mac6) : undefined };
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
    const inner = off + this.innerAt;
    if (this.byV4.size > 0 && len > this.innerAt && buf[inner] >>> 4 === 6) {
      const peer = this.byV4.get(addr);
      if (peer !== undefined) {
        if (this.vxlan && peer.mac6 !== undefined) peer.mac6.copy(buf, off + VXLAN_HEADER_LEN);
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
