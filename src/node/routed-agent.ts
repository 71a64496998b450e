// A node of a routed backend (flannel's host-gw): no TUN device, no UDP socket, no data path. The
// kernel forwards the pods' packets; this agent only keeps the kernel's routes to the other nodes'
// subnets via their public IPs on the uplink (the interface holding the public IP; direct-routes.ts),
// in membership event order, writes subnet.env (MTU: the uplink's, as flannel's host-gw) and serves
// the control socket (ping, status, routes, stats). A peer the kernel will not route to directly
// (not on our L2 segment) is refused with flannel's log line and counted (`status.routing`).
//
// startRoutedNode throws ConfigError (no interface holds the public IP: flannel's NAT message) or
// DeviceError after undoing what it set up; stop() removes every route it added and is idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { formatIpv4 } from '../addr/ipv4.js';
import type { LocalLease, Membership, MembershipEvent } from '../control/membership.js';
import { writeSubnetEnv } from '../control/subnet-env.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { startRpcServer, type RpcHandler } from '../util/rpc.js';
import { DirectRouteTable, uplinkOf, type Uplink } from './direct-routes.js';
import type { StartedMembership } from './membership-start.js';
import { describePeer } from './peer-events.js';
import { UndoStack } from './undo.js';
import { installLeaseMasq } from './ip-masq-lease.js';
import { formatIpv6 } from '../addr/ipv6.js';
import { enableIpv6Forwarding } from './dual-stack.js';
import { DirectRouteTable6, Ipv6DirectPeers, uplinkOf6 } from './direct-routes6.js';

export interface RoutedNodeOptions {
  name: string;
  stateDir: string;
  subnetFile?: string;
  /** flanneld's --ip-masq (ip-masq.ts); also FLANNEL_IPMASQ in subnet.env. */
  ipMasq?: { fullyRandomDisable?: boolean };
  logger: Logger;
}

