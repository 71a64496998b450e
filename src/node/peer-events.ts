// Turns one membership event into what the node does about it: route commands for the data path,
// a kernel route change (one route per remote subnet into the TUN device) and a log line. Pure: no
// I/O, nothing throws. A peer the data path must not use (subnet outside the network, overlapping
// ours, no VTEP MAC for vxlan, no 32-byte public key for wireguard) is ignored with a reason;
// ignoring it removes nothing. Dual stack: a peer's IPv6 subnet goes with it when this node has one
// and the subnet lies in the IPv6 network without overlapping ours (else the peer is IPv4 only here);
// `kernel6` is its route into the TUN device (its removal is dual-stack.ts's, which remembers it).
import { formatIpv4, type Cidr, type Ipv4 } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
import { ipv6ToBytes, type Cidr6 } from '../addr/ipv6.js';
import type { MembershipEvent, PeerInfo } from '../control/membership.js';
import type { RouteCommand } from '../dataplane/peer.js';

/** What the node knows about itself when it judges a peer. */
export interface PeerEventContext {
  /** The whole overlay network. */
  network: Cidr;
  /** This node's own subnet. */
  subnet: Cidr;
  /** The UDP port every node listens on (flannel uses one port cluster-wide). */
  port: number;
  /** The backend needs each peer's VTEP MAC (vxlan). */
  needsVtepMac: boolean;
  /** The backend needs each peer's WireGuard public key (wireguard). */
  needsPublicKey: boolean;
  /** Dual stack: the IPv6 network and this node's IPv6 subnet. */
  network6?: Cidr6;
  subnet6?: Cidr6;
  /** This node carries inner IPv6 over an IPv6 underlay (ipv6-underlay.ts): peers with a PublicIPv6 get vtepMacV6. */
  ipv6Underlay?: boolean;
}

/** S: Cidr, or Cidr6 for a dual-stack peer's IPv6 subnet (never `via`: always into the TUN device). */
export interface KernelRouteChange<S = Cidr> {
  op: 'add' | 'remove';
  subnet: S;
  /** add: the peer's public IP (the gateway of a direct route: host-gw, vxlan DirectRouting). */
  via?: Ipv4;
}

export type PeerEventOutcome =
  | {
      kind: 'apply';
      commands: RouteCommand[];
      /** Absent for a peer-updated event: the route into the TUN device stays as it is. */
      kernel?: KernelRouteChange;
      /** Dual stack: the peer's IPv6 subnet routed into the TUN device (added or updated peers). */
      kernel6?: KernelRouteChange<Cidr6>;
      log: 'peer added' | 'peer updated' | 'peer removed';
      /** The peer (or the removed subnet) for the log line. */
      describe: string;
    }
  | { kind: 'ignored'; reason: string; describe: string };

export function peerEventToCommands(e: MembershipEvent, ctx: PeerEventContext): PeerEventOutcome {
  if (e.type === 'peer-removed') {
    return {
      kind: 'apply',
      commands: [{ type: 'remove-peer', subnet: e.subnet }],
      kernel: { op: 'remove', subnet: e.subnet },
      log: 'peer removed',
      describe: e.subnet.toString(),
    };
  }
  const peer = e.peer;
  const describe = describePeer(peer);
  const reason = unusableReason(peer, ctx);
  if (reason) return { kind: 'ignored', reason, describe };
  const name = peer.name ?? formatIpv4(peer.publicIp);
  const subnet6 = usableSubnet6(peer, ctx);
  const commands: RouteCommand[] = [
    {
      type: 'add-peer',
      peer: {
        name,
        subnet: peer.subnet,
        publicIp: peer.publicIp,
        port: ctx.port,
        vtepMac: peer.vtepMac,
        publicKey: peer.publicKey,
        ...(subnet6 ? { subnet6 } : {}),
        ...(peer.publicIpv6 !== undefined ? { publicIpv6Bytes: ipv6ToBytes(peer.publicIpv6) } : {}),
        ...(ctx.ipv6Underlay && ctx.needsVtepMac && peer.publicIpv6 !== undefined
          ? { vtepMacV6: peer.vtepMacV6 ?? peer.vtepMac }
          : {}),
      },
    },
  ];
  const kernel6: KernelRouteChange<Cidr6> | undefined = subnet6 ? { op: 'add', subnet: subnet6 } : undefined;
  if (e.type === 'peer-updated') return { kind: 'apply', commands, kernel6, log: 'peer updated', describe };
  const kernel: KernelRouteChange = { op: 'add', subnet: peer.subnet, via: peer.publicIp };
  return { kind: 'apply', commands, kernel, kernel6, log: 'peer added', describe };
}

function usableSubnet6(peer: PeerInfo, ctx: PeerEventContext): Cidr6 | undefined {
  const s = peer.subnet6;
  if (!s || !ctx.network6 || !ctx.subnet6) return undefined;
  if (!ctx.network6.covers(s) || s.overlaps(ctx.subnet6)) return undefined;
  return s;
}

function unusableReason(peer: PeerInfo, ctx: PeerEventContext): string | undefined {
  if (!ctx.network.covers(peer.subnet)) return `subnet ${peer.subnet} is outside the network ${ctx.network}`;
  if (peer.subnet.overlaps(ctx.subnet)) return `subnet ${peer.subnet} overlaps ours (${ctx.subnet})`;
  if (ctx.needsVtepMac && !peer.vtepMac) return 'no VTEP MAC (the vxlan backend needs one)';
  if (ctx.needsPublicKey && peer.publicKey?.length !== 32)
    return 'no 32-byte public key (the wireguard backend needs one)';
  return undefined;
}

export function describePeer(p: PeerInfo): string {
  return `${p.name ?? '?'} ${p.subnet} via ${formatIpv4(p.publicIp)}${p.vtepMac ? ` (${formatMac(p.vtepMac)})` : ''}`;
}
