// What `lab status` shows: pods like `kubectl get pods -o wide` (NAME READY STATUS RESTARTS AGE IP
// NODE) and nodes with their subnet, public IP, TUN device and health, the latter from each node
// agent's control socket (`status` rpc; `unreachable` when it does not answer).
// collectStatus never throws for an unhealthy lab (that is what it reports); format* are pure.
import type { StatusReply } from '../node/rpc-handlers.js';
import { rpcCall } from '../util/rpc.js';
import { formatAge, formatTable } from '../util/text-table.js';
import { controlSocket, labPaths, labRoot, type LabState } from './state.js';
import { netnsInode, pidInNetns } from './sys.js';

export interface PodRow {
  name: string;
  ready: number;
  total: number;
  status: string;
  restarts: number;
  ageSeconds: number;
  ip: string;
  node: string;
}

export interface NodeRow {
  name: string;
  health: string;
  subnet: string;
  publicIp: string;
  tun: string;
  mtu: string;
  peers: string;
  ageSeconds: number;
}

export interface LabStatusReport {
  name: string;
  backend: string;
  pods: PodRow[];
  nodes: NodeRow[];
}

export function podStatusWord(alive: number, total: number, netnsPresent: boolean): string {
  if (!netnsPresent) return 'Missing';
  if (alive === total) return 'Running';
  return alive === 0 ? 'Terminated' : 'NotReady';
}

/** An agent's `status` reply; read defensively (any field may be missing from another version). */
type AgentStatus = Partial<StatusReply>;

export async function collectStatus(state: LabState, now = Date.now(), root = labRoot()): Promise<LabStatusReport> {
  const t = state.topology;
  const age = (now - state.createdAt) / 1000;
  const pods = t.pods.map((p): PodRow => {
    const ino = netnsInode(p.netns);
    const alive = p.containers.filter((c) => {
      const pid = state.containerPids[`${p.name}/${c.name}`];
      return pid !== undefined && pidInNetns(pid, ino);
    }).length;
    return {
      name: p.name,
      ready: alive,
      total: p.containers.length,
      status: podStatusWord(alive, p.containers.length, ino !== undefined),
      restarts: 0,
      ageSeconds: age,
      ip: p.ip,
      node: p.node,
    };
  });
  const paths = labPaths(t.name, root);
  const nodes = await Promise.all(
    t.nodes.map(async (n): Promise<NodeRow> => {
      const row: NodeRow = {
        name: n.name,
        health: 'no agent',
        subnet: n.subnet,
        publicIp: n.publicIp,
        tun: '-',
        mtu: '-',
        peers: '-',
        ageSeconds: age,
      };
      if (!state.agents) return row;
      try {
        const s = (await rpcCall(controlSocket(paths, n.name), 'status', {}, { timeoutMs: 1500 })) as AgentStatus;
        row.health = 'Ready';
        row.tun = s.tun ?? n.tunDevice;
        row.mtu = s.mtu !== undefined ? String(s.mtu) : '-';
        row.peers = Array.isArray(s.peers) ? String(s.peers.length) : '-';
        if (typeof s.uptimeSeconds === 'number') row.ageSeconds = s.uptimeSeconds;
      } catch {
        row.health = 'unreachable';
        row.tun = n.tunDevice;
      }
      return row;
    }),
  );
  return { name: t.name, backend: t.backend.type, pods, nodes };
}

export function formatPods(rows: readonly PodRow[]): string {
  return formatTable(
    ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE'],
    rows.map((r) => [
      r.name,
      `${r.ready}/${r.total}`,
      r.status,
      String(r.restarts),
      formatAge(r.ageSeconds),
      r.ip,
      r.node,
    ]),
  );
}

export function formatNodes(rows: readonly NodeRow[]): string {
  return formatTable(
    ['NAME', 'STATUS', 'SUBNET', 'PUBLIC-IP', 'TUN', 'MTU', 'PEERS', 'AGE'],
    rows.map((r) => [r.name, r.health, r.subnet, r.publicIp, r.tun, r.mtu, r.peers, formatAge(r.ageSeconds)]),
  );
}

export function formatStatus(report: LabStatusReport): string {
  return [
    `lab ${report.name} (${report.backend} backend)`,
    '',
    formatNodes(report.nodes),
    '',
    formatPods(report.pods),
  ].join('\n');
}
