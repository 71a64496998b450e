// Node lifecycle of a live lab (`lab node stop|start|add|delete NAME`):
// - stop: the supervisor stops the node's agent and kubelet (spec `stopped`, SIGHUP), then every
//   process in the node's pod namespaces is killed (in attached ones, the user's, only those carrying the lab's
//   FLT_LAB mark): the node goes NotReady once the control
//   plane's node-monitor grace period passes, its pods are unreachable, and only after the pod
//   eviction timeout are they deleted and replaced elsewhere (as Kubernetes' node lifecycle does).
// - start: agent and kubelet run again with the same subnet (the kubelet restarts its pods).
// - add: a new node namespace, uplink and cni0, the next free subnet and underlay address, the
//   cluster file regenerated and every running agent SIGHUP'd (they re-read it), agent + kubelet
//   started by the supervisor; waits for the agent and the Node Ready.
// - delete: cordon, delete its pods and wait for them gone (drain), delete the Node, stop its
//   agent and kubelet, remove its namespaces, regenerate the cluster file and SIGHUP the others.
// Throws ConfigError (unknown/duplicate node, bad address, no free subnet), DeviceError (timeouts).
import fs from 'node:fs';
import { Cidr, formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { ConfigError } from '../util/errors.js';
import type { KubeList, Pod } from '../k8s/types.js';
import { waitForAgent } from './agent.js';
import { clusterFileText } from './cluster-file.js';
import { KubeApiError } from './kube-client.js';
import { gatewayOf, nextFreeHost, nextFreeSubnet } from './ipam.js';
import { supervisorSpec, writeKubeletConfig } from './live-children.js';
import { createNodeNetwork, labClient, waitForNodesReady } from './live-lab.js';
import { livePaths } from './live-paths.js';
import { nodeNetns, OBJECT_NAME_RE, tunDeviceName, underlayPortName, vtepMac } from './names.js';
import { inSubnet, killAllIn, podNamespaces } from './pod-netns.js';
import { attachedNetnsNames, removeAttachedIface } from './attached-netns.js';
import { pidAlive } from './procs.js';
import { controlSocket, labPaths, labRoot, nodeLogFile, writeState, type LabState } from './state.js';
import { readSupervisorStatus, writeSpec } from './supervisor.js';
import { deleteNetns } from './sys.js';
import type { LabNode } from './topology.js';
import { pollUntil } from './wait.js';
import { newNodeIpv6 } from './topology-ipv6.js';

export interface NodeOpOptions {
  root?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

function findNode(state: LabState, name: string): LabNode {
  const n = state.topology.nodes.find((x) => x.name === name);
  if (!n)
    throw new ConfigError(
      `lab ${state.topology.name} has no node "${name}" (nodes: ${state.topology.nodes.map((x) => x.name).join(', ')})`,
    );
  return n;
}

function supervisorPid(state: LabState, root: string): number {
  const lp = livePaths(state.topology.name, root);
  const pid = Number(fs.readFileSync(lp.supervisorPid, 'utf8').trim());
  if (!pidAlive(pid))
    throw new ConfigError(`the supervisor of lab ${state.topology.name} is not running; recreate the lab`);
  return pid;
}

/** Writes the supervisor spec for the state's nodes and tells the supervisor (SIGHUP). */
function respec(state: LabState, root: string): void {
  const lp = livePaths(state.topology.name, root);
  writeSpec(
    lp.supervisorSpec,
    supervisorSpec(state.topology, { stoppedNodes: state.stoppedNodes, pcapDir: state.pcapDir, root }),
  );
  process.kill(supervisorPid(state, root), 'SIGHUP');
}

/** Regenerates the cluster file and SIGHUPs every running agent so it re-reads it. */
function announceMembership(state: LabState, root: string): void {
  const lp = livePaths(state.topology.name, root);
  fs.writeFileSync(labPaths(state.topology.name, root).cluster, clusterFileText(state.topology));
  const sup = readSupervisorStatus(lp.supervisorStatus);
  for (const [name, c] of Object.entries(sup?.children ?? {})) {
    if (!name.startsWith('agent/') || !c.pid) continue;
    try {
      process.kill(c.pid, 'SIGHUP');
    } catch {
      // exited meanwhile; the supervisor restarts it with the new file
    }
  }
}

async function waitChildrenStopped(state: LabState, node: string, root: string, timeoutMs: number): Promise<void> {
  const lp = livePaths(state.topology.name, root);
  await pollUntil(
    () => {
      const sup = readSupervisorStatus(lp.supervisorStatus);
      return [`agent/${node}`, `kubelet/${node}`].every((c) => {
        const s = sup?.children[c];
        return !s || (s.state === 'stopped' && !s.pid);
      });
    },
    { timeoutMs, what: `the agent and kubelet of ${node} to stop` },
  );
}

export async function stopNode(state: LabState, name: string, o: NodeOpOptions = {}): Promise<number> {
  const root = o.root ?? labRoot();
  const n = findNode(state, name);
  const stopped = new Set(state.stoppedNodes ?? []);
  if (stopped.has(name)) throw new ConfigError(`node ${name} is already stopped`);
  stopped.add(name);
  state.stoppedNodes = [...stopped];
  writeState(state, root);
  respec(state, root);
  await waitChildrenStopped(state, name, root, o.timeoutMs ?? 15_000);
  const pods = inSubnet(await podNamespaces(state.topology), n.subnet);
  const lab = state.topology.name;
  const attached = attachedNetnsNames(livePaths(lab, root).dir); // the user's: only the lab's processes there die
  const ours = pods.map((p) => p.netns).filter((ns) => !attached.has(ns));
  const users = pods.map((p) => p.netns).filter((ns) => attached.has(ns));
  return (await killAllIn(ours)) + (await killAllIn(users, lab));
}

export async function startNode(state: LabState, name: string, o: NodeOpOptions = {}): Promise<void> {
  const root = o.root ?? labRoot();
  const n = findNode(state, name);
  if (!(state.stoppedNodes ?? []).includes(name)) throw new ConfigError(`node ${name} is not stopped`);
  state.stoppedNodes = (state.stoppedNodes ?? []).filter((x) => x !== name);
  writeState(state, root);
  respec(state, root);
  const paths = labPaths(state.topology.name, root);
  const timeoutMs = o.timeoutMs ?? 60_000;
  await waitForAgent(n.name, controlSocket(paths, n.name), nodeLogFile(paths, n.name), () => true, timeoutMs);
  await waitForNodesReady(
    labClient(state.topology.name, root),
    [name],
    livePaths(state.topology.name, root),
    timeoutMs,
  );
}

export interface AddNodeOptions extends NodeOpOptions {
  publicIp?: string;
}

export function newNode(state: LabState, name: string, publicIp?: string): LabNode {
  const t = state.topology;
  if (!OBJECT_NAME_RE.test(name) || name === 'underlay')
    throw new ConfigError(`"${name}" is not a valid node name (lowercase letters, digits and '-')`);
  if (t.nodes.some((n) => n.name === name)) throw new ConfigError(`lab ${t.name} already has a node "${name}"`);
  const underlay = Cidr.parse(t.underlay);
  const takenIps = new Set(t.nodes.map((n) => parseIpv4(n.publicIp)));
  let ip: number | undefined;
  if (publicIp !== undefined) {
    try {
      ip = parseIpv4(publicIp);
    } catch {
      throw new ConfigError(`--public-ip: "${publicIp}" is not an IPv4 address`);
    }
    if (!underlay.contains(ip) || ip === underlay.network || ip === underlay.broadcast)
      throw new ConfigError(`--public-ip: ${publicIp} is not a host address of the underlay ${t.underlay}`);
    if (takenIps.has(ip)) throw new ConfigError(`--public-ip: ${publicIp} is already a node's address`);
  } else {
    ip = nextFreeHost(underlay, takenIps);
    if (ip === undefined) throw new ConfigError(`the underlay ${t.underlay} is full`);
  }
  const subnet = nextFreeSubnet(
    Cidr.parse(t.network),
    t.subnetLen,
    t.nodes.map((n) => Cidr.parse(n.subnet)),
  );
  if (!subnet) throw new ConfigError(`the pod network ${t.network} has no free /${t.subnetLen} left`);
  const index = Math.max(-1, ...t.nodes.map((n) => n.index)) + 1;
  const v6 = newNodeIpv6(t, subnet, ip);
  return {
    ...v6,
    name,
    index,
    publicIp: formatIpv4(ip),
    subnet: subnet.toString(),
    gateway: formatIpv4(gatewayOf(subnet)),
    vtepMac: vtepMac(index),
    capture: [],
    netns: nodeNetns(t.name, name),
    underlayPort: underlayPortName(name, index),
    tunDevice: tunDeviceName(t.backend.type),
  };
}

export async function addNode(state: LabState, name: string, o: AddNodeOptions = {}): Promise<LabNode> {
  const root = o.root ?? labRoot();
  const n = newNode(state, name, o.publicIp);
  const t = state.topology;
  const lp = livePaths(t.name, root);
  await createNodeNetwork(t, n);
  t.nodes.push(n);
  writeState(state, root);
  writeKubeletConfig(t, n, lp);
  announceMembership(state, root);
  respec(state, root);
  const paths = labPaths(t.name, root);
  const timeoutMs = o.timeoutMs ?? 60_000;
  await waitForAgent(n.name, controlSocket(paths, n.name), nodeLogFile(paths, n.name), () => true, timeoutMs);
  await waitForNodesReady(labClient(t.name, root), [name], lp, timeoutMs);
  return n;
}

export async function deleteNode(state: LabState, name: string, o: NodeOpOptions = {}): Promise<number> {
  const root = o.root ?? labRoot();
  const n = findNode(state, name);
  const t = state.topology;
  if (t.nodes.length === 1)
    throw new ConfigError(
      `node ${name} is the lab's last node; remove the lab with: flannelette lab down --name ${t.name}`,
    );
  const client = labClient(t.name, root);
  const timeoutMs = o.timeoutMs ?? 60_000;
  const nodePath = `/api/v1/nodes/${encodeURIComponent(name)}`;
  const podsOn = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`;
  await client.patch(nodePath, { spec: { unschedulable: true } }).catch((e: unknown) => {
    if (!(e instanceof KubeApiError && e.httpStatus === 404)) throw e;
  });
  const pods = (await client.get<KubeList<Pod>>(podsOn)).items;
  const stopped = (state.stoppedNodes ?? []).includes(name);
  for (const p of pods) {
    const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
    // a stopped node's kubelet cannot finish a graceful delete: remove those pods at once
    await client.delete(path, stopped ? { gracePeriodSeconds: 0 } : undefined).catch(() => undefined);
    o.log?.(`pod/${p.metadata.name} evicted`);
  }
  await pollUntil(async () => (await client.get<KubeList<Pod>>(podsOn)).items.length === 0, {
    timeoutMs,
    what: `the pods of ${name} to be deleted`,
  });
  await client.delete(nodePath).catch(() => undefined);
  state.stoppedNodes = (state.stoppedNodes ?? []).filter((x) => x !== name);
  t.nodes = t.nodes.filter((x) => x.name !== name);
  writeState(state, root);
  respec(state, root);
  await waitChildrenStopped({ ...state, topology: { ...t, nodes: [...t.nodes, n] } }, name, root, 15_000).catch(
    () => undefined,
  );
  const leftovers = inSubnet(await podNamespaces({ ...t, nodes: [...t.nodes, n] }), n.subnet);
  const attached = attachedNetnsNames(livePaths(t.name, root).dir); // the user's: unmounted, only the lab's killed
  await killAllIn([...leftovers.map((p) => p.netns).filter((ns) => !attached.has(ns)), n.netns]);
  await killAllIn(
    leftovers.map((p) => p.netns).filter((ns) => attached.has(ns)),
    t.name,
  );
  for (const ns of leftovers.map((p) => p.netns).filter((x) => attached.has(x))) await removeAttachedIface(ns);
  for (const ns of [...leftovers.map((p) => p.netns), n.netns]) await deleteNetns(ns).catch(() => undefined);
  fs.rmSync(livePaths(t.name, root).dir + `/nodes/${name}`, { recursive: true, force: true });
  announceMembership(state, root);
  return pods.length;
}
