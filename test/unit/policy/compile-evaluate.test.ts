// The evaluator and the nftables compiler over one small world: verdicts with the allowing rule or the
// isolating policies, the pod chains and rules a node gets, named ports resolved per pod, and the
// transaction between two rulesets.
import { describe, expect, it } from 'vitest';
import type { NetworkPolicy } from '../../../src/k8s/networkpolicy-types.js';
import type { Namespace, Pod } from '../../../src/k8s/types.js';
import { compileNode } from '../../../src/policy/compile.js';
import { evaluate } from '../../../src/policy/evaluate.js';
import { buildWorld } from '../../../src/policy/model.js';
import { diffScript, fullScript } from '../../../src/policy/nft-script.js';

const pod = (ns: string, name: string, ip: string, node: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { pod: name } },
  spec: {
    nodeName: node,
    containers: [{ name: 'c', image: 'i', ports: [{ name: 'web', containerPort: 8080, protocol: 'TCP' }] }],
  },
  status: { phase: 'Running', podIP: ip },
});
const nsObj = (name: string, labels: Record<string, string> = {}): Namespace => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const policy = (ns: string, name: string, spec: object): NetworkPolicy =>
  ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec,
  }) as NetworkPolicy;

const pods = [pod('x', 'a', '10.244.1.2', 'n1'), pod('x', 'b', '10.244.2.2', 'n2'), pod('y', 'a', '10.244.1.3', 'n1')];
const nss = [nsObj('x'), nsObj('y', { team: 'blue' })];
const allowBlueWeb = policy('x', 'blue-web', {
  podSelector: { matchLabels: { pod: 'a' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }], ports: [{ port: 'web' }] }],
});

describe('evaluate', () => {
  const w = buildWorld([allowBlueWeb], pods, nss);
  it('names the policy and rule that allow, or the isolating policies', () => {
    const ok = evaluate(w, { srcIp: '10.244.1.3', dstIp: '10.244.1.2', proto: 'TCP', port: 8080 });
    expect(ok.allowed).toBe(true);
    expect(ok.ingress.allowedBy).toEqual({ policy: 'x/blue-web', rule: 0 });
    const no = evaluate(w, { srcIp: '10.244.2.2', dstIp: '10.244.1.2', proto: 'TCP', port: 8080 });
    expect(no.allowed).toBe(false);
    expect(no.ingress.policies).toEqual(['x/blue-web']);
    expect(evaluate(w, { srcIp: '10.244.1.3', dstIp: '10.244.1.2', proto: 'TCP', port: 80 }).allowed).toBe(false);
    expect(evaluate(w, { srcIp: '10.244.1.2', dstIp: '10.244.2.2', proto: 'UDP', port: 1 }).allowed).toBe(true);
  });
  it('a pod and its own node are always allowed', () => {
    const nodeIps = new Map([['n1', ['192.168.1.2', '10.244.1.1']]]);
    const v = evaluate(w, { srcIp: '10.244.1.1', dstIp: '10.244.1.2', proto: 'TCP', port: 1, nodeIps });
    expect(v.always).toBe('pod and its own node');
  });
});

describe('compileNode', () => {
  it('gives node n1 a chain for x/a with the named port resolved and a drop', () => {
    const r = compileNode(buildWorld([allowBlueWeb], pods, nss), 'n1');
    expect([...r.chains.keys()]).toEqual(['in_x/a', 'forward']);
    expect(r.chains.get('in_x/a')).toEqual([
      'ip saddr 10.244.1.2 accept',
      'ip saddr 10.244.1.3 tcp dport 8080 counter name rule_x/blue-web_ingress_0 accept',
      'meta l4proto { tcp, udp } add @denied_ingress { ip saddr . ip daddr . meta l4proto . th dport }',
      'counter name drop_ingress_x/a drop',
    ]);
    expect(r.chains.get('forward')).toEqual(['ct state established,related accept', 'ip daddr 10.244.1.2 jump in_x/a']);
    expect(compileNode(buildWorld([allowBlueWeb], pods, nss), 'n2').chains.size).toBe(1);
  });
  it('a namespace relabel changes only the pod chain; removing the policy deletes chain and counters', () => {
    const before = compileNode(buildWorld([allowBlueWeb], pods, nss), 'n1');
    const after = compileNode(buildWorld([allowBlueWeb], pods, [nsObj('x', { team: 'blue' }), nsObj('y')]), 'n1');
    const d = diffScript(before, after);
    expect(d).toContain('flush chain inet kube-network-policies in_x/a');
    expect(d).toContain('ip saddr { 10.244.1.2, 10.244.2.2 } tcp dport 8080');
    expect(d).not.toContain('chain inet kube-network-policies forward');
    const gone = diffScript(before, compileNode(buildWorld([], pods, nss), 'n1'));
    expect(gone).toContain('delete chain inet kube-network-policies in_x/a');
    expect(gone).toContain('delete counter inet kube-network-policies rule_x/blue-web_ingress_0');
    expect(diffScript(before, before)).toBe('');
    expect(fullScript(before)).toContain('type filter hook forward priority filter; policy accept;');
  });
});
