// `lab status` of a live lab, one screen: the control plane (pid, restarts, URL), the nodes (API
// status, subnet, public IP, the agent's TUN/MTU/peers from its control socket, the agent's
// restart count from the supervisor, age) and the pods as `kubectl get pods -o wide` prints them
// (a server Table). collectLiveStatus never throws for an unhealthy lab: what does not answer is
// reported as such.
import fs from 'node:fs';
import { rpcCall } from '../util/rpc.js';
import type { KubeList, Node } from '../k8s/types.js';
import { formatServerTable, humanDuration, tabwrite } from './kubectl-format.js';
import { KubeClient } from './kube-client.js';
import { livePaths } from './live-paths.js';
import { controlSocket, labPaths, labRoot, type LabState } from './state.js';
import { readSupervisorStatus } from './supervisor.js';
import { pidAlive } from './procs.js';

export interface LiveNodeRow {
  name: string;
  status: string;
  agent: string;
  subnet: string;
  publicIp: string;
  tun: string;
  mtu: string;
  peers: string;
  restarts: number;
  kubeletRestarts: number;
  ageSeconds: number;
}

export interface LiveStatusReport {
  name: string;
  backend: string;
  supervisor: string;
  controlPlane: { state: string; pid?: number; restarts: number; url?: string };
  nodes: LiveNodeRow[];
  /** `kubectl get pods -A -o wide` as printed, or why it could not be read. */
  pods: string;
}

function nodeStatusWord(n: Node | undefined): string {
  if (!n) return 'NotRegistered';
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  const word = ready?.status === 'True' ? 'Ready' : 'NotReady';
  return n.spec.unschedulable ? `${word},SchedulingDisabled` : word;
}

export async function collectLiveStatus(
  state: LabState,
  root = labRoot(),
  now = Date.now(),
): Promise<LiveStatusReport> {
  const t = state.topology;
  const lp = livePaths(t.name, root);
  const paths = labPaths(t.name, root);
  const sup = readSupervisorStatus(lp.supervisorStatus);
  let supPid: number | undefined;
  try {
    supPid = Number(fs.readFileSync(lp.supervisorPid, 'utf8').trim());
  } catch {
    supPid = undefined;
  }
  const child = (name: string): { state: string; pid?: number; restarts: number } => {
    const c = sup?.children[name];
    return { state: c?.state ?? 'unknown', pid: c?.pid, restarts: c?.restarts ?? 0 };
  };
  let url: string | undefined;
  try {
    url = (JSON.parse(fs.readFileSync(lp.controlplaneJson, 'utf8')) as { url?: string }).url;
  } catch {
    url = undefined;
  }
  let token = '';
  try {
    token = fs.readFileSync(lp.token, 'utf8').trim();
  } catch {
    // reported through the failing calls
  }
  const client = new KubeClient({ socket: lp.apiSocket, token, timeoutMs: 3000 });
  let apiNodes = new Map<string, Node>();
  let pods: string;
  try {
    apiNodes = new Map((await client.get<KubeList<Node>>('/api/v1/nodes')).items.map((n) => [n.metadata.name!, n]));
    const table = await client.table('/api/v1/pods');
    pods = formatServerTable(table, { wide: true, withNamespace: true, now }) || 'No resources found';
  } catch (err) {
    pods = `(the API does not answer: ${(err as Error).message})`;
  }
  const nodes = await Promise.all(
    t.nodes.map(async (n): Promise<LiveNodeRow> => {
      const agent = child(`agent/${n.name}`);
      const row: LiveNodeRow = {
        name: n.name,
        status: nodeStatusWord(apiNodes.get(n.name)),
        agent: agent.state === 'stopped' ? 'stopped' : 'unreachable',
        subnet: n.subnet,
        publicIp: n.publicIp,
        tun: n.tunDevice,
        mtu: '-',
        peers: '-',
        restarts: agent.restarts,
        kubeletRestarts: child(`kubelet/${n.name}`).restarts,
        ageSeconds: (now - state.createdAt) / 1000,
      };
      if (agent.state === 'stopped') return row;
      try {
        const s = (await rpcCall(controlSocket(paths, n.name), 'status', {}, { timeoutMs: 1500 })) as {
          tun?: string;
          mtu?: number;
          peers?: unknown[];
        };
        row.agent = 'up';
        row.tun = s.tun ?? row.tun;
        row.mtu = s.mtu !== undefined ? String(s.mtu) : '-';
        row.peers = Array.isArray(s.peers) ? String(s.peers.length) : '-';
      } catch {
        // unreachable
      }
      return row;
    }),
  );
  const cp = child('controlplane');
  return {
    name: t.name,
    backend: t.backend.type,
    supervisor: supPid !== undefined && pidAlive(supPid) ? `running (pid ${supPid})` : 'not running',
    controlPlane: { ...cp, url },
    nodes,
    pods,
  };
}

export function formatLiveStatus(r: LiveStatusReport): string {
  const cp = r.controlPlane;
  const nodeRows = [
    ['NAME', 'STATUS', 'AGENT', 'SUBNET', 'PUBLIC-IP', 'TUN', 'MTU', 'PEERS', 'RESTARTS', 'AGE'],
    ...r.nodes.map((n) => [
      n.name,
      n.status,
      n.agent,
      n.subnet,
      n.publicIp,
      n.tun,
      n.mtu,
      n.peers,
      String(n.restarts),
      humanDuration(n.ageSeconds * 1000),
    ]),
  ];
  return [
    `lab ${r.name} (${r.backend} backend)   supervisor: ${r.supervisor}`,
    `control plane: ${cp.state}${cp.pid ? ` (pid ${cp.pid})` : ''}, restarts ${cp.restarts}${cp.url ? `, ${cp.url}` : ''}`,
    '',
    ...tabwrite(nodeRows),
    '',
    r.pods,
  ].join('\n');
}
