// What one node's `table ip kube-proxy` does with a packet to a Service address, without sending it
// (`flannelette lab trace`). It builds the node's rules with the same buildModel + buildRuleset that
// kube-proxy programs into nft, then walks them: the `services` chain's lookup in `service-ips`
// (ClusterIP, LoadBalancer address) or, for one of the node's own addresses, `service-nodeports`; the
// `no-endpoint-*` maps (reject); then the chains it jumps to, rule by rule, reading each rule's text as
// ruleset.ts wrote it (masquerade marks, affinity sets, `numgen random mod N`, `dnat to`). A rule it does
// not recognise is named in the steps, never skipped silently, so the explanation cannot drift from the
// rules. Pure; never throws.
import { Cidr, isIpv4, parseIpv4 } from '../addr/ipv4.js';
import type { EndpointSlice, Service } from '../k8s/service-types.js';
import { buildModel } from './model.js';
import { MASQ_MARK, buildRuleset, type Ruleset } from './ruleset.js';

export interface ServicePacket {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp';
  port: number;
}

export interface ExplainNode {
  name: string;
  clusterCidr: string;
  /** The node's own addresses (`fib … type local`): InternalIP, cni0's, the TUN's. */
  localAddresses: string[];
  /** Which endpoint to follow after numgen (an IP); default the first. */
  endpoint?: string;
}

export interface TraceEndpoint {
  chain: string;
  ip: string;
  port: number;
  /** numgen's share, `1/N`. */
  probability: string;
}

export interface ServiceTrace {
  verdict: 'dnat' | 'reject' | 'drop' | 'not-a-service';
  node: string;
  map?: { name: string; key: string; verdict: string };
  /** Chains walked, in order. */
  chains: string[];
  /** The endpoint chains numgen picks from (the last numgen walked). */
  endpoints: TraceEndpoint[];
  affinity?: { timeoutSeconds: number; sets: string[] };
  masquerade: boolean;
  masqueradeReasons: string[];
  dnat?: { ip: string; port: number; chain: string };
  steps: string[];
}

const inCidr = (ip: string, cidr: string): boolean => isIpv4(ip) && Cidr.parse(cidr).contains(parseIpv4(ip));

/** The rules of one node for these objects, and what they do with `pkt`. */
export function explainServicePacket(
  services: Service[],
  slices: EndpointSlice[],
  node: ExplainNode,
  pkt: ServicePacket,
): ServiceTrace {
  const ruleset = buildRuleset(buildModel(services, slices, node.name), { clusterCidr: node.clusterCidr });
  return explainWithRuleset(ruleset, node, pkt);
}

