// `lab up` of a live lab: the network (underlay switch, node namespaces with eth0 and cni0; no
// pods: the kubelets make those), the API token, the kubelet configs and the supervisor spec; then
// the supervisor (detached) which runs the control plane, the node agents and the kubelets; then it
// waits for the API, the agents and the Nodes Ready, creates the topology's pods as API objects
// (live-objects.ts) and waits for them Running and Ready. On any failure (or an abort) it removes
// the lab (teardown.ts) and rethrows.
// Throws ConfigError (lab exists), PermissionError, DeviceError (a part did not come up in time,
// naming its log file).
import { requireDocker } from '../kubelet/docker-runtime.js';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, DeviceError } from '../util/errors.js';
import { rpcCall } from '../util/rpc.js';
import type { KubeList, Node, Pod } from '../k8s/types.js';
import { packageRoot } from '../sys/package-root.js';
import { programCommand, waitForAgent } from './agent.js';
import { createInternet } from './internet.js';
import { clusterFileText } from './cluster-file.js';
import { builtinWiringNotice, missingCniPlugins } from './cni-files.js';
import { createClusterDns, waitForClusterDns } from './cluster-dns.js';
import { apiAnswers, KubeClient } from './kube-client.js';
import { LAB_ENV } from './env.js';
import { nodeBatch } from './ip-batches.js';
import { uplinkBatch6 } from './ip-batches6.js';
import { labExists } from './lab.js';
import { supervisorSpec, writeKubeletConfig } from './live-children.js';
import { controlplaneLogFile, kubeletLogFile, livePaths, type LivePaths } from './live-paths.js';
import { topologyObjects } from './live-objects.js';
import { POD_BRIDGE, UNDERLAY_BRIDGE } from './names.js';
import { silentProgress, type Progress } from './progress.js';
import { pidAlive } from './procs.js';
import { writeSpec } from './supervisor.js';
import { controlSocket, labPaths, labRoot, nodeLogFile, writeState, type LabState } from './state.js';
import { ipBatch } from '../sys/run.js';
import { addNetns, NO_DAD, requireLabPrivileges, sysctlIn } from './sys.js';
import { teardownLab } from './teardown.js';
import type { LabNode, LabTopology } from './topology.js';
import { pollUntil } from './wait.js';
import { createClientNetwork } from './live-services.js';
import { createRouter } from './router.js';
import { segmentOf } from './topology-router.js';
import { labHasIpv6 } from './topology-ipv6.js';

export interface LiveUpOptions {
  topology: LabTopology;
  topologyText?: string;
  logLevel?: string;
  /** Directory for the pcap files of nodes with `capture:`. Default `<cwd>/pcaps`. */
  pcapDir?: string;
  signal?: AbortSignal;
  progress?: Progress;
  root?: string;
  /** How long to wait for each stage (API, nodes, pods). Default 60 s, plus 1 s per node over 20. */
  readyTimeoutMs?: number;
  /** V8 CPU profiles of the control plane and the first kubelet go here (bench:scale `--profile`). */
  profileDir?: string;
}

export interface LiveUpResult {
  state: LabState;
  seconds: number;
}

export function readToken(lp: LivePaths): string {
  try {
    return fs.readFileSync(lp.token, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`cannot read the lab's API token ${lp.token}: is the lab running?`, { cause: err });
  }
}

export function labClient(lab: string, root = labRoot()): KubeClient {
  const lp = livePaths(lab, root);
  return new KubeClient({ socket: lp.apiSocket, token: readToken(lp) });
}

/**
 * cni0's MAC, set explicitly as the bridge CNI plugin does (0a:58 + the gateway's address): a bridge
 * without one takes its lowest port's MAC, so deleting a pod could change the gateway's MAC under
 * the other pods' ARP caches and cut them off for seconds.
 */
