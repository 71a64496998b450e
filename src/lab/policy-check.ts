// `lab policy check SRC DST`, `lab policy log` and the counters of `describe networkpolicy`: the
// evaluator's verdict for one connection (src/policy/evaluate.ts), optionally confirmed by sending it
// (agnhost connect, the built-in one, run in the source pod's or node's network namespace); the denials
// each node's enforcer remembered, with the reason; the counters read back from every node's table.
// Throws KubeApiError/DeviceError when the API or nft do not answer, ConfigError for a bad endpoint.
import { builtinCommand } from '../kubelet/host.js';
import { readNodePolicyState, type NodePolicyState } from '../policy/counters.js';
import { evaluate, explain, type Verdict } from '../policy/evaluate.js';
import type { Proto } from '../policy/peers.js';
import { netnsArgv, runQuiet } from '../sys/run.js';
import { podNamespaces } from './pod-netns.js';
import { loadPolicyView, resolveEndpoint, type Endpoint, type LabPolicyView } from './policy-world.js';
import type { LabTopology } from './topology.js';

export interface CheckRequest {
  src: string;
  dst: string;
  port: number;
  proto: Proto;
  namespace: string;
}

export interface CheckAnswer {
  src: Endpoint;
  dst: Endpoint;
  verdict: Verdict;
  lines: string[];
}

export function checkConnection(v: LabPolicyView, q: CheckRequest): CheckAnswer {
  const src = resolveEndpoint(v, q.src, q.namespace);
  const dst = resolveEndpoint(v, q.dst, q.namespace);
  const verdict = evaluate(v.world, { srcIp: src.ip, dstIp: dst.ip, proto: q.proto, port: q.port, nodeIps: v.nodeIps });
  const head = `${src.label} (${src.ip}) → ${dst.label} (${dst.ip}) ${q.proto.toLowerCase()}/${q.port}: `;
  const [word, ...rest] = explain(verdict);
  return { src, dst, verdict, lines: [`${head}${word}`, ...rest.map((l) => `  ${l}`)] };
}

/** The network namespace a source endpoint sends from (a pod's, or its node's). */
export async function sourceNetns(t: LabTopology, src: Endpoint, v: LabPolicyView): Promise<string | undefined> {
  if (src.pod) return (await podNamespaces(t)).find((n) => n.ip === src.ip)?.netns;
  for (const [name, ips] of v.nodeIps) if (ips.includes(src.ip)) return t.nodes.find((n) => n.name === name)?.netns;
  return undefined;
}

/** agnhost connect from `netns`: true when it connected (TCP) or got an answer (UDP). */
export async function probe(
  netns: string,
  ip: string,
  q: Pick<CheckRequest, 'port' | 'proto'>,
  timeoutS = 2,
): Promise<{ ok: boolean; out: string }> {
  const argv = netnsArgv(netns, [
    ...builtinCommand(),
    'agnhost',
    'connect',
    `${ip}:${q.port}`,
    `--timeout=${timeoutS}s`,
    `--protocol=${q.proto.toLowerCase()}`,
  ]);
  const r = await runQuiet(argv, { timeoutMs: (timeoutS + 10) * 1000 });
  return { ok: r.code === 0, out: r.out };
}

export { loadPolicyView };

export interface LabPolicyState {
  nodes: { node: string; state: NodePolicyState }[];
}

export async function readLabPolicyState(t: LabTopology): Promise<LabPolicyState> {
  const nodes = await Promise.all(
    t.nodes.map(async (n) => ({ node: n.name, state: await readNodePolicyState(n.netns) })),
  );
  return { nodes };
}

/** `lab policy log`: one line per remembered denial, newest state of every node. */
/** One remembered denial (`lab policy log -o json`'s items). */
export interface Denial {
  node: string;
  direction: string;
  source: string;
  destination: string;
  proto: string;
  port: number;
  packets: number;
  reason: string;
}

/** The denials every node's enforcer remembered (only those from or to `pod`, ns/pod, if given). */
export function denials(v: LabPolicyView, s: LabPolicyState, pod?: string): Denial[] {
  const out: Denial[] = [];
  const name = (ip: string): string => {
    const p = v.world.pods.find((x) => x.ip === ip);
    return p ? `${p.namespace}/${p.name}(${ip})` : ip;
  };
  for (const { node, state } of s.nodes) {
    for (const d of state.denials) {
      const label = { src: name(d.src), dst: name(d.dst) };
      if (pod && !label.src.startsWith(`${pod}(`) && !label.dst.startsWith(`${pod}(`)) continue;
      const proto = d.proto.toUpperCase() === 'UDP' ? 'UDP' : 'TCP';
      const vd = evaluate(v.world, { srcIp: d.src, dstIp: d.dst, proto, port: d.port, nodeIps: v.nodeIps });
      const side = d.dir === 'ingress' ? vd.ingress : vd.egress;
      const reason = side.isolated
        ? `${d.dir} of ${side.pod} isolated by ${side.policies.join(', ')}; no rule matches` +
          (side.allowed ? ' (allowed now)' : '')
        : `${d.dir} no longer isolated`;
      out.push({
        node,
        direction: d.dir,
        source: label.src,
        destination: label.dst,
        proto: d.proto,
        port: d.port,
        packets: d.packets,
        reason,
      });
    }
  }
  return out;
}

export function denialLines(v: LabPolicyView, s: LabPolicyState, pod?: string): string[] {
  const rows: string[][] = [['NODE', 'DIRECTION', 'SOURCE', 'DESTINATION', 'PROTO', 'PORT', 'PACKETS', 'REASON']];
  for (const d of denials(v, s, pod))
    rows.push([d.node, d.direction, d.source, d.destination, d.proto, String(d.port), String(d.packets), d.reason]);
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('   '));
}

export { type Endpoint };
