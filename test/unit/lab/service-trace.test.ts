// `lab trace`'s pure part: which node's kube-proxy rules a packet meets (the pod's node, the node itself,
// or for the `client` the node owning a NodePort address or announcing a LoadBalancer address), the
// source the overlay sees after masquerade, and the text naming the chains and DNAT targets.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node, Pod } from '../../../src/k8s/types.js';
import type { EndpointSlice, Service } from '../../../src/k8s/service-types.js';
import { explainLabTrace, labTraceLines, type LabTraceView } from '../../../src/lab/service-trace.js';
import { parseTopology } from '../../../src/lab/topology.js';
import { announceCandidates, announcingNode } from '../../../src/proxy/announce.js';
import { buildModel } from '../../../src/proxy/model.js';
import { endpointChain, serviceChain } from '../../../src/proxy/ruleset.js';

const topology = parseTopology(
  fs.readFileSync(path.join(import.meta.dirname, '../../../examples/two-nodes-empty.yaml'), 'utf8'),
);
const node = (name: string, ip: string, podCIDR: string): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR },
  status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: 'True' }] },
});
const pod = (name: string, ip: string, nodeName: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { nodeName, containers: [] },
  status: { podIP: ip },
});
const svc: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'myapp-service', namespace: 'default' },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.50',
    selector: { app: 'myapp' },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30008 }],
  },
  status: { loadBalancer: { ingress: [{ ip: '192.168.1.240' }] } },
};
const slice: EndpointSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'myapp-service-x1',
    namespace: 'default',
    labels: { 'kubernetes.io/service-name': 'myapp-service' },
  },
  addressType: 'IPv4',
  ports: [{ protocol: 'TCP', port: 80 }],
  endpoints: [
    { addresses: ['10.244.1.3'], nodeName: 'node1', conditions: { ready: true } },
    { addresses: ['10.244.2.3'], nodeName: 'node2', conditions: { ready: true } },
  ],
};
const view: LabTraceView = {
  services: [svc],
  slices: [slice],
  pods: [pod('busybox', '10.244.2.7', 'node2')],
  nodes: [node('node1', '192.168.1.2', '10.244.1.0/24'), node('node2', '192.168.1.3', '10.244.2.0/24')],
};
const q = { proto: 'tcp' as const, namespace: 'default' };

describe('lab trace to a Service', () => {
  it("a pod's packet meets its own node's rules; the text names the chains and every DNAT target", () => {
    const r = explainLabTrace(view, topology, { ...q, src: 'busybox', dst: '10.96.0.50', port: 80 });
    expect(r.source).toEqual({ label: 'default/busybox', ip: '10.244.2.7', node: 'node2' });
    const p = buildModel([svc], [slice], 'node2')[0];
    expect(r.service.chains).toEqual([serviceChain(p), endpointChain(p, p.endpoints[0])]);
    expect(r.pathFrom).toBe('10.244.2.7');
    const text = labTraceLines(r, { ...q, src: 'busybox', dst: '10.96.0.50', port: 80 }).join('\n');
    for (const e of p.endpoints) expect(text).toContain(endpointChain(p, e));
    expect(text).toContain('DNAT targets: 10.244.1.3:80, 10.244.2.3:80');
    expect(text).toContain('service verdict: dnat to 10.244.1.3:80');
  });

  it('a node as source is masqueraded: the overlay sees its TUN address, or cni0 for a local endpoint', () => {
    const remote = explainLabTrace(view, topology, { ...q, src: 'node2', dst: '10.96.0.50', port: 80 });
    expect(remote.service.masquerade).toBe(true);
    expect(remote.pathFrom).toBe('10.244.2.0');
    const local = explainLabTrace(view, topology, {
      ...q,
      src: 'node2',
      dst: '10.96.0.50',
      port: 80,
      endpoint: '10.244.2.3',
    });
    expect(local.service.dnat?.ip).toBe('10.244.2.3');
    expect(local.pathFrom).toBe('10.244.2.1');
  });

  it('the client enters at the node owning the NodePort address, or the one announcing the LoadBalancer address', () => {
    const np = explainLabTrace(view, topology, { ...q, src: 'client', dst: '192.168.1.3', port: 30008 });
    expect(np.source).toEqual({ label: 'client', ip: topology.services!.clientIp, node: 'node2' });
    expect(np.service.map?.name).toBe('service-nodeports');
    const lb = explainLabTrace(view, topology, { ...q, src: 'client', dst: '192.168.1.240', port: 80 });
    expect(lb.source.node).toBe(announcingNode('192.168.1.240', ['node1', 'node2']));
    expect(lb.service.map?.key).toBe('192.168.1.240 . tcp . 80');
    expect(lb.service.verdict).toBe('dnat');
    // Under Local policy only nodes with a ready endpoint announce (kube-proxy uses the same function).
    const local = { ...svc, spec: { ...svc.spec, externalTrafficPolicy: 'Local' as const } };
    const one = { ...slice, endpoints: [slice.endpoints![1]] };
    expect(announceCandidates(local, [one], ['node1', 'node2'])).toEqual(['node2']);
    expect(announceCandidates(svc, [one], ['node1', 'node2'])).toEqual(['node1', 'node2']);
    const v2 = { ...view, services: [local], slices: [one] };
    expect(explainLabTrace(v2, topology, { ...q, src: 'client', dst: '192.168.1.240', port: 80 }).source.node).toBe(
      'node2',
    );
  });

  it('names what it cannot find', () => {
    expect(() => explainLabTrace(view, topology, { ...q, src: 'nope', dst: '10.96.0.50', port: 80 })).toThrow(
      'no running pod "default/nope" with an IP and a node, no node "nope"',
    );
    expect(() => explainLabTrace(view, topology, { ...q, src: 'client', dst: '10.96.0.50', port: 80 })).toThrow(
      "from client, the destination must be a node's address or a LoadBalancer address",
    );
    const none = explainLabTrace(view, topology, { ...q, src: 'busybox', dst: '10.96.0.51', port: 80 });
    expect(none.service.verdict).toBe('not-a-service');
    expect(none.pathFrom).toBeUndefined();
  });
});
