// The composition root of one emulated node: given its options and a Membership, it opens the
// underlay socket and the TUN device, configures the kernel side (address, MTU, routes), wires the
// data path (with optional impairments and capture taps), serves the control socket (and /metrics when asked) and writes
// subnet.env. Membership events become route commands for the data path and kernel routes.
//
// startNode() either returns a running node or throws (ConfigError/DeviceError/PermissionError)
// after undoing everything it had set up. stop() undoes everything; it is idempotent. Closing the
// TUN device removes it and every route through it.
import fs from 'node:fs';
import path from 'node:path';
import { formatIpv4, type Cidr } from '../addr/ipv4.js';
import { formatMac } from '../addr/mac.js';
import type { Membership, MembershipEvent, PeerInfo, LocalLease } from '../control/membership.js';
import { writeSubnetEnv } from '../control/subnet-env.js';
import { defaultMtu } from '../backend/table.js';
import { BACKENDS, type Backend } from '../dataplane/backends.js';
import { DataplaneCounters } from '../dataplane/counters.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { WgTunnel } from '../dataplane/wg-tunnel.js';
import type { WgTimings } from '../wireguard/constants.js';
import type { WgKeySource } from './wg-key.js';
import type { TunDevice } from '../tun/device.js';
import { openLinuxTun } from '../tun/linux.js';
import type { Underlay } from '../underlay/underlay.js';
import { openNativeUdpUnderlay } from '../underlay/native.js';
import { openUdpUnderlay } from '../underlay/udp.js';
import { ImpairedUnderlay } from '../impair/impair.js';
import type { Clock } from '../util/clock.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { startRpcServer, type RpcServer } from '../util/rpc.js';
import { addRoute, configureTun, mtuOfAddress, removeRoute } from './kernel.js';
import { NodeCapture, type NodeCaptureOptions } from './capture.js';
import { controlHandlers } from './control.js';
import { createNodeMetrics, startMetricsServer, type MetricsAddress } from './metrics.js';

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
  underlayKind?: 'native' | 'dgram';
  antiSpoof?: boolean;
  /** Open the TUN device with offloads (vnet header, TSO/checksum; tun/linux.ts). Default true. */
  tunOffload?: boolean;
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
  readonly capture: NodeCapture;
  readonly membership: Membership;
  readonly startedAt: number;
  readonly socketPath: string;
  stop(): Promise<void>;
}

/** Runs undo steps in reverse order, never throwing. */
class UndoStack {
  private steps: Array<() => Promise<void> | void> = [];
  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    while (this.steps.length > 0) {
      try {
        await this.steps.pop()!();
      } catch {
        // best effort: keep undoing the rest
      }
    }
  }
}