export function bridgeMac(gateway: string): string {
  return ['0a', '58', ...gateway.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

/**
 * Creates a node's namespace, uplink to the switch and cni0 (no pods); with `cniWired` no cni0: the
 * bridge CNI plugin makes it at the node's first pod.
 */
export async function createNodeNetwork(
  t: LabTopology,
  n: LabNode,
  cniWired = missingCniPlugins().length === 0,
): Promise<void> {
  await addNetns(n.netns);
  await sysctlIn(n.netns, {
    'net.ipv4.ip_forward': 1,
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.default.rp_filter': 0,
    ...(t.ipv6Network ? { 'net.ipv6.conf.all.forwarding': 1 } : {}),
    ...(labHasIpv6(t) ? NO_DAD : {}), // as addNetns's noDad, in the same sysctl run
  });
  const lines = [...nodeBatch({ ...t, pods: [] }, n, !cniWired), ...uplinkBatch6(t, n)];
  await ipBatch(n.netns, cniWired ? lines : [...lines, `link set ${POD_BRIDGE} address ${bridgeMac(n.gateway)}`]);
  await ipBatch(t.underlayNetns, [
    `link set ${n.underlayPort} master ${segmentOf(t, n.publicIp).bridge}`,
    `link set ${n.underlayPort} up`,
  ]);
}

export function nodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function podReady(pod: Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Starts `flannelette lab supervise` detached; resolves with its pid. */
export function startSupervisor(lab: string, lp: LivePaths, root: string): number {
  const fd = fs.openSync(lp.supervisorLog, 'a');
  try {
    const child = spawn(
      process.execPath,
      [path.join(packageRoot(), 'bin', 'flannelette.js'), 'lab', 'supervise', '--name', lab],
      {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, [LAB_ENV]: lab, FLANNELETTE_LAB_ROOT: root },
      },
    );
    if (child.pid === undefined) throw new DeviceError('could not start the lab supervisor');
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

export async function waitForApi(
  client: KubeClient,
  lp: LivePaths,
  supervisorPid: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  await pollUntil(
    async () => {
      if (!pidAlive(supervisorPid)) throw new DeviceError(`the lab supervisor exited; see ${lp.supervisorLog}`);
      return apiAnswers(client);
    },
    { timeoutMs, signal, what: `the control plane to answer on ${lp.apiSocket} (see ${controlplaneLogFile(lp)})` },
  );
}

export async function waitForNodesReady(
  client: KubeClient,
  names: readonly string[],
  lp: LivePaths,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  let missing: string[] = [...names];
  await pollUntil(
    async () => {
      const list = await client.get<KubeList<Node>>('/api/v1/nodes');
      const ready = new Set(list.items.filter(nodeReady).map((n) => n.metadata.name));
      missing = names.filter((n) => !ready.has(n));
      return missing.length === 0;
    },
    {
      timeoutMs,
      signal,
      retryErrors: true, // a busy control plane (100 nodes starting) may miss one answer
      what: () => `node ${missing[0]} to be Ready (see ${kubeletLogFile(lp, missing[0] ?? '')})`,
    },
  );
}

export async function waitForPodsReady(
  client: KubeClient,
  count: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  let last = '';
  await pollUntil(
    async () => {
      const list = await client.get<KubeList<Pod>>('/api/v1/namespaces/default/pods');
      const live = list.items.filter((p) => !p.metadata.deletionTimestamp);
      const notReady = live.filter((p) => !podReady(p));
      last = notReady[0]
        ? `pod ${notReady[0].metadata.name} is ${notReady[0].status?.phase ?? 'Pending'}`
        : `${live.length} of ${count} pods exist`;
      return live.length >= count && notReady.length === 0;
    },
    { timeoutMs, signal, retryErrors: true, what: () => `${count} pods to be Running and Ready (${last})` },
  );
}

export async function liveLabUp(opts: LiveUpOptions): Promise<LiveUpResult> {
  requireLabPrivileges();
  const t = opts.topology;
  if (t.runtime === 'docker') requireDocker(); // one line naming what is missing, before anything is made
  const root = opts.root ?? labRoot();
  const progress = opts.progress ?? silentProgress;
  const timeoutMs = opts.readyTimeoutMs ?? 60_000 + 1000 * Math.max(0, t.nodes.length - 20);
  const started = Date.now();
  if (await labExists(t.name, root)) {
    throw new ConfigError(`lab "${t.name}" already exists; remove it with: flannelette lab down --name ${t.name}`);
  }
  const paths = labPaths(t.name, root);
  const lp = livePaths(t.name, root);
  fs.mkdirSync(paths.logDir, { recursive: true });
  fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  const capturing = t.nodes.some((n) => n.capture.length > 0);
  const pcapDir = capturing ? (opts.pcapDir ?? path.join(process.cwd(), 'pcaps')) : undefined;
  const state: LabState = {
    version: 1,
    topology: t,
    createdAt: started,
    phase: 'starting',
    agents: true,
    pcapDir,
    nodePids: {},
    containerPids: {},
    live: true,
    stoppedNodes: [],
  };
  const check = (): void => opts.signal?.throwIfAborted();
  progress.total(6);
  try {
    fs.writeFileSync(paths.topology, opts.topologyText ?? JSON.stringify(t, null, 2));
    fs.writeFileSync(paths.cluster, clusterFileText(t));
    fs.writeFileSync(lp.token, crypto.randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
    writeState(state, root);

    const missingCni = missingCniPlugins();
    if (missingCni.length > 0) progress.info(builtinWiringNotice(missingCni));
    progress.step(`creating the underlay switch and ${t.nodes.length} node namespaces`);
    await addNetns(t.underlayNetns, labHasIpv6(t));
    await ipBatch(t.underlayNetns, [
      'link set lo up',
      `link add ${UNDERLAY_BRIDGE} type bridge`,
      `link set ${UNDERLAY_BRIDGE} up`,
    ]);
    await createRouter(t);
    for (const n of t.nodes) await createNodeNetwork(t, n);
    await createInternet(t, programCommand(), paths.logDir);
    await createClientNetwork(t);
    for (const n of t.nodes) writeKubeletConfig(t, n, lp);
    check();

    progress.step('starting the supervisor (control plane, node agents, kubelets)');
    if (pcapDir) fs.mkdirSync(pcapDir, { recursive: true });
    writeSpec(
      lp.supervisorSpec,
      supervisorSpec(t, { logLevel: opts.logLevel, pcapDir, root, profileDir: opts.profileDir }),
    );
    const pid = startSupervisor(t.name, lp, root);
    const client = labClient(t.name, root);
    await waitForApi(client, lp, pid, timeoutMs, opts.signal);

    progress.step(`waiting for ${t.nodes.length} node agents`);
    await Promise.all(
      t.nodes.map((n) =>
        waitForAgent(n.name, controlSocket(paths, n.name), nodeLogFile(paths, n.name), () => pidAlive(pid), timeoutMs),
      ),
    );
    for (const link of t.links) {
      for (const [from, to] of [link.between, [link.between[1], link.between[0]]]) {
        await rpcCall(controlSocket(paths, from), 'impair', { to, fields: link.impairment });
      }
    }

    progress.step(`waiting for ${t.nodes.length} nodes to be Ready`);
    await waitForNodesReady(
      client,
      t.nodes.map((n) => n.name),
      lp,
      timeoutMs,
      opts.signal,
    );

    await createClusterDns(client, t);
    const objects = topologyObjects(t);
    progress.step(`creating ${objects.length} objects (${t.pods.length} pods)`);
    for (const o of objects) {
      const plural =
        o.kind === 'Pod' ? '/api/v1/namespaces/default/pods' : '/apis/apps/v1/namespaces/default/deployments';
      await client.create(plural, o);
    }

    progress.step(`waiting for ${t.pods.length} pods to be Running`);
    await waitForPodsReady(client, t.pods.length, timeoutMs, opts.signal);
    await waitForClusterDns(client, podReady, timeoutMs, opts.signal);
    state.phase = 'running';
    writeState(state, root);
    progress.end();
    return { state, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    progress.end();
    progress.info(`lab up failed; removing lab ${t.name}`);
    await teardownLab(t.name, { root }).catch((e: unknown) => progress.info(`cleanup: ${(e as Error).message}`));
    throw err;
  }
}
