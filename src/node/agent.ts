// The composition root of one emulated node: given its options and a Membership, it opens the
// underlay socket (open-underlay.ts) and the TUN device, configures the kernel side (kernel.ts:
// address, MTU; kernel-routes.ts: one route per peer, in event order), wires the data path (with
// the impairment stage and capture taps, capture.ts), serves the control socket (rpc-handlers.ts)
// and /metrics when asked (metrics.ts), and writes subnet.env. The TUN MTU comes from mtu.ts;
// membership events become route commands through peer-events.ts.
//
// startNode() either returns a running node or throws (ConfigError/DeviceError/PermissionError)
// after undoing everything it had set up. stop() undoes everything; it is idempotent. Closing the
// TUN device removes it and every route through it.
import fs from 'node:fs';
import { formatIpv4 } from '../addr/ipv4.js';
import path from 'node:path';
import type { Membership, MembershipEvent, LocalLease } from '../control/membership.js';
import { writeSubnetEnv } from '../control/subnet-env.js';
import { isRoutedBackendName } from '../backend/table.js';
import { BACKENDS, type Backend } from '../dataplane/backends.js';
import { DataplaneCounters } from '../dataplane/counters.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { tracePacket, type TraceQuery, type TraceResult } from '../dataplane/trace.js';
import { tracePacket6, type Trace6Query } from '../dataplane/trace6.js';
import type { WgTunnel } from '../dataplane/wg-tunnel.js';
import type { WgTimings } from '../wireguard/constants.js';
import type { WgKeySource } from './wg-key.js';
import type { TunDevice } from '../tun/device.js';
import { openLinuxTun, type LinuxTunStats } from '../tun/linux.js';
import { pairBusyPoll } from './busy-poll.js';
import type { Underlay } from '../underlay/underlay.js';
import { ImpairedUnderlay } from '../impair/impair.js';
import type { Clock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { startRpcServer, type RpcServer } from '../util/rpc.js';
import { configureTun, mtuOfAddress } from './kernel.js';
import { DirectRouteTable, uplinkOf } from './direct-routes.js';
import { overlayRouteCommands } from './overlay-routes.js';
import { KernelRouteQueue } from './kernel-routes.js';
import { NodeCapture, type NodeCaptureOptions } from './capture.js';
import type { MetricsAddress } from './metrics.js';
import { chooseTunMtu } from './mtu.js';
import { UndoStack } from './undo.js';
import { installLeaseMasq } from './ip-masq-lease.js';
import { startMembership, type StartedMembership } from './membership-start.js';
import { NativeUdpUnderlay, type NativeUdpStats } from '../underlay/native.js';
import { openNodeUnderlay, type UnderlayKind, type UnderlayTuning } from './open-underlay.js';
import { peerEventToCommands } from './peer-events.js';
import { configureTun6, ipv6RouteCommands, Ipv6PeerRoutes } from './dual-stack.js';
import { nodeStatus, rpcHandlers, type Underlay6StatsReply } from './rpc-handlers.js';
import { DualStackUnderlay } from '../dataplane/dual-underlay.js';
import { directOverlayRoute6Commands, directRouteTable6 } from './direct-routes6.js';
import { applyIpv6UnderlayEvent, mtuOfIpv6Address, openIpv6Underlay, wantsIpv6Underlay } from './ipv6-underlay.js';

export interface NodeOptions {
  name: string;
  membership: Membership;
  /** TUN device name; default flannel's (`flannel.1` for vxlan, `flannel0` for udp). */
  tunName?: string;
  /** TUN MTU; default the underlay MTU minus the encapsulation (50 for vxlan, 28 for udp). */
  mtu?: number;
  /** Underlay MTU; default the MTU of the interface holding the public IP. */
  underlayMtu?: number;
  /** Directory for the control socket (`<name>.sock`). */
  stateDir: string;
  /** Where to write flannel's subnet.env, if anywhere. */
  subnetFile?: string;
  /** `native` (recvmmsg/sendmmsg addon, default) or `dgram` (node:dgram). */
  underlayKind?: UnderlayKind;
  antiSpoof?: boolean;
  /**
   * Decrement the inner TTL in the data path, one router hop more than flannel's (the kernel already
   * decrements when it routes a pod's packet into the TUN device and again on the far node). Default
   * false, as flannel; `--decrement-ttl` turns it on.
   */
  decrementTtl?: boolean;
  /** flanneld's --ip-masq: masquerade pod traffic leaving the network (ip-masq.ts, nftables). */
  ipMasq?: { fullyRandomDisable?: boolean };
  /** Open the TUN device with offloads (vnet header, TSO/checksum; tun/linux.ts). Default true. */
  tunOffload?: boolean;
  /** With tunOffload: merge UDP datagrams of a flow into GSO_UDP_L4 TUN writes where the kernel has them (default true). */
  tunUso?: boolean;
  /** Source-port pool size and UDP GSO of the native underlay (node/open-underlay.ts). */
  underlayTuning?: UnderlayTuning;
  /**
   * Behind NAT (flanneld's IfaceAddr ≠ ExtAddr): the interface address to bind when no interface holds the
   * lease's public IP, which is still what peers are told.
   */
  natBindAddr?: number;
  /** IPv6 underlay: the address to bind instead of the PublicIPv6 (e.g. :: behind NAT), its pool size. */
  underlay6?: { bindAddr?: bigint; sourcePorts?: number };
  /** Serve Prometheus metrics at http://HOST:PORT/metrics (inside the node's namespace), if given. */
  metricsAddr?: MetricsAddress;
  capture?: NodeCaptureOptions;
  /** wireguard backend: this node's key and, for tests, shortened protocol timers. */
  wireguard?: { keys: WgKeySource; timings?: WgTimings };
  logger: Logger;
  clock: Clock;
  rng: Rng;
}

export interface RunningNode {
  readonly name: string;
  readonly lease: LocalLease;
  readonly backend: Backend;
  readonly tun: TunDevice;
  readonly mtu: number;
  readonly dataplane: Dataplane;
  /** The WireGuard sessions (wireguard backend only). */
  readonly wireguard?: WgTunnel;
  readonly impairments: ImpairedUnderlay;
  /** The socket's own counters (native underlay: datagrams, drops, source ports, GSO); null for dgram. */
  underlayStats(): NativeUdpStats | null;
  /** The TUN device's counters (offload: super-packets split on read, segments merged on write). */
  tunStats(): LinuxTunStats;
  readonly capture: NodeCapture;
  readonly membership: Membership;
  /** Unix ms. */
  readonly startedAt: number;
  readonly socketPath: string;
  /** The IPv6 underlay beside the IPv4 one (a PublicIPv6, vxlan or udp), if any. */
  readonly underlay6?: DualStackUnderlay;
  underlay6Stats(): Underlay6StatsReply | undefined;
  /** vxlan DirectRouting: the peers routed directly on the uplink (undefined without DirectRouting). */
  readonly directRoutes?: DirectRouteTable;
  /** What the data path would do with a packet, without sending it. */
  trace(query: TraceQuery): TraceResult;
  /** The same for an inner IPv6 packet; its outer header is the IPv6 underlay's when it goes there. */
  trace6(query: Trace6Query): TraceResult;
  stop(): Promise<void>;
}

/**
 * Starts an overlay node. `started`: a membership the caller already started (membership-start.ts),
 * whose lease names an encapsulating backend; without it, startNode starts opts.membership itself.
 */
export async function startNode(opts: NodeOptions, started?: StartedMembership): Promise<RunningNode> {
  const log = opts.logger;
  const undo = new UndoStack();
  let onEvent: (e: MembershipEvent) => void = () => {};
  try {
    undo.push(() => opts.membership.stop());
    const membership = started ?? (await startMembership(opts.membership));
    const lease = membership.lease;
    if (!lease.network.covers(lease.subnet))
      throw new ConfigError(`subnet ${lease.subnet} is outside the network ${lease.network}`);
    if (isRoutedBackendName(lease.backend.type))
      throw new ConfigError(`the ${lease.backend.type} backend runs without a data path (startRoutedNode)`);
    const backend = BACKENDS[lease.backend.type];
    if (backend.name === 'vxlan' && !lease.vtepMac)
      throw new ConfigError('the vxlan backend needs a VTEP MAC for this node');
    if (backend.encrypted && !opts.wireguard)
      throw new ConfigError('the wireguard backend needs a key file (--wg-private-key)');

    const bindAddr = await underlayBindAddress(lease.publicIp, opts.natBindAddr, log);
    const underlayMtu = opts.underlayMtu ?? (await mtuOfAddress(bindAddr)) ?? 1500;
    const mtu = chooseTunMtu(backend, underlayMtu, opts.mtu ?? lease.backend.mtu); // Backend.MTU: flannel's vxlan option

    const raw = await openNodeUnderlay(
      opts.underlayKind,
      bindAddr,
      lease.backend.port,
      backend,
      opts.underlayTuning,
      log,
    );
    undo.push(() => raw.close());
    const counters = new DataplaneCounters();
    const v6 = wantsIpv6Underlay(lease, backend)
      ? await openIpv6Underlay(lease, backend, opts.underlay6 ?? {}, log)
      : undefined;
    if (v6) undo.push(() => v6.close());
    // the IPv6 socket sits beside the IPv4 one, under the impairments and the capture taps (both families)
    const dual = v6 ? new DualStackUnderlay(raw, v6, backend, counters, lease.publicIpv6) : undefined;
    const impairments = new ImpairedUnderlay({ inner: dual ?? raw, clock: opts.clock, rng: opts.rng });

    const tunName = opts.tunName ?? backend.tunName;
    const rawTun = openLinuxTun({ name: tunName, mtu, offload: opts.tunOffload ?? true, uso: opts.tunUso ?? true });
    undo.push(() => rawTun.close());
    pairBusyPoll(rawTun, raw, opts.underlayTuning?.busyPollUs, log);
    if (lease.subnet6) await configureTun6(rawTun.name, lease.subnet6); // dual stack
    await configureTun(rawTun.name, lease.subnet, mtu);

    const capture = await NodeCapture.create(opts.name, backend.name, opts.capture, opts.clock, log);
    undo.push(() => capture.close());
    const tun = capture.wrapTun(rawTun);
    const underlayMtu6 = v6
      ? (opts.underlayMtu ?? (await mtuOfIpv6Address(lease.publicIpv6!)) ?? underlayMtu)
      : undefined;
    const underlay: Underlay = capture.wrapUnderlay(impairments);

    // loaded only when used (lean agents: the wireguard code and prom-client cost RSS in every node)
    const wg = opts.wireguard && backend.encrypted ? await import('../dataplane/wg-tunnel.js') : undefined;
    const tunnel =
      opts.wireguard && wg
        ? new wg.WgTunnel({
            privateKey: opts.wireguard.keys.privateKey(),
            psk: lease.backend.psk,
            persistentKeepaliveS: lease.backend.persistentKeepaliveS,
            mtu,
            underlay,
            counters,
            clock: opts.clock,
            rng: opts.rng,
            timings: opts.wireguard.timings,
          })
        : undefined;
    if (tunnel) undo.push(() => tunnel.close());
    const dataplane = new Dataplane({
      tun,
      underlay,
      backend,
      tunnel,
      counters,
      antiSpoof: opts.antiSpoof,
      decrementTtl: opts.decrementTtl ?? false,
      now: () => opts.clock.now(),
      local: {
        name: opts.name,
        subnet: lease.subnet,
        publicIp: lease.publicIp,
        port: lease.backend.port,
        vni: lease.backend.vni,
        vtepMac: lease.vtepMac ?? Buffer.alloc(6),
        ...(dual && lease.vtepMacV6 ? { vtepMacV6: lease.vtepMacV6 } : {}),
        underlayMtu,
        underlayMtu6,
        subnet6: lease.subnet6,
      },
    });

    const direct = lease.backend.directRouting ? await directRouteTable(lease.publicIp, log) : undefined;
    if (direct) undo.push(() => direct.clear());
    const kernelRoutes = new KernelRouteQueue(overlayRouteCommands(rawTun.name, direct), log);
    const peerContext = {
      network: lease.network,
      subnet: lease.subnet,
      port: lease.backend.port,
      needsVtepMac: backend.name === 'vxlan',
      needsPublicKey: backend.encrypted,
      network6: lease.network6,
      subnet6: lease.subnet6,
      ipv6Underlay: dual !== undefined,
    };
    const direct6 =
      direct && lease.publicIpv6 !== undefined && lease.subnet6
        ? await directRouteTable6(lease.publicIpv6, log)
        : undefined;
    if (direct6) undo.push(() => direct6.clear());
    const routeCmds6 = direct6 ? directOverlayRoute6Commands(ipv6RouteCommands(rawTun.name), direct6) : undefined;
    const kernelRoutes6 = new KernelRouteQueue(routeCmds6 ?? ipv6RouteCommands(rawTun.name), log);
    const peerRoutes6 = new Ipv6PeerRoutes();
    const applyEvent = (e: MembershipEvent): void => {
      const outcome = peerEventToCommands(e, peerContext);
      if (outcome.kind === 'ignored') {
        log.warn({ peer: outcome.describe, reason: outcome.reason }, 'ignoring peer');
        return;
      }
      if (dual) applyIpv6UnderlayEvent(dual, e);
      if (routeCmds6 && e.type !== 'peer-removed' && e.peer.subnet6)
        routeCmds6.setVia(e.peer.subnet6, e.peer.publicIpv6);
      for (const cmd of outcome.commands) dataplane.apply(cmd);
      if (outcome.kernel) kernelRoutes.push(outcome.kernel);
      for (const change of peerRoutes6.changes(e, outcome)) kernelRoutes6.push(change);
      log.info(e.type === 'peer-removed' ? { subnet: outcome.describe } : { peer: outcome.describe }, outcome.log);
    };
    onEvent = applyEvent;
    membership.listen((e) => onEvent(e));
    dataplane.applyPending();
    dataplane.start();
    await kernelRoutes.drained();
    await kernelRoutes6.drained();

    if (opts.ipMasq) await installLeaseMasq(lease, opts.ipMasq, undo);
    if (opts.subnetFile) {
      const ipMasq = opts.ipMasq !== undefined;
      const v6 = lease.subnet6 && lease.network6 ? { network6: lease.network6, subnet6: lease.subnet6 } : {};
      writeSubnetEnv(opts.subnetFile, { network: lease.network, subnet: lease.subnet, mtu, ipMasq, ...v6 });
    }

    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const socketPath = path.join(opts.stateDir, `${opts.name}.sock`);
    let stopping: Promise<void> | undefined;
    const node: RunningNode = {
      name: opts.name,
      lease,
      backend,
      tun: rawTun,
      mtu,
      dataplane,
      wireguard: tunnel,
      impairments,
      underlayStats: () => (raw instanceof NativeUdpUnderlay ? raw.stats() : null),
      tunStats: () => rawTun.stats(),
      capture,
      membership: opts.membership,
      startedAt: Date.now(),
      socketPath,
      directRoutes: direct,
      underlay6: dual,
      underlay6Stats: () =>
        v6 && dual
          ? {
              bind: v6.localText,
              port: v6.localPort,
              sourcePorts: [...v6.poolPorts],
              sent: dual.sent6,
              received: dual.received6,
            }
          : undefined,
      trace: (query) => tracePacket(dataplane, dataplane.local, backend, query),
      trace6: (query) => tracePacket6(dataplane, dataplane.local, backend, query, dual, lease.publicIpv6),
      stop: () =>
        (stopping ??= (async () => {
          onEvent = () => {};
          await undo.run();
          log.info({ name: opts.name }, 'stopped; TUN device and routes removed');
        })()),
    };
    const server: RpcServer = await startRpcServer(socketPath, rpcHandlers(node));
    undo.push(() => server.close());
    const metricsMod = opts.metricsAddr ? await import('./metrics.js') : undefined;
    const metrics =
      opts.metricsAddr && metricsMod
        ? await metricsMod.startMetricsServer(metricsMod.createNodeMetrics(node), opts.metricsAddr)
        : undefined;
    if (metrics) undo.push(() => metrics.close());

    const s = nodeStatus(node, opts.clock.now());
    const ready = {
      name: s.name,
      subnet: s.subnet,
      publicIp: s.publicIp,
      backend: s.backend,
      port: s.port,
      vni: s.vni,
    };
    log.info(
      {
        ...ready,
        vtepMac: s.vtepMac,
        publicKey: s.publicKey,
        tun: s.tun,
        mtu: s.mtu,
        peers: s.peers.length,
        control: socketPath,
        metrics: metrics?.url,
      },
      'ready',
    );
    return node;
  } catch (err) {
    await undo.run();
    throw err;
  }
}

/** vxlan DirectRouting: the direct routes go on the interface holding the public IP. */
async function directRouteTable(publicIp: number, log: Logger): Promise<DirectRouteTable> {
  const uplink = await uplinkOf(publicIp);
  if (!uplink) throw new ConfigError('DirectRouting: no interface holds the public IP');
  log.info({ uplink: uplink.name }, 'DirectRouting: peers on this L2 segment are routed without VXLAN');
  return new DirectRouteTable(uplink.name, log);
}

/** The public IP, or behind NAT (no interface holds it) the interface address flanneld would bind. */
async function underlayBindAddress(publicIp: number, natBindAddr: number | undefined, log: Logger): Promise<number> {
  if (natBindAddr === undefined || natBindAddr === publicIp || (await uplinkOf(publicIp))) return publicIp;
  log.info(
    { publicIp: formatIpv4(publicIp), bind: formatIpv4(natBindAddr) },
    'the public IP is on no interface (NAT): binding the interface address, announcing the public IP',
  );
  return natBindAddr;
}
