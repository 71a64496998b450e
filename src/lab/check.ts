// `lab check`: Mininet's pingall for a whole cluster. From every running pod (its network
// namespace, found by its podIP) to every other pod and every node's InternalIP: one ping (ICMP echo,
// ~2 s) and one TCP connection attempt (to the target pod's first containerPort, else port 80; a
// node: port 10250), by one prober per source pod for all its targets (check-probe.ts). TCP counts as reachable when the connection opens or is refused
// (a RST came back: the path works both ways); a timeout or an ICMP error fails. Printed as a
// matrix, rows from, columns to, `.` ok, `X` failed (`P` ping only failed, `T` TCP only failed).
// Throws KubeApiError/DeviceError when the API does not answer or fping is missing; the checks themselves
// never throw.
import type { KubeList, Node, Pod } from '../k8s/types.js';
import type { KubeClient } from './kube-client.js';
import { ipv6Targets, isOwnAddress } from './check-ipv6.js';
import { probeSources } from './check-probe.js';
import { podNamespaces } from './pod-netns.js';
import type { LabTopology } from './topology.js';

export interface CheckTarget {
  label: string;
  ip: string;
  port: number;
}

export interface CheckSource {
  label: string;
  netns: string;
  ip: string;
}

export interface CheckResult {
  sources: CheckSource[];
  targets: CheckTarget[];
  /** marks[i][j]: '.', 'X', 'P', 'T' or '-' (itself). */
  marks: string[][];
  failures: number;
  /** Probes that failed the first, quick pass and passed the slower second one (check-probe.ts). */
  recovered?: number;
}

export async function runCheck(client: KubeClient, t: LabTopology): Promise<CheckResult> {
  const pods = (await client.get<KubeList<Pod>>('/api/v1/pods')).items.filter(
    (p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata.deletionTimestamp,
  );
  const nodes = (await client.get<KubeList<Node>>('/api/v1/nodes')).items;
  const byIp = new Map((await podNamespaces(t)).map((n) => [n.ip, n.netns]));
  const sources: CheckSource[] = [];
  for (const p of pods) {
    const netns = byIp.get(p.status!.podIP!);
    if (netns) sources.push({ label: `${p.metadata.name}`, netns, ip: p.status!.podIP! });
  }
  const targets: CheckTarget[] = [
    ...pods.map((p) => ({
      label: p.metadata.name!,
      ip: p.status!.podIP!,
      port: p.spec.containers.flatMap((c) => c.ports ?? [])[0]?.containerPort ?? 80,
    })),
    ...nodes
      .map((n) => ({
        label: n.metadata.name!,
        ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
        port: 10250,
      }))
      .filter((x) => x.ip),
    ...ipv6Targets(pods, (p) => p.spec.containers.flatMap((c) => c.ports ?? [])[0]?.containerPort ?? 80),
  ];
  const marks = sources.map(() => targets.map(() => '-'));
  // one prober per source pod for all its targets (check-probe.ts), not two processes per pair
  const columns = sources.map((s) => targets.flatMap((tg, j) => (isOwnAddress(s, tg) ? [] : [j])));
  const probed = await probeSources(
    sources.map((s, i) => ({ netns: s.netns, targets: columns[i].map((j) => targets[j]) })),
  );
  let failures = 0;
  probed.forEach((r, i) =>
    columns[i].forEach((j, k) => {
      const p = r.ping[k];
      const c = r.tcp[k];
      marks[i][j] = p && c ? '.' : !p && !c ? 'X' : !p ? 'P' : 'T';
      if (!(p && c)) failures++;
    }),
  );
  return { sources, targets, marks, failures, recovered: probed.recovered ?? 0 };
}

export function formatCheck(r: CheckResult): string {
  const w = Math.max(4, ...r.sources.map((s) => s.label.length));
  const idx = r.targets.map((_, j) => String(j + 1));
  const cw = Math.max(...idx.map((x) => x.length), 1) + 1;
  const lines = [`${'FROM \\ TO'.padEnd(w)}  ${idx.map((x) => x.padStart(cw)).join('')}`];
  r.sources.forEach((s, i) => lines.push(`${s.label.padEnd(w)}  ${r.marks[i].map((m) => m.padStart(cw)).join('')}`));
  lines.push('');
  r.targets.forEach((tg, j) => lines.push(`${String(j + 1).padStart(3)} = ${tg.label} ${tg.ip} (tcp ${tg.port})`));
  const total = r.sources.reduce((s, _, i) => s + r.marks[i].filter((m) => m !== '-').length, 0);
  lines.push('');
  lines.push(
    r.failures === 0
      ? `all ${total} pairs reachable (ping and TCP)`
      : `${r.failures} of ${total} pairs FAILED (X both, P ping, T TCP)`,
  );
  if (r.recovered) lines.push(`(${r.recovered} probes answered only the second, slower time: a loaded machine)`);
  return lines.join('\n');
}