export interface RoutedNode {
  readonly name: string;
  readonly lease: LocalLease;
  readonly membership: Membership;
  readonly uplink: Uplink;
  readonly mtu: number;
  readonly routes: DirectRouteTable;
  /** Dual stack with a PublicIPv6: the peers' IPv6 subnets via their PublicIPv6. */
  readonly routes6?: DirectRouteTable6;
  readonly socketPath: string;
  /** Unix ms. */
  readonly startedAt: number;
  /** Resolves when every route change asked for so far has been tried. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** `status.routing`: what the routed agent did with its peers. */
export interface RoutingStatus {
  mode: 'host-gw';
  uplink: string;
  direct: number;
  refused: number;
  refusedPeers: Array<{ subnet: string; via: string; reason: string }>;
  /** Dual stack: the IPv6 routes via the peers' PublicIPv6 (present when this node routes IPv6). */
  direct6?: number;
  refused6?: number;
}

export async function startRoutedNode(opts: RoutedNodeOptions, started: StartedMembership): Promise<RoutedNode> {
  const log = opts.logger;
  const undo = new UndoStack();
  undo.push(() => started.membership.stop());
  try {
    const lease = started.lease;
    if (!lease.network.covers(lease.subnet))
      throw new ConfigError(`subnet ${lease.subnet} is outside the network ${lease.network}`);
    const uplink = await uplinkOf(lease.publicIp);
    if (!uplink) {
      throw new ConfigError(
        `no interface holds the public IP ${formatIpv4(lease.publicIp)}: your PublicIP differs from interface IP, ` +
          "meaning that probably you're on a NAT, which is not supported by host-gw backend",
      );
    }
    const routes = new DirectRouteTable(uplink.name, log);
    undo.push(() => routes.clear());
    const v6 = await hostGw6(lease, log);
    if (v6) undo.push(() => v6.routes.clear());
    let chain: Promise<unknown> = Promise.resolve();
    const queue = (step: () => Promise<unknown>): void => {
      chain = chain.then(step, step);
    };
    let listening = true;
    started.listen((e: MembershipEvent) => {
      if (!listening) return;
      for (const c of v6?.peers.changes(e) ?? [])
        queue(() => (c.op === 'add' ? v6!.routes.add(c.subnet, c.via) : v6!.routes.remove(c.subnet)));
      if (e.type === 'peer-removed') {
        log.info({ subnet: e.subnet.toString() }, 'Subnet removed');
        queue(() => routes.remove(e.subnet));
        return;
      }
      const peer = e.peer;
      if (!lease.network.covers(peer.subnet) || peer.subnet.overlaps(lease.subnet)) {
        log.warn({ peer: describePeer(peer) }, 'ignoring peer: subnet outside the network or overlapping ours');
        return;
      }
      log.info({ peer: describePeer(peer) }, `Subnet added: ${peer.subnet} via ${formatIpv4(peer.publicIp)}`);
      queue(() => routes.add(peer.subnet, peer.publicIp));
    });
    undo.push(() => {
      listening = false;
    });
    await chain;

    if (opts.ipMasq) await installLeaseMasq(lease, opts.ipMasq, undo);
    if (opts.subnetFile) {
      writeSubnetEnv(opts.subnetFile, {
        network: lease.network,
        subnet: lease.subnet,
        mtu: uplink.mtu,
        ipMasq: opts.ipMasq !== undefined,
        ...(lease.subnet6 && lease.network6 ? { network6: lease.network6, subnet6: lease.subnet6 } : {}),
      });
    }
    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const socketPath = path.join(opts.stateDir, `${opts.name}.sock`);
    let stopping: Promise<void> | undefined;
    const node: RoutedNode = {
      name: opts.name,
      lease,
      membership: started.membership,
      uplink,
      mtu: uplink.mtu,
      routes,
      routes6: v6?.routes,
      socketPath,
      startedAt: Date.now(),
      settled: async () => {
        await chain;
      },
      stop: () =>
        (stopping ??= (async () => {
          await chain;
          await undo.run();
          log.info({ name: opts.name }, 'stopped; routes removed');
        })()),
    };
    const server = await startRpcServer(socketPath, routedRpcHandlers(node));
    undo.push(() => server.close());
    log.info(
      {
        name: opts.name,
        subnet: lease.subnet.toString(),
        publicIp: formatIpv4(lease.publicIp),
        backend: lease.backend.type,
        uplink: uplink.name,
        mtu: uplink.mtu,
        direct: routes.routes.size,
        refused: routes.refused.size,
        control: socketPath,
      },
      'ready',
    );
    return node;
  } catch (err) {
    await undo.run();
    throw err;
  }
}

/** host-gw for IPv6 (dual stack with a PublicIPv6): the uplink holding it, forwarding on, the route table. */
async function hostGw6(
  lease: LocalLease,
  log: Logger,
): Promise<{ routes: DirectRouteTable6; peers: Ipv6DirectPeers } | undefined> {
  if (!lease.subnet6 || !lease.network6) return undefined;
  if (lease.publicIpv6 === undefined) {
    log.warn('host-gw: this node has no PublicIPv6, so the IPv6 subnets are not routed (set --public-ipv6)');
    return undefined;
  }
  const uplink6 = await uplinkOf6(lease.publicIpv6);
  if (!uplink6)
    throw new ConfigError(
      `no interface holds the public IPv6 ${formatIpv6(lease.publicIpv6)}: your PublicIPv6 differs from interface ` +
        "IP, meaning that probably you're on a NAT, which is not supported by host-gw backend",
    );
  enableIpv6Forwarding();
  return {
    routes: new DirectRouteTable6(uplink6.name, log),
    peers: new Ipv6DirectPeers(lease.network6, lease.subnet6),
  };
}

/** What the routed node did with its peers, for `status`. */
export function routingStatus(node: RoutedNode): RoutingStatus {
  return {
    mode: 'host-gw',
    uplink: node.uplink.name,
    direct: node.routes.routes.size,
    refused: node.routes.refusedTotal,
    refusedPeers: [...node.routes.refused.values()].map((r) => ({
      subnet: r.subnet.toString(),
      via: formatIpv4(r.via),
      reason: r.reason,
    })),
    ...(node.routes6 ? { direct6: node.routes6.routes.size, refused6: node.routes6.refusedTotal } : {}),
  };
}

/** The control-socket methods of a routed node: the keys `status`/`routes` share with an overlay node. */
export function routedRpcHandlers(node: RoutedNode): Record<string, RpcHandler> {
  const peers = (): Array<{ name: string; publicIp: string; subnet: string }> =>
    node.membership.peers().map((p) => ({
      name: p.name ?? formatIpv4(p.publicIp),
      publicIp: formatIpv4(p.publicIp),
      subnet: p.subnet.toString(),
    }));
  return {
    ping: () => ({ ok: true, name: node.name }),
    status: () => ({
      name: node.name,
      subnet: node.lease.subnet.toString(),
      network: node.lease.network.toString(),
      publicIp: formatIpv4(node.lease.publicIp),
      backend: node.lease.backend.type,
      port: 0,
      tun: null,
      mtu: node.mtu,
      membership: node.membership.status(),
      uptimeSeconds: Math.round((Date.now() - node.startedAt) / 1000),
      pid: process.pid,
      peers: peers(),
      routing: routingStatus(node),
    }),
    routes: () =>
      [...node.routes.routes.values()]
        .map((r) => ({
          subnet: r.subnet.toString(),
          peer: peers().find((p) => p.subnet === r.subnet.toString())?.name ?? formatIpv4(r.via),
          publicIp: formatIpv4(r.via),
          port: 0,
          device: node.uplink.name,
        }))
        .concat(
          [...(node.routes6?.routes.values() ?? [])].map((r) => ({
            subnet: r.subnet.toString(),
            peer: node.membership.peers().find((p) => p.subnet6?.equals(r.subnet))?.name ?? formatIpv6(r.via),
            publicIp: formatIpv6(r.via),
            port: 0,
            device: node.routes6!.uplink,
          })),
        ),
    stats: () => ({ at: Date.now(), routing: routingStatus(node) }),
  };
}