export function explainWithRuleset(rs: Ruleset, node: ExplainNode, pkt: ServicePacket): ServiceTrace {
  const t: ServiceTrace = {
    verdict: 'not-a-service',
    node: node.name,
    chains: [],
    endpoints: [],
    masquerade: false,
    masqueradeReasons: [],
    steps: [],
  };
  const say = (s: string): void => void t.steps.push(s);
  const dstLocal = node.localAddresses.includes(pkt.dst) && !inCidr(pkt.dst, '127.0.0.0/8');
  const srcLocal = node.localAddresses.includes(pkt.src);
  const ipKey = `${pkt.dst} . ${pkt.proto} . ${pkt.port}`;
  const portKey = `${pkt.proto} . ${pkt.port}`;
  say(`packet: ${pkt.proto} ${pkt.src} → ${pkt.dst}:${pkt.port}, through table ip kube-proxy on ${node.name}`);
  const lookups: [string, string, boolean][] = [
    ['service-ips', ipKey, true],
    ['service-nodeports', portKey, dstLocal],
    ['no-endpoint-services', ipKey, true],
    ['no-endpoint-nodeports', portKey, dstLocal],
  ];
  let start: string | undefined;
  for (const [map, key, applies] of lookups) {
    const verdict = applies ? rs.elements.get(map)?.get(key) : undefined;
    if (!verdict) continue;
    t.map = { name: map, key, verdict };
    say(`${map}: ${key} : ${verdict}${map.endsWith('nodeports') ? ` (${pkt.dst} is this node's address)` : ''}`);
    start = /^goto (\S+)$/.exec(verdict)?.[1];
    break;
  }
  if (!start) {
    say(`no entry for ${ipKey}${dstLocal ? ` or ${portKey}` : ''}: not a Service address here; kube-proxy leaves it`);
    return t;
  }
  const mark = (why: string): void => {
    t.masquerade = true;
    t.masqueradeReasons.push(why);
    say(`  mark-for-masquerade (meta mark | ${MASQ_MARK}): ${why}; nat-postrouting masquerades it`);
  };
  let chain: string | undefined = start;
  for (let hops = 0; chain && hops < 8; hops++) {
    if (chain === 'reject-chain') {
      t.chains.push(chain);
      t.verdict = 'reject';
      say('reject-chain: reject (ICMP port unreachable; the service has no endpoints)');
      return t;
    }
    const rules = rs.chains.get(chain);
    if (!rules) {
      say(`chain ${chain} does not exist`);
      return t;
    }
    t.chains.push(chain);
    say(`chain ${chain}`);
    const next = walkChain(chain, rules, { rs, t, pkt, node, srcLocal, mark, say });
    if (next === undefined) return t;
    chain = next;
  }
  return t;
}

interface WalkCtx {
  rs: Ruleset;
  t: ServiceTrace;
  pkt: ServicePacket;
  node: ExplainNode;
  srcLocal: boolean;
  mark: (why: string) => void;
  say: (s: string) => void;
}

/** One chain's rules; the chain it goes to next, or undefined at a final verdict. */
function walkChain(name: string, rules: string[], c: WalkCtx): string | undefined {
  const { t, pkt, say } = c;
  for (const r of rules) {
    let m: RegExpExecArray | null;
    if ((m = /^ip daddr (\S+) (\S+) dport (\d+) ip saddr != (\S+) jump mark-for-masquerade$/.exec(r))) {
      const same = m[1] === pkt.dst && m[2] === pkt.proto && Number(m[3]) === pkt.port;
      if (same && !inCidr(pkt.src, m[4])) c.mark(`the source ${pkt.src} is outside the cluster network ${m[4]}`);
    } else if ((m = /^ip saddr (\S+) jump mark-for-masquerade$/.exec(r))) {
      if (pkt.src === m[1]) c.mark(`hairpin: the endpoint ${m[1]} is the client itself`);
    } else if (r === 'jump mark-for-masquerade') {
      c.mark('external traffic (NodePort/LoadBalancer) under externalTrafficPolicy Cluster');
    } else if (r === 'fib saddr type local jump mark-for-masquerade') {
      if (c.srcLocal) c.mark('externalTrafficPolicy Local, but the source is this node itself');
    } else if ((m = /^fib saddr type local goto (\S+)$/.exec(r))) {
      if (c.srcLocal) return goto(say, m[1], 'the source is this node');
    } else if ((m = /^ip saddr (\d+\.\d+\.\d+\.\d+\/\d+) goto (\S+)$/.exec(r))) {
      if (inCidr(pkt.src, m[1])) return goto(say, m[2], `the source is in the cluster network ${m[1]}`);
      say(`  externalTrafficPolicy Local: the source ${pkt.src} keeps its address`);
    } else if ((m = /^ip saddr @(\S+) goto (\S+)$/.exec(r))) {
      const timeout = c.rs.sets.get(m[1]);
      t.affinity ??= { timeoutSeconds: timeout ?? 0, sets: [] };
      t.affinity.sets.push(m[1]);
      say(`  sessionAffinity ClientIP: a client in @${m[1]} (timeout ${timeout ?? '?'}s) goes to ${m[2]}`);
    } else if ((m = /^numgen random mod (\d+) vmap \{ (.*) \}$/.exec(r))) {
      const targets = m[2].split(', ').map((x) => /^\d+ : goto (\S+)$/.exec(x)?.[1] ?? x);
      t.endpoints = targets.map((chain) => ({ chain, ...dnatOf(c, chain), probability: `1/${m![1]}` }));
      say(`  numgen random mod ${m[1]}: each endpoint chain with probability 1/${m[1]}`);
      for (const e of t.endpoints) say(`    ${e.chain} → ${e.ip}:${e.port}`);
      const pick = t.endpoints.find((e) => e.ip === c.node.endpoint) ?? t.endpoints[0];
      if (c.node.endpoint && pick?.ip !== c.node.endpoint)
        say(`  (${c.node.endpoint} is not an endpoint here; following the first)`);
      return pick ? goto(say, pick.chain, `following endpoint ${pick.ip}:${pick.port}`) : undefined;
    } else if ((m = /^update @(\S+) \{ ip saddr \}$/.exec(r))) {
      say(`  remembers ${pkt.src} in @${m[1]} (sessionAffinity ClientIP)`);
    } else if ((m = /^meta l4proto \S+ dnat to (\S+):(\d+)$/.exec(r))) {
      t.dnat = { ip: m[1], port: Number(m[2]), chain: name };
      t.verdict = 'dnat';
      say(`  dnat to ${m[1]}:${m[2]}`);
      return undefined;
    } else if ((m = /^goto (\S+)$/.exec(r))) {
      return goto(say, m[1], '');
    } else if (r === 'drop') {
      t.verdict = 'drop';
      say('  drop: externalTrafficPolicy Local and no ready endpoint on this node');
      return undefined;
    } else say(`  rule not explained by trace: ${r}`);
  }
  say(`  end of ${name}`);
  return undefined;
}

function goto(say: (s: string) => void, chain: string, why: string): string {
  say(`  goto ${chain}${why ? ` (${why})` : ''}`);
  return chain;
}

function dnatOf(c: WalkCtx, chain: string): { ip: string; port: number } {
  for (const r of c.rs.chains.get(chain) ?? []) {
    const m = /dnat to (\S+):(\d+)$/.exec(r);
    if (m) return { ip: m[1], port: Number(m[2]) };
  }
  return { ip: '', port: 0 };
}
