// kube-proxy in nftables mode for one lab node, hosted in the node's kubelet process: watches Services,
// EndpointSlices and Nodes (kclient/informer.ts), turns them into the `table ip kube-proxy` of the node's network
// namespace (model.ts → ruleset.ts) and applies each change as one `nft -f` transaction holding only
// the difference, so untouched Services' chains — and connections through them — are left alone. It
// also announces the LoadBalancer addresses this node is chosen for (announce.ts) by holding them on
// the node's `lo`, so the kernel answers ARP for them on the underlay; Nodes are watched only once a
// LoadBalancer Service exists (every kubelet heartbeat is a Node event: 100 nodes → 50 a second into every
// node's kube-proxy, each a resync, for nothing when no address is announced). start() throws DeviceError when
// nft cannot create the table; later failures are logged and retried with a full resync. stop() removes
// the table and the addresses. On a dual-stack node (clusterCidr6 given) a second proxier, as kube-proxy's
// meta-proxier runs one per family, keeps `table ip6 kube-proxy` from the IPv6 clusterIPs and slices.
import type { ApiClient } from '../kclient/api-client.js';
import { Informer } from '../kclient/informer.js';
import type { EndpointSlice, Service } from '../k8s/service-types.js';
import type { Node } from '../k8s/types.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { netnsArgv, run, runQuiet } from '../sys/run.js';
import { announceCandidates, announcingNode } from './announce.js';
import { buildModel } from './model.js';
import {
  TABLE,
  baseTableText,
  buildRuleset,
  diffRuleset,
  emptyRuleset,
  type NftFamily,
  type Ruleset,
} from './ruleset.js';

export interface KubeProxyLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface KubeProxyOptions {
  api: ApiClient;
  nodeName: string;
  /** The node's network namespace, where the table lives. */
  netns: string;
  /** The pod network: traffic to a ClusterIP from outside it is masqueraded. */
  clusterCidr: string;
  /** The IPv6 pod network of a dual-stack cluster: its presence turns on the ip6 proxier. */
  clusterCidr6?: string;
  logger: KubeProxyLogger;
  /** The informers' retry jitter and waits. */
  rng: Rng;
  clock: Clock;
}

export interface SyncStats {
  /** Wall-clock ms of the last transaction (nft included), and its number of commands. */
  ms: number;
  commands: number;
  at: number;
}

const nodeReady = (n: Node): boolean =>
  (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

interface FamilyProxier {
  nft: NftFamily;
  ipFamily: 'IPv4' | 'IPv6';
  clusterCidr: string;
  applied: Ruleset;
  tableReady: boolean;
}

export class KubeProxy {
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly nodes: Informer<Node>;
  private readonly proxiers: FamilyProxier[];
  private announced = new Set<string>();
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private watchingNodes = false;
  lastSync: SyncStats | undefined;

  constructor(private readonly o: KubeProxyOptions) {
    const kick = (): void => this.kick();
    const proxier = (nft: NftFamily, clusterCidr: string): FamilyProxier => ({
      nft,
      ipFamily: nft === 'ip' ? 'IPv4' : 'IPv6',
      clusterCidr,
      applied: emptyRuleset(),
      tableReady: false,
    });
    this.proxiers = [proxier('ip', o.clusterCidr)];
    if (o.clusterCidr6) this.proxiers.push(proxier('ip6', o.clusterCidr6));
    const informer = <T extends Service | EndpointSlice | Node>(path: string): Informer<T> =>
      new Informer<T>({ api: o.api, path, onChange: kick, rng: o.rng, clock: o.clock, log: o.logger });
    this.services = informer<Service>('/api/v1/services');
    this.slices = informer<EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices');
    this.nodes = informer<Node>('/api/v1/nodes');
  }

  private nft(text: string): Promise<unknown> {
    const [cmd, ...args] = netnsArgv(this.o.netns, ['nft', '-f', '-']);
    return run(cmd, args, { input: text });
  }

  async start(): Promise<void> {
    // kube-proxy needs bridged traffic to pass netfilter (br_netfilter), or replies between pods on
    // one bridge would skip the reverse NAT.
    await runQuiet(netnsArgv(this.o.netns, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']));
    if (this.o.clusterCidr6)
      await runQuiet(netnsArgv(this.o.netns, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-ip6tables=1']));
    for (const p of this.proxiers) {
      await this.nft(baseTableText(p.nft));
      p.tableReady = true;
    }
    this.services.start();
    this.slices.start();
    const tables = this.proxiers.map((p) => `${p.nft} ${TABLE}`).join(' and ');
    this.o.logger.info(`kube-proxy ${this.o.nodeName}: nftables mode, table ${tables} in ${this.o.netns}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.services.stop(), this.slices.stop(), this.nodes.stop()]);
    await this.running;
    for (const ip of this.announced) await this.address('del', ip);
    for (const p of this.proxiers) await runQuiet(netnsArgv(this.o.netns, ['nft', 'delete', 'table', p.nft, TABLE]));
  }

  /** Resolves once every change seen so far is applied (for tests and benchmarks). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await new Promise((r) => setTimeout(r, 5)); // a burst of events becomes one transaction
        await this.sync();
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
  }

  private async sync(): Promise<void> {
    if (!this.services.hasSynced || !this.slices.hasSynced) return;
    const started = Date.now();
    let current: FamilyProxier | undefined;
    try {
      for (const p of this.proxiers) {
        current = p;
        if (!p.tableReady) {
          await this.nft(baseTableText(p.nft));
          p.applied = emptyRuleset();
          p.tableReady = true;
        }
        const model = buildModel(this.services.list(), this.slices.list(), this.o.nodeName, p.ipFamily);
        const next = buildRuleset(model, { clusterCidr: p.clusterCidr, family: p.nft });
        const text = diffRuleset(p.applied, next, p.nft);
        if (text) {
          await this.nft(text);
          this.lastSync = { ms: Date.now() - started, commands: text.split('\n').length - 1, at: Date.now() };
        }
        p.applied = next;
      }
      current = undefined;
      await this.announce();
    } catch (err) {
      this.o.logger.warn(`kube-proxy ${this.o.nodeName}: sync failed, resyncing: ${(err as Error).message}`);
      if (current) current.tableReady = false;
      this.again = true;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async address(op: 'add' | 'del', ip: string): Promise<void> {
    await runQuiet(['ip', '-n', this.o.netns, 'addr', op, `${ip}/32`, 'dev', 'lo']);
  }

  /** Holds on `lo` exactly the LoadBalancer addresses this node is the announcer of. */
  private async announce(): Promise<void> {
    if (!this.watchingNodes && this.services.list().some((s) => s.spec?.type === 'LoadBalancer')) {
      this.watchingNodes = true;
      this.nodes.start(); // its first list kicks a sync that announces
    }
    if (!this.nodes.hasSynced) return;
    const ready = this.nodes
      .list()
      .filter(nodeReady)
      .map((n) => n.metadata.name!);
    const want = new Set<string>();
    for (const svc of this.services.list()) {
      if (svc.spec?.type !== 'LoadBalancer') continue;
      const candidates = announceCandidates(svc, this.slices.list(), ready);
      for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
        if (ing.ip && announcingNode(ing.ip, candidates) === this.o.nodeName) want.add(ing.ip);
      }
    }
    for (const ip of want) if (!this.announced.has(ip)) await this.address('add', ip);
    for (const ip of this.announced) if (!want.has(ip)) await this.address('del', ip);
    this.announced = want;
  }
}
