// Prometheus metrics of one running node (opt-in: `flannelette node --metrics-addr HOST:PORT`).
//
// createNodeMetrics() builds a Registry of its own (never prom-client's global default registry,
// DESIGN.md principle 6) whose metrics read the node's plain counters in collect() callbacks at
// scrape time: the data path is untouched and pays nothing per packet. Series (all `flannelette_`):
//   packets_total{direction="tx|rx"}, bytes_total{direction}      data path totals (inner bytes)
//   drops_total{reason}                                            one series per DROP_REASONS entry, from 0
//   icmp_errors_sent_total                                         ICMP errors sent to local pods
//   peer_packets_total{peer,direction}, peer_bytes_total{peer,direction}
//   routes                                                         routes (peer subnets) in the table
//   lease_expiry_seconds{subnet}                                   only while membership reports leaseExpiresAt
//   capture_written_total{point,sink}, capture_drops_total{point,sink}   sink = file | live
//   impairment_packets_total{peer,event}                           impairment stage counters per peer link
//   node_info{node,subnet,backend,public_ip} 1
// Series that belong to a peer, a live capture or a link disappear with it.
//
// startMetricsServer() serves the registry at GET /metrics over node:http. It throws DeviceError
// when it cannot listen (address in use, no such local address); parseMetricsAddr() throws
// ConfigError for text that is not HOST:PORT. Nothing here touches a packet buffer.
import http from 'node:http';
import net from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { formatIpv4, type Cidr } from '../addr/ipv4.js';
import type { CaptureStats } from '../capture/sink.js';
import type { MembershipStatus } from '../control/membership.js';
import { DROP_REASONS, type PeerCounters } from '../dataplane/counters.js';
import type { ImpairCounters } from '../impair/impair.js';
import { ConfigError, DeviceError } from '../util/errors.js';

/** The parts of a RunningNode the metrics read (a RunningNode fits; tests pass a fake). */
export interface MetricsNode {
  readonly name: string;
  readonly lease: { readonly subnet: Cidr; readonly publicIp: number };
  readonly backend: { readonly name: string };
  readonly dataplane: {
    readonly counters: { readonly txPackets: number; readonly txBytes: number; readonly rxPackets: number; readonly rxBytes: number; readonly icmpSent: number; readonly drops: ArrayLike<number> };
    readonly routes: { readonly size: number };
    peers(): ReadonlyArray<{ readonly name: string; readonly counters: PeerCounters }>;
    peerByAddr(addr: number): { readonly name: string } | undefined;
  };
  readonly membership: { status(): MembershipStatus };
  readonly capture: {
    stats(): { files: { inner: CaptureStats | null; outer: CaptureStats | null }; live: ReadonlyArray<{ point: string; stats: CaptureStats }> };
  };
  readonly impairments: { counters(): { peers: ReadonlyArray<{ addr: number; counters: ImpairCounters }> } };
}

export interface NodeMetricsOptions {
  /** Wall clock in Unix milliseconds, for the lease expiry (default Date.now). */
  now?: () => number;
}

const IMPAIR_EVENTS: ReadonlyArray<[keyof ImpairCounters, string]> = [
  ['sent', 'sent'],
  ['delayed', 'delayed'],
  ['droppedLoss', 'dropped_loss'],
  ['droppedQueue', 'dropped_queue'],
  ['droppedPartition', 'dropped_partition'],
  ['droppedInner', 'dropped_inner'],
  ['duplicated', 'duplicated'],
  ['reordered', 'reordered'],
  ['corrupted', 'corrupted'],
  ['rateLimited', 'rate_limited'],
];

