// What the supervisor of a live lab runs, per K8S-CONTRACT.md: the control plane (root network
// namespace), each node's agent (`flannelette node`, in the node's namespace) and each node's
// kubelet (root namespace, config at `<dir>/nodes/<node>/kubelet.json`). Builds the supervisor spec
// and the kubelet configs from the lab state; writes files (kubelet config mode 0600). Throws only
// what fs throws.
import fs from 'node:fs';
import path from 'node:path';
import { FLANNEL_ANNOTATIONS } from '../k8s/types.js';
import type { KubeletConfig } from '../kubelet/config.js';
import { packageRoot } from '../sys/package-root.js';
import { agentArgs, agentCommand } from './agent.js';
import { kubeletCniConfig, nodeSubnetFile, writeNodeConflist } from './cni-files.js';
import { LAB_ENV } from './env.js';
import {
  controlplaneLogFile,
  kubeletConfigFile,
  kubeletLogFile,
  kubeletSocket,
  livePaths,
  nodeStateDir,
  type LivePaths,
} from './live-paths.js';
import { labPrefix } from './names.js';
import { serviceArgs } from './live-services.js';
import { controlSocket, labPaths, labRoot, nodeLogFile } from './state.js';
import type { ChildSpec, SupervisorSpec } from './supervisor.js';
import type { LabNode, LabTopology } from './topology.js';

export function kubeletConfig(t: LabTopology, n: LabNode, lp: LivePaths): KubeletConfig {
  const backendData = t.backend.type === 'vxlan' ? JSON.stringify({ VNI: t.backend.vni, VtepMAC: n.vtepMac }) : 'null';
  return {
    nodeName: n.name,
    lab: t.name,
    labDir: lp.dir,
    netnsPrefix: labPrefix(t.name),
    nodeNetns: n.netns,
    podCIDR: n.subnet,
    gateway: n.gateway,
    bridge: 'cni0',
    mtu: t.podMtu,
    publicIp: n.publicIp,
    apiSocket: lp.apiSocket,
    tokenFile: lp.token,
    stateDir: nodeStateDir(lp, n.name),
    socket: kubeletSocket(lp, n.name),
    annotations: {
      [FLANNEL_ANNOTATIONS.backendData]: backendData,
      [FLANNEL_ANNOTATIONS.backendType]: t.backend.type,
      [FLANNEL_ANNOTATIONS.publicIp]: n.publicIp,
      [FLANNEL_ANNOTATIONS.kubeSubnetManager]: 'true',
    },
    labels: {},
    images: {},
    cni: kubeletCniConfig(lp, n.name),
    clusterCIDR: t.network,
    ...(t.ipv6Network ? { clusterCIDR6: t.ipv6Network } : {}),
    ...(t.dns ? { clusterDNS: [t.dns.clusterIP], clusterDomain: t.dns.domain } : {}),
    ...(t.runtime ? { defaultRuntime: t.runtime } : {}),
    // kube's own nodeStatusUpdateFrequency (10 s, with the 40 s grace of big labs): 2 s heartbeats from
    // 100 nodes were 50 PATCHes a second, the control plane's largest cost at idle
    ...(t.nodes.length > BIG_LAB_NODES ? { heartbeatMs: BIG_LAB_HEARTBEAT_MS } : {}),
  };
}

/** The kubelets' heartbeat period in labs over BIG_LAB_NODES nodes. */
export const BIG_LAB_HEARTBEAT_MS = 10_000;

export function writeKubeletConfig(t: LabTopology, n: LabNode, lp: LivePaths): void {
  fs.mkdirSync(nodeStateDir(lp, n.name), { recursive: true, mode: 0o700 });
  const cfg = kubeletConfig(t, n, lp);
  if (cfg.cni) writeNodeConflist(lp, n.name, cfg.cni.confFile);
  fs.writeFileSync(kubeletConfigFile(lp, n.name), JSON.stringify(cfg, null, 2), { mode: 0o600 });
}