export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const log = opts.logger;
  const undo = new UndoStack();
  const early: MembershipEvent[] = [];
  let onEvent: (e: MembershipEvent) => void = (e) => early.push(e);
  try {
    undo.push(() => opts.membership.stop());
    const lease = await opts.membership.start((e) => onEvent(e));
    if (!lease.network.covers(lease.subnet)) throw new ConfigError(`subnet ${lease.subnet} is outside the network ${lease.network}`);
    const backend = BACKENDS[lease.backend.type];
    if (backend.name === 'vxlan' && !lease.vtepMac) throw new ConfigError('the vxlan backend needs a VTEP MAC for this node');
    if (backend.encrypted && !opts.wireguard) throw new ConfigError('the wireguard backend needs a key file (--wg-private-key)');

    const underlayMtu = opts.underlayMtu ?? (await mtuOfAddress(lease.publicIp)) ?? 1500;
    // Packets live in fixed slots (util/buffers.ts): a jumbo underlay (loopback's 65536) still gets
    // a TUN MTU that fits them.
    // An encrypted backend appends padding (< 16) and a 16-byte tag behind the packet in its slot.
    const tailroom = backend.encrypted ? 32 : 0;
    const mtuLimit = Math.min(underlayMtu - backend.overhead, SLOT_SIZE - PACKET_HEADROOM - tailroom);
    const mtu = opts.mtu ?? Math.min(defaultMtu(backend, underlayMtu), mtuLimit);
    if (mtu < 576 || mtu > mtuLimit) {
      throw new ConfigError(`--mtu ${mtu} does not fit: it must be between 576 and ${mtuLimit} (underlay MTU ${underlayMtu} minus ${backend.overhead}, at most ${SLOT_SIZE - PACKET_HEADROOM - tailroom})`);
    }

    const raw =
      opts.underlayKind === 'dgram'
        ? await openUdpUnderlay({ addr: lease.publicIp, port: lease.backend.port })
        : await openNativeUdpUnderlay({ addr: lease.publicIp, port: lease.backend.port, rawSend: backend.sourcePort === 'flow' });
    undo.push(() => raw.close());
    const impairments = new ImpairedUnderlay({ inner: raw, clock: opts.clock, rng: opts.rng });

    const tunName = opts.tunName ?? backend.tunName;
    const rawTun = openLinuxTun({ name: tunName, mtu, offload: opts.tunOffload ?? true });
    undo.push(() => rawTun.close());
    await configureTun(rawTun.name, lease.subnet, mtu);

    const capture = await NodeCapture.create(opts.name, backend.name, opts.capture, opts.clock, log);
    undo.push(() => capture.close());
    const tun = capture.wrapTun(rawTun);
    const underlay: Underlay = capture.wrapUnderlay(impairments);

    const counters = new DataplaneCounters();
    const tunnel = opts.wireguard && backend.encrypted
      ? new WgTunnel({
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
      now: () => opts.clock.now(),
      local: {
        name: opts.name,
        subnet: lease.subnet,
        publicIp: lease.publicIp,
        port: lease.backend.port,
        vni: lease.backend.vni,
        vtepMac: lease.vtepMac ?? Buffer.alloc(6),
        underlayMtu,
      },
    });

    // Kernel routes follow membership, one `ip` command at a time, in event order.
    let routeChain: Promise<void> = Promise.resolve();
    const kernelRoute = (what: 'add' | 'remove', subnet: Cidr): void => {
      routeChain = routeChain.then(async () => {
        try {
          if (what === 'add') await addRoute(subnet, rawTun.name);
          else await removeRoute(subnet, rawTun.name);
        } catch (err) {
          log.error({ err: (err as Error).message, subnet: subnet.toString() }, 'could not change kernel route');
        }
      });
    };
    const applyEvent = (e: MembershipEvent): void => {
      if (e.type === 'peer-removed') {
        dataplane.apply({ type: 'remove-peer', subnet: e.subnet });
        kernelRoute('remove', e.subnet);
        log.info({ subnet: e.subnet.toString() }, 'peer removed');
        return;
      }
      const peer = e.peer;
      const missing = (backend.name === 'vxlan' && !peer.vtepMac) || (backend.encrypted && peer.publicKey?.length !== 32);
      if (!lease.network.covers(peer.subnet) || peer.subnet.overlaps(lease.subnet) || missing) {
        log.warn({ peer: describePeer(peer) }, 'ignoring peer: subnet outside the network, overlapping ours, or no VTEP MAC / public key');
        return;
      }
      dataplane.apply({
        type: 'add-peer',
        peer: { name: peer.name ?? formatIpv4(peer.publicIp), subnet: peer.subnet, publicIp: peer.publicIp, port: lease.backend.port, vtepMac: peer.vtepMac, publicKey: peer.publicKey },
      });
      if (e.type === 'peer-added') kernelRoute('add', peer.subnet);
      log.info({ peer: describePeer(peer) }, e.type === 'peer-added' ? 'peer added' : 'peer updated');
    };
    onEvent = applyEvent;
    for (const e of early) applyEvent(e);
    dataplane.applyPending();
    dataplane.start();
    await routeChain;

    if (opts.subnetFile) writeSubnetEnv(opts.subnetFile, { network: lease.network, subnet: lease.subnet, mtu, ipMasq: false });

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
      capture,
      membership: opts.membership,
      startedAt: Date.now(),
      socketPath,
      stop: () => (stopping ??= (async () => {
        onEvent = () => {};
        await undo.run();
        log.info({ name: opts.name }, 'stopped; TUN device and routes removed');
      })()),
    };
    const server: RpcServer = await startRpcServer(socketPath, controlHandlers(node));
    undo.push(() => server.close());
    const metrics = opts.metricsAddr ? await startMetricsServer(createNodeMetrics(node), opts.metricsAddr) : undefined;
    if (metrics) undo.push(() => metrics.close());

    log.info(
      {
        name: opts.name,
        subnet: lease.subnet.toString(),
        publicIp: formatIpv4(lease.publicIp),
        backend: backend.name,
        port: lease.backend.port,
        vni: backend.name === 'vxlan' ? lease.backend.vni : undefined,
        vtepMac: lease.vtepMac ? formatMac(lease.vtepMac) : undefined,
        publicKey: tunnel ? tunnel.publicKey.toString('base64') : undefined,
        tun: rawTun.name,
        mtu,
        peers: dataplane.peers().length,
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

function describePeer(p: PeerInfo): string {
  return `${p.name ?? '?'} ${p.subnet} via ${formatIpv4(p.publicIp)}${p.vtepMac ? ` (${formatMac(p.vtepMac)})` : ''}`;
}