export function createNodeMetrics(node: MetricsNode, opts: NodeMetricsOptions = {}): Registry {
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  const dp = node.dataplane;

  new Counter({
    name: 'flannelette_packets_total',
    help: 'IP packets forwarded by the data path: tx = read from the TUN device and sent encapsulated, rx = received, unwrapped and written to the TUN device',
    labelNames: ['direction'],
    registers,
    collect() {
      this.reset();
      this.inc({ direction: 'tx' }, dp.counters.txPackets);
      this.inc({ direction: 'rx' }, dp.counters.rxPackets);
    },
  });
  new Counter({
    name: 'flannelette_bytes_total',
    help: 'Bytes of inner IP packets forwarded by the data path (without encapsulation)',
    labelNames: ['direction'],
    registers,
    collect() {
      this.reset();
      this.inc({ direction: 'tx' }, dp.counters.txBytes);
      this.inc({ direction: 'rx' }, dp.counters.rxBytes);
    },
  });
  new Counter({
    name: 'flannelette_drops_total',
    help: 'Packets dropped by the data path, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      DROP_REASONS.forEach((reason, i) => this.inc({ reason }, dp.counters.drops[i] ?? 0));
    },
  });
  new Counter({
    name: 'flannelette_icmp_errors_sent_total',
    help: 'ICMP errors (net unreachable, time exceeded, fragmentation needed) sent back to local senders',
    registers,
    collect() {
      this.reset();
      this.inc(dp.counters.icmpSent);
    },
  });
  const perPeer = (field: 'Packets' | 'Bytes') =>
    new Counter({
      name: `flannelette_peer_${field.toLowerCase()}_total`,
      help: `Inner ${field.toLowerCase()} forwarded to (tx) and received from (rx) each peer node`,
      labelNames: ['peer', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const p of dp.peers()) {
          this.inc({ peer: p.name, direction: 'tx' }, p.counters[`tx${field}`]);
          this.inc({ peer: p.name, direction: 'rx' }, p.counters[`rx${field}`]);
        }
      },
    });
  perPeer('Packets');
  perPeer('Bytes');
  new Gauge({
    name: 'flannelette_routes',
    help: 'Routes (peer node subnets) in the data path route table',
    registers,
    collect() {
      this.set(dp.routes.size);
    },
  });
  new Gauge({
    name: 'flannelette_lease_expiry_seconds',
    help: 'Seconds until the subnet lease expires unless renewed (etcd membership only)',
    labelNames: ['subnet'],
    registers,
    collect() {
      this.reset();
      const at = node.membership.status().leaseExpiresAt;
      if (at !== undefined) this.set({ subnet: node.lease.subnet.toString() }, (at - now()) / 1000);
    },
  });
  const captureSeries = (name: string, help: string, field: 'written' | 'dropped') =>
    new Counter({
      name,
      help,
      labelNames: ['point', 'sink'],
      registers,
      collect() {
        this.reset();
        const s = node.capture.stats();
        if (s.files.inner) this.inc({ point: 'inner', sink: 'file' }, s.files.inner[field]);
        if (s.files.outer) this.inc({ point: 'outer', sink: 'file' }, s.files.outer[field]);
        for (const l of s.live) this.inc({ point: l.point, sink: 'live' }, l.stats[field]);
      },
    });
  captureSeries('flannelette_capture_written_total', 'Captured packets handed to a pcap file or live stream', 'written');
  captureSeries('flannelette_capture_drops_total', 'Packets not captured: queue full, output failed or closed', 'dropped');
  new Counter({
    name: 'flannelette_impairment_packets_total',
    help: 'Impairment stage events per peer link (sent, delayed, dropped_*, duplicated, reordered, corrupted, rate_limited)',
    labelNames: ['peer', 'event'],
    registers,
    collect() {
      this.reset();
      for (const link of node.impairments.counters().peers) {
        const peer = dp.peerByAddr(link.addr)?.name ?? formatIpv4(link.addr);
        for (const [key, event] of IMPAIR_EVENTS) this.inc({ peer, event }, link.counters[key]);
      }
    },
  });
  new Gauge({
    name: 'flannelette_node_info',
    help: 'Identity of this node (always 1)',
    labelNames: ['node', 'subnet', 'backend', 'public_ip'],
    registers,
    collect() {
      this.reset();
      this.set({ node: node.name, subnet: node.lease.subnet.toString(), backend: node.backend.name, public_ip: formatIpv4(node.lease.publicIp) }, 1);
    },
  });
  return registry;
}

export interface MetricsAddress {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (`127.0.0.1:9100`, `localhost:9100`, `[::1]:9100`). */
export function parseMetricsAddr(text: string): MetricsAddress {
  const bad = (why: string): ConfigError => new ConfigError(`--metrics-addr ${text}: ${why}`);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw bad('expected HOST:PORT, e.g. 127.0.0.1:9100');
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && !net.isIPv6(host)) throw bad(`${host} is not an IPv6 address`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw bad('the port must be from 1 to 65535');
  return { host, port };
}

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9100/metrics (the port actually bound when 0 was asked for). */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `registry` at GET /metrics on addr (port 0 = any free port). */
export async function startMetricsServer(registry: Registry, addr: MetricsAddress): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('use GET\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${err.message}\n`),
    );
  });
  const shown = net.isIPv6(addr.host) ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'address already in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'no interface of this node has that address'
            : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
              ? 'host name does not resolve'
              : err.code === 'EACCES'
                ? 'permission denied (ports below 1024 need root)'
                : `${err.code ?? 'error'}: ${err.message}`;
      reject(new DeviceError(`--metrics-addr ${shown}: cannot serve metrics: ${why}`, { cause: err }));
    });
    server.listen({ host: addr.host, port: addr.port, exclusive: true }, () => resolve());
  });
  const bound = server.address() as net.AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound.port}/metrics`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