export interface ChildOptions {
  logLevel?: string;
  /** Nodes whose agent and kubelet are stopped (`lab node stop`). */
  stoppedNodes?: readonly string[];
  /** Where agents of nodes with `capture:` write pcap files (captures are off without it). */
  pcapDir?: string;
  root?: string;
  /** How many children the supervisor starts at once (default START_CONCURRENCY). */
  startConcurrency?: number;
  /** V8 CPU profiles (`--cpu-prof`) of the control plane and the first node's kubelet go here (bench:scale). */
  profileDir?: string;
}

/**
 * Children started at once by the supervisor, each until its socket exists: on 2 cores a 100-node lab
 * (201 Node.js processes, each mostly CPU while it loads) comes up faster a few at a time than all at once.
 */
export const START_CONCURRENCY = 8;

/** Labs with more nodes than this get kube's own node timeouts unless the topology sets them. */
export const BIG_LAB_NODES = 20;

/**
 * The controlplane's extra flags from the topology's timeouts. A lab over BIG_LAB_NODES nodes defaults to
 * kube's 40 s grace and 300 s eviction (small labs: 10 s and 30 s, for quick tests): while 100 kubelets
 * start their pods on 2 cores a heartbeat can come 10 s late, and nodes marked NotReady got their pods
 * evicted and recreated, over and over (the 100-node lab never reached Running that way).
 */
export function controlplaneArgs(t: LabTopology, lp: LivePaths): string[] {
  const args = ['controlplane', '--dir', lp.dir];
  const big = t.nodes.length > BIG_LAB_NODES;
  const grace = t.nodeMonitorGracePeriod ?? (big ? 40 : undefined);
  const eviction = t.podEvictionTimeout ?? (big ? 300 : undefined);
  if (grace !== undefined) args.push('--node-monitor-grace-period', `${grace}s`);
  if (eviction !== undefined) args.push('--pod-eviction-timeout', `${eviction}s`);
  args.push(...serviceArgs(t));
  return args;
}

export function supervisorSpec(t: LabTopology, o: ChildOptions = {}): SupervisorSpec {
  const root = o.root ?? labRoot();
  const lp = livePaths(t.name, root);
  const paths = labPaths(t.name, root);
  const bin = [process.execPath, path.join(packageRoot(), 'bin', 'flannelette.js')];
  const env = { [LAB_ENV]: t.name, FLANNELETTE_LAB_ROOT: root };
  const stopped = new Set(o.stoppedNodes ?? []);
  const prof = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const profiled = (argv: string[]): string[] => [argv[0], ...prof, ...argv.slice(1)];
  const children: ChildSpec[] = [
    {
      name: 'controlplane',
      argv: profiled([...bin, ...controlplaneArgs(t, lp)]),
      logFile: controlplaneLogFile(lp),
      env,
      readyPath: lp.apiSocket,
      nice: -5,
    },
  ];
  for (const n of t.nodes) {
    const args = agentArgs({
      clusterFile: paths.cluster,
      node: n.name,
      stateDir: paths.runDir,
      capture: o.pcapDir ? n.capture : [],
      pcapDir: o.pcapDir,
      logLevel: o.logLevel,
      subnetFile: nodeSubnetFile(lp, n.name),
      ipMasq: t.ipMasq,
    });
    children.push({
      name: `agent/${n.name}`,
      argv: [...agentCommand(), ...args],
      netns: n.netns,
      logFile: nodeLogFile(paths, n.name),
      env: { ...env, NODE_NAME: n.name },
      stopped: stopped.has(n.name),
      readyPath: controlSocket(paths, n.name),
    });
    children.push({
      name: `kubelet/${n.name}`,
      argv: (n === t.nodes[0] ? profiled : (a: string[]) => a)([
        ...bin,
        'kubelet',
        '--config',
        kubeletConfigFile(lp, n.name),
      ]),
      logFile: kubeletLogFile(lp, n.name),
      env: { ...env, NODE_NAME: n.name },
      stopped: stopped.has(n.name),
      readyPath: kubeletSocket(lp, n.name),
    });
  }
  return { lab: t.name, children, startConcurrency: o.startConcurrency ?? START_CONCURRENCY };
}
