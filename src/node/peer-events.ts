// Turns one membership event into what the node does about it: route commands for the data path,
// a kernel route change (one route per remote subnet into the TUN device) and a log line. Pure: no
// I/O, nothing throws. A peer the data path must not use (subnet outside the network, overlapping
// ours, no VTEP MAC for vxlan, no 32-byte public key for wireguard) is ignored with a reason;
// ignoring it removes nothing.
import { formatIpv4, type Cidr, type Ipv4 } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
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
}

export interface KernelRouteChange {
  op: 'add' | 'remove';
  subnet: Cidr;
  /** add: the peer's public IP (the gateway of a direct route: host-gw, vxlan DirectRouting). */
  via?: Ipv4;
}

export type PeerEventOutcome =
  | {
      kind: 'apply';
      commands: RouteCommand[];
      /** Absent for a peer-updated event: the route into the TUN device stays as it is. */
      kernel?: KernelRouteChange;
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
      },
    },
  ];
  if (e.type === 'peer-updated') return { kind: 'apply', commands, log: 'peer updated', describe };
  const kernel: KernelRouteChange = { op: 'add', subnet: peer.subnet, via: peer.publicIp };
  return { kind: 'apply', commands, kernel, log: 'peer added', describe };
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
