// The verdict NetworkPolicy gives one connection, without sending anything (`lab policy check`):
// egress of the source pod, then ingress of the destination pod, each either not isolated, allowed by a
// named policy and rule, or isolated by named policies with no rule that matches. Traffic of a pod to
// itself and between a pod and its own node is always allowed. Uses peers.ts, as the nftables compiler
// does. Pure; never throws.
import type { PolicyType } from '../k8s/networkpolicy-types.js';
import { policyKey, type PodInfo, type PolicyWorld } from './model.js';
import { isolatingPolicies, peerMatches, portAllowed, portRanges, type Proto } from './peers.js';

export interface DirectionVerdict {
  /** The pod this direction belongs to (source for Egress, destination for Ingress), if a pod. */
  pod?: string;
  isolated: boolean;
  allowed: boolean;
  /** The policies that isolate the pod in this direction. */
  policies: string[];
  /** The first policy and rule (index into spec.ingress/egress) that allows it. */
  allowedBy?: { policy: string; rule: number };
}

export interface Verdict {
  allowed: boolean;
  /** Set when a special case decided: `same pod`, `pod and its own node`. */
  always?: string;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
}

export interface Connection {
  srcIp: string;
  dstIp: string;
  proto: Proto;
  port: number;
  /** Node name → its addresses (InternalIP, the bridge's and the TUN's), for "its own node". */
  nodeIps?: Map<string, string[]>;
}

const podName = (p: PodInfo): string => `${p.namespace}/${p.name}`;

function direction(
  w: PolicyWorld,
  pod: PodInfo | undefined,
  dir: PolicyType,
  peerIp: string,
  dst: PodInfo | undefined,
  c: Connection,
): DirectionVerdict {
  if (!pod) return { isolated: false, allowed: true, policies: [] };
  const pols = isolatingPolicies(w, pod, dir);
  const v: DirectionVerdict = {
    pod: podName(pod),
    isolated: pols.length > 0,
    allowed: pols.length === 0,
    policies: pols.map(policyKey),
  };
  for (const p of pols) {
    const rules = dir === 'Ingress' ? (p.spec.ingress ?? []) : (p.spec.egress ?? []);
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as { from?: never[]; to?: never[]; ports?: never[] };
      const peers = (dir === 'Ingress' ? r.from : r.to) ?? [];
      const peerOk = peers.length === 0 || peers.some((peer) => peerMatches(w, p, peer, peerIp));
      if (peerOk && portAllowed(portRanges(r.ports, dst), c.proto, c.port)) {
        v.allowed = true;
        v.allowedBy = { policy: policyKey(p), rule: i };
        return v;
      }
    }
  }
  return v;
}

export function evaluate(w: PolicyWorld, c: Connection): Verdict {
  const src = w.pods.find((p) => p.ip === c.srcIp);
  const dst = w.pods.find((p) => p.ip === c.dstIp);
  const open: DirectionVerdict = { isolated: false, allowed: true, policies: [] };
  const ownNode = (pod: PodInfo | undefined, ip: string): boolean =>
    pod !== undefined && (c.nodeIps?.get(pod.node) ?? []).includes(ip);
  if (c.srcIp === c.dstIp) return { allowed: true, always: 'same pod', egress: open, ingress: open };
  if ((!src && ownNode(dst, c.srcIp)) || (!dst && ownNode(src, c.dstIp)))
    return { allowed: true, always: 'pod and its own node', egress: open, ingress: open };
  const egress = direction(w, src, 'Egress', c.dstIp, dst, c);
  const ingress = direction(w, dst, 'Ingress', c.srcIp, dst, c);
  return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}

/** The verdict in words: what allows it, or which policies isolate which pod. */
export function explain(v: Verdict): string[] {
  if (v.always) return [`allowed: ${v.always} (always allowed)`];
  const lines: string[] = [];
  for (const [name, d] of [
    ['egress', v.egress],
    ['ingress', v.ingress],
  ] as const) {
    if (!d.pod) lines.push(`${name}: not a pod here, nothing to check`);
    else if (!d.isolated) lines.push(`${name} of ${d.pod}: not isolated (no policy selects it for ${name})`);
    else if (d.allowedBy)
      lines.push(`${name} of ${d.pod}: allowed by ${d.allowedBy.policy} ${name} rule ${d.allowedBy.rule}`);
    else lines.push(`${name} of ${d.pod}: DENIED: isolated by ${d.policies.join(', ')}, and no rule matches`);
  }
  return [v.allowed ? 'allowed' : 'denied', ...lines];
}
