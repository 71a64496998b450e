// The resolved lab topology (what topology.ts makes of a topology file): backend, nodes, pods with their
// containers, impaired links, control plane timeouts. Only types.
import type { AnyBackendName } from '../backend/table.js';
import type { LabDns } from './topology-dns.js';
import type { LabRouter } from './topology-router.js';
import type { LabServices } from './topology-services.js';
export type CapturePoint = 'inner' | 'outer';

export interface LabBackend {
  type: AnyBackendName;
  /** VXLAN network identifier (0 for udp). */
  vni: number;
  /** 0 for host-gw (no port). */
  port: number;
  /** vxlan: flannel's DirectRouting (peers on the same underlay subnet routed without VXLAN). */
  directRouting?: boolean;
}

export interface LabContainer {
  name: string;
  /** `program`: a built-in program (argv[0] is its name); `command`: a host command. */
  kind: 'program' | 'command';
  argv: string[];
}

export interface LabPod {
  name: string;
  /** The Deployment-like template a replica came from (its own name for a plain pod). */
  template: string;
  node: string;
  ip: string;
  netns: string;
  /** The node-side end of the pod's veth (in the node namespace). */
  hostVeth: string;
  containers: LabContainer[];
  /** The topology named the node (`node:`); otherwise the scheduler chooses. */
  pinned?: boolean;
  /** `count`/`replicas` of the template (a Deployment in a live lab); undefined for a plain pod. */
  replicas?: number;
}

export interface LabNode {
  name: string;
  index: number;
  publicIp: string;
  subnet: string;
  /** cni0's address (the subnet's first host), the pods' default gateway. */
  gateway: string;
  vtepMac: string;
  capture: CapturePoint[];
  netns: string;
  /** The node's uplink end in the underlay namespace (attached to br0). */
  underlayPort: string;
  tunDevice: string;
  /** Dual stack (topology `ipv6Network`, topology-ipv6.ts): the node's IPv6 pod subnet and cni0's IPv6 address. */
  ipv6Subnet?: string;
  ipv6Gateway?: string;
  /** IPv6 underlay (topology `ipv6Underlay`): the node's PublicIPv6 on its uplink. */
  publicIpv6?: string;
}

/** Link emulation between two nodes, both ways, applied when the lab comes up. */
export interface LabLink {
  between: [string, string];
  /** Impairment fields as the CLI flags take them (`delay: 20ms`, `loss: 1%`, `loss-burst: ...`). */
  impairment: Record<string, string>;
}

export interface LabTopology {
  name: string;
  /** The file it came from (for messages), or '<inline>'. */
  source: string;
  network: string;
  subnetLen: number;
  backend: LabBackend;
  underlay: string;
  underlayNetns: string;
  /** MTU of the underlay links. */
  mtu: number;
  /** MTU inside the overlay (pods, cni0, TUN): the underlay MTU minus the backend's overhead. */
  podMtu: number;
  nodes: LabNode[];
  pods: LabPod[];
  links: LabLink[];
  /** flanneld's --ip-masq on every node agent (pods reach the `internet` namespace as their node). */
  ipMasq?: boolean;
  /** Live lab: seconds without a node heartbeat until NotReady, then until its pods are evicted. */
  nodeMonitorGracePeriod?: number;
  podEvictionTimeout?: number;
  /** Service CIDR, NodePort range, LoadBalancer pool, client address (absent in states from before). */
  services?: LabServices;
  /** Every pod in Docker containers (topology `runtime: docker`, `lab up --runtime docker`; topology-runtime.ts). */
  runtime?: 'docker';
  /** Cluster DNS: the kube-dns Service address and the cluster domain (topology-dns.ts). */
  dns?: LabDns;
  /** More underlay subnets joined by a router namespace (topology-router.ts); absent: one switch. */
  router?: LabRouter;
  /** Dual stack: flannel's IPv6Network (topology-ipv6.ts); absent: IPv4 only. */
  ipv6Network?: string;
  /** The IPv6 underlay subnet (topology `ipv6Underlay`, e.g. fd00:192:168:1::/64); absent: IPv4 underlay only. */
  ipv6Underlay?: string;
}
