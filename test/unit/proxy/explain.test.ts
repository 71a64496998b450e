// `lab trace` to a Service address: the explanation walks the very rules kube-proxy programs (buildModel +
// buildRuleset on the same Service and EndpointSlice objects), so its chain names and DNAT targets are
// asserted against what ruleset.ts generates.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/k8s/service-types.js';
import { explainServicePacket, type ExplainNode } from '../../../src/proxy/explain.js';
import { buildModel } from '../../../src/proxy/model.js';
import { affinitySet, endpointChain, externalChain, localChain, serviceChain } from '../../../src/proxy/ruleset.js';

const CIDR = '10.244.0.0/16';
const node1: ExplainNode = {
  name: 'node1',
  clusterCidr: CIDR,
  localAddresses: ['192.168.1.2', '10.244.1.0', '10.244.1.1'],
};
const node2: ExplainNode = {
  name: 'node2',
  clusterCidr: CIDR,
  localAddresses: ['192.168.1.3', '10.244.2.0', '10.244.2.1'],
};

function service(name: string, spec: NonNullable<Service['spec']>, lb?: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec,
    ...(lb ? { status: { loadBalancer: { ingress: [{ ip: lb }] } } } : {}),
  };
}

function slice(svc: string, eps: [string, string][]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abcde`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: eps.map(([ip, nodeName]) => ({ addresses: [ip], nodeName, conditions: { ready: true } })),
  };
}

const PORTS = [{ name: 'http', protocol: 'TCP' as const, port: 80, targetPort: 8080, nodePort: 30008 }];
const THREE: [string, string][] = [
  ['10.244.1.2', 'node1'],
  ['10.244.2.2', 'node2'],
  ['10.244.2.3', 'node2'],
];
const web = (over: Partial<NonNullable<Service['spec']>> = {}, lb?: string): Service =>
  service('web', { type: 'ClusterIP', clusterIP: '10.96.0.20', ports: PORTS, selector: { app: 'web' }, ...over }, lb);
const modelOf = (svc: Service, es: EndpointSlice[], node = 'node1') => buildModel([svc], es, node)[0];

describe('explainServicePacket', () => {
  it('ClusterIP with 3 endpoints: service-ips entry, the service chain, numgen over 3 endpoint chains, DNAT', () => {
    const svc = web();
    const es = [slice('web', THREE)];
    const p = modelOf(svc, es);
    const t = explainServicePacket([svc], es, node1, { src: '10.244.1.5', dst: '10.96.0.20', proto: 'tcp', port: 80 });
    expect(t.verdict).toBe('dnat');
    expect(t.map).toEqual({ name: 'service-ips', key: '10.96.0.20 . tcp . 80', verdict: `goto ${serviceChain(p)}` });
    expect(t.chains).toEqual([serviceChain(p), endpointChain(p, p.endpoints[0])]);
    expect(t.endpoints).toEqual(
      p.endpoints.map((e) => ({ chain: endpointChain(p, e), ip: e.ip, port: 8080, probability: '1/3' })),
    );
    expect(t.dnat).toEqual({ ip: '10.244.1.2', port: 8080, chain: endpointChain(p, p.endpoints[0]) });
    expect(t.masquerade).toBe(false);
    expect(t.steps.join('\n')).toContain('numgen random mod 3');
  });

  it('follows the endpoint asked for, and masquerades hairpin traffic and sources outside the cluster', () => {
    const svc = web();
    const es = [slice('web', THREE)];
    const p = modelOf(svc, es);
    const hair = explainServicePacket(
      [svc],
      es,
      { ...node1, endpoint: '10.244.2.3' },
      {
        src: '10.244.2.3',
        dst: '10.96.0.20',
        proto: 'tcp',
        port: 80,
      },
    );
    expect(hair.dnat).toEqual({ ip: '10.244.2.3', port: 8080, chain: endpointChain(p, p.endpoints[2]) });
    expect(hair.masquerade).toBe(true);
    expect(hair.masqueradeReasons).toEqual(['hairpin: the endpoint 10.244.2.3 is the client itself']);
    const host = explainServicePacket([svc], es, node1, {
      src: '192.168.1.2',
      dst: '10.96.0.20',
      proto: 'tcp',
      port: 80,
    });
    expect(host.masqueradeReasons).toEqual(['the source 192.168.1.2 is outside the cluster network 10.244.0.0/16']);
    const udp = explainServicePacket([svc], es, node1, {
      src: '10.244.1.5',
      dst: '10.96.0.20',
      proto: 'udp',
      port: 80,
    });
    expect(udp.verdict).toBe('not-a-service');
  });

  it('ClientIP affinity: the affinity sets with their timeout come before numgen', () => {
    const svc = web({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } } });
    const es = [slice('web', THREE)];
    const p = modelOf(svc, es);
    const t = explainServicePacket([svc], es, node1, { src: '10.244.1.5', dst: '10.96.0.20', proto: 'tcp', port: 80 });
    expect(t.affinity).toEqual({ timeoutSeconds: 30, sets: p.endpoints.map((e) => affinitySet(p, e)) });
    expect(t.verdict).toBe('dnat');
    expect(t.steps.join('\n')).toContain(`remembers 10.244.1.5 in @${affinitySet(p, p.endpoints[0])}`);
  });

  it('no endpoints: the no-endpoint-services entry rejects', () => {
    const svc = web();
    const t = explainServicePacket([svc], [slice('web', [])], node1, {
      src: '10.244.1.5',
      dst: '10.96.0.20',
      proto: 'tcp',
      port: 80,
    });
    expect(t.map).toEqual({ name: 'no-endpoint-services', key: '10.96.0.20 . tcp . 80', verdict: 'goto reject-chain' });
    expect(t.verdict).toBe('reject');
    expect(t.dnat).toBeUndefined();
  });

  it('NodePort with externalTrafficPolicy Local: dropped on a node without a local endpoint, kept there with one', () => {
    const svc = web({ type: 'NodePort', externalTrafficPolicy: 'Local' });
    const es = [slice('web', [['10.244.2.2', 'node2']])];
    const client = { src: '192.168.1.254', proto: 'tcp' as const, port: 30008 };
    const on1 = explainServicePacket([svc], es, node1, { ...client, dst: '192.168.1.2' });
    const p1 = modelOf(svc, es, 'node1');
    expect(on1.map).toEqual({ name: 'service-nodeports', key: 'tcp . 30008', verdict: `goto ${externalChain(p1)}` });
    expect(on1.chains).toEqual([externalChain(p1)]);
    expect(on1.verdict).toBe('drop');
    const on2 = explainServicePacket([svc], es, node2, { ...client, dst: '192.168.1.3' });
    const p2 = modelOf(svc, es, 'node2');
    expect(on2.chains).toEqual([externalChain(p2), localChain(p2), endpointChain(p2, p2.endpoints[0])]);
    expect(on2.dnat?.ip).toBe('10.244.2.2');
    expect(on2.masquerade).toBe(false);
    // A NodePort is only a node's own address: node1's rules leave node2's address alone.
    expect(explainServicePacket([svc], es, node1, { ...client, dst: '192.168.1.3' }).verdict).toBe('not-a-service');
  });

  it('NodePort from outside under Cluster policy is masqueraded; a LoadBalancer address goes to the external chain', () => {
    const svc = web({ type: 'LoadBalancer' }, '192.168.1.240');
    const es = [slice('web', THREE)];
    const p = modelOf(svc, es);
    const np = explainServicePacket([svc], es, node1, {
      src: '192.168.1.254',
      dst: '192.168.1.2',
      proto: 'tcp',
      port: 30008,
    });
    expect(np.chains.slice(0, 2)).toEqual([externalChain(p), serviceChain(p)]);
    expect(np.masquerade).toBe(true);
    const lb = explainServicePacket([svc], es, node1, {
      src: '192.168.1.254',
      dst: '192.168.1.240',
      proto: 'tcp',
      port: 80,
    });
    expect(lb.map).toEqual({
      name: 'service-ips',
      key: '192.168.1.240 . tcp . 80',
      verdict: `goto ${externalChain(p)}`,
    });
    expect(lb.chains).toEqual([externalChain(p), serviceChain(p), endpointChain(p, p.endpoints[0])]);
    expect(lb.masqueradeReasons).toEqual([
      'external traffic (NodePort/LoadBalancer) under externalTrafficPolicy Cluster',
    ]);
    expect(np.masqueradeReasons).toEqual(lb.masqueradeReasons);
    expect(lb.endpoints.map((e) => e.ip)).toEqual(['10.244.1.2', '10.244.2.2', '10.244.2.3']);
    expect(lb.verdict).toBe('dnat');
  });
});
