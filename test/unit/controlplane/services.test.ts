// Services through the API operations (defaults, validation with kube's messages, ClusterIP and
// NodePort allocation, the `kubernetes` Service) and the Endpoints, EndpointSlice and LoadBalancer
// controllers on virtual time with the store in memory. Pods are written as a kubelet would report them.
import { describe, expect, it } from 'vitest';
import { ApiDelete } from '../../../src/controlplane/api-delete.js';
import { ApiOps } from '../../../src/controlplane/api-ops.js';
import { R } from '../../../src/controlplane/controllers/context.js';
import { startControllers } from '../../../src/controlplane/controllers/index.js';
import { ensureKubernetesService } from '../../../src/controlplane/kubernetes-service.js';
import { ServiceAllocator } from '../../../src/controlplane/service-alloc.js';
import { ObjectStore } from '../../../src/controlplane/store.js';
import { RESOURCES } from '../../../src/k8s/resources.js';
import type { EndpointSlice, Endpoints, Service } from '../../../src/k8s/service-types.js';
import { toTable } from '../../../src/k8s/tables.js';
import type { Pod } from '../../../src/k8s/types.js';
import { KubeApiError } from '../../../src/util/errors.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';

const EPOCH = Date.parse('2026-01-01T00:00:00Z');

function setup() {
  const clock = new VirtualClock();
  const now = (): number => EPOCH + clock.now();
  let seed = 7;
  const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const store = new ObjectStore({ now, random }, RESOURCES);
  const ops = new ApiOps(store, now, new ServiceAllocator(store, undefined, random));
  const deleter = new ApiDelete(store, now);
  ops.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  ensureKubernetesService(ops);
  const controllers = startControllers({
    ops,
    deleter,
    logger: silentLogger(),
    clock,
    now,
    coalesceMs: 0,
    loadBalancerPool: { cidr: '192.168.1.240/28', exclude: ['192.168.1.241'] },
  });
  return { clock, store, ops, deleter, controllers };
}

const seedService = (): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'myapp-service' },
  spec: { type: 'NodePort', ports: [{ targetPort: 80, port: 80, nodePort: 30008 }], selector: { app: 'myapp' } },
});

function pod(name: string, ip: string, node: string, ready: boolean, labels = { app: 'myapp' }): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: {
      nodeName: node,
      containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'web', containerPort: 8080 }] }],
    },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

function addPod(ops: ApiOps, p: Pod): void {
  const created = ops.create(R.pods, 'default', { ...p, status: undefined } as Pod);
  ops.update(R.pods, 'default', p.metadata.name!, { ...created, status: p.status } as Pod, 'status');
}

function invalid(fn: () => unknown): KubeApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KubeApiError) return e;
    throw e;
  }
  throw new Error('expected a KubeApiError');
}

describe('Service API', () => {
  it('defaults the seed 003 Service and allocates a ClusterIP from 10.96.0.0/12 above the static band', () => {
    const { ops } = setup();
    const svc = ops.create(R.services, 'default', seedService()) as Service;
    expect(svc.spec.ports![0]).toEqual({ targetPort: 80, port: 80, nodePort: 30008, protocol: 'TCP' });
    expect(svc.spec.sessionAffinity).toBe('None');
    expect(svc.spec.externalTrafficPolicy).toBe('Cluster');
    expect(svc.spec.internalTrafficPolicy).toBe('Cluster');
    expect(svc.spec.clusterIPs).toEqual([svc.spec.clusterIP]);
    const [a, b, c] = svc.spec.clusterIP!.split('.').map(Number);
    expect(a).toBe(10);
    expect(b).toBeGreaterThanOrEqual(96);
    expect(b).toBeLessThanOrEqual(111);
    expect(b * 256 + c).toBeGreaterThanOrEqual(96 * 256 + 1); // above 10.96.0.0 + 256
  });

  it('puts the kubernetes Service at the first address', () => {
    const { store } = setup();
    const k = store.get(R.services, 'default', 'kubernetes') as Service;
    expect(k.spec.clusterIP).toBe('10.96.0.1');
    expect(k.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }]);
  });

  it('defaults targetPort to port, ClientIP timeout to 10800, and allocates distinct nodePorts', () => {
    const { ops } = setup();
    const a = ops.create(R.services, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a' },
      spec: {
        type: 'NodePort',
        sessionAffinity: 'ClientIP',
        ports: [
          { name: 'http', port: 80 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      },
    } as Service) as Service;
    expect(a.spec.ports!.map((p) => p.targetPort)).toEqual([80, 53]);
    expect(a.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
    const ports = a.spec.ports!.map((p) => p.nodePort!);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(30000);
    for (const p of ports) expect(p).toBeLessThanOrEqual(32767);
    expect(new Set(ports).size).toBe(2);
  });

  it('rejects a duplicate port, a nodePort out of range or taken, and a bad selector with kube messages', () => {
    const { ops } = setup();
    ops.create(R.services, 'default', seedService());
    const taken = invalid(() => ops.create(R.services, 'default', { ...seedService(), metadata: { name: 'other' } }));
    expect(taken.httpStatus).toBe(422);
    expect(taken.message).toBe(
      'Service "other" is invalid: spec.ports[0].nodePort: Invalid value: 30008: provided port is already allocated',
    );
    const range = invalid(() =>
      ops.create(R.services, 'default', {
        ...seedService(),
        metadata: { name: 'far' },
        spec: { ...seedService().spec, ports: [{ port: 80, nodePort: 40000 }] },
      } as Service),
    );
    expect(range.message).toBe(
      'Service "far" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the ' +
        'valid range. The range of valid ports is 30000-32767',
    );
    const dup = invalid(() =>
      ops.create(R.services, 'default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dup' },
        spec: {
          ports: [
            { name: 'a', port: 80 },
            { name: 'b', port: 80 },
          ],
        },
      } as Service),
    );
    expect(dup.message).toBe(
      'Service "dup" is invalid: spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", ' +
        'AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    );
    const sel = invalid(() =>
      ops.create(R.services, 'default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'sel' },
        spec: { ports: [{ port: 80 }], selector: { app: 'my app' } },
      } as Service),
    );
    expect(sel.message).toMatch(
      /^Service "sel" is invalid: spec.selector: Invalid value: "my app": a valid label must/,
    );
    const np = invalid(() =>
      ops.create(R.services, 'default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'np' },
        spec: { ports: [{ port: 80, nodePort: 30100 }] },
      } as Service),
    );
    expect(np.message).toBe(
      'Service "np" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is \'ClusterIP\'',
    );
  });

  it('refuses a taken or out-of-range clusterIP and a changed one on update, and keeps allocations on update', () => {
    const { ops } = setup();
    const svc = ops.create(R.services, 'default', seedService()) as Service;
    const taken = invalid(() =>
      ops.create(R.services, 'default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'x' },
        spec: { clusterIP: '10.96.0.1', ports: [{ port: 80 }] },
      } as Service),
    );
    expect(taken.message).toBe(
      'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: failed to allocate IP ' +
        '10.96.0.1: provided IP is already allocated',
    );
    const outside = invalid(() =>
      ops.create(R.services, 'default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'y' },
        spec: { clusterIP: '10.0.0.5', ports: [{ port: 80 }] },
      } as Service),
    );
    expect(outside.message).toContain('The range of valid IPs is 10.96.0.0/12');
    const { clusterIP, clusterIPs, ...rest } = svc.spec;
    expect(clusterIPs).toEqual([clusterIP]);
    const replaced = ops.update(R.services, 'default', 'myapp-service', {
      ...svc,
      metadata: { ...svc.metadata, resourceVersion: undefined },
      spec: { ...rest, ports: [{ port: 80, targetPort: 80 }] },
    } as Service) as Service;
    expect(replaced.spec.clusterIP).toBe(clusterIP);
    expect(replaced.spec.ports![0].nodePort).toBe(30008);
    const moved = invalid(() =>
      ops.update(R.services, 'default', 'myapp-service', {
        ...replaced,
        spec: { ...replaced.spec, clusterIP: '10.96.5.5', clusterIPs: ['10.96.5.5'] },
      } as Service),
    );
    expect(moved.message).toContain(
      'spec.clusterIPs[0]: Invalid value: []string{"10.96.5.5"}: may not change once set',
    );
  });

  it('keeps Endpoints and EndpointSlices current: ready, not ready, deleted, scaled', () => {
    const { clock, ops, store, deleter } = setup();
    ops.create(R.services, 'default', seedService());
    addPod(ops, pod('a', '10.244.1.2', 'node1', true));
    addPod(ops, pod('b', '10.244.2.2', 'node2', false));
    addPod(ops, pod('other', '10.244.2.3', 'node2', true, { app: 'else' }));
    clock.advance(1);
    const ep = store.get(R.endpoints, 'default', 'myapp-service') as Endpoints;
    const ss = ep.subsets!;
    expect(ss).toHaveLength(1);
    expect(ss[0].addresses!.map((a) => [a.ip, a.nodeName, a.targetRef?.kind, a.targetRef?.name])).toEqual([
      ['10.244.1.2', 'node1', 'Pod', 'a'],
    ]);
    expect(ss[0].notReadyAddresses!.map((a) => [a.ip, a.nodeName, a.targetRef?.name])).toEqual([
      ['10.244.2.2', 'node2', 'b'],
    ]);
    expect(ss[0].ports).toEqual([{ port: 80, protocol: 'TCP' }]);
    const slices = store.list(R.endpointslices, 'default').items as EndpointSlice[];
    const mine = slices.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'myapp-service');
    expect(mine).toHaveLength(1);
    expect(mine[0].metadata.name).toMatch(/^myapp-service-[a-z0-9]{5}$/);
    expect(mine[0].endpoints!.map((e) => [e.addresses[0], e.conditions?.ready])).toEqual([
      ['10.244.1.2', true],
      ['10.244.2.2', false],
    ]);
    const table = toTable(store.list(R.endpoints, 'default').items, 'Endpoints', EPOCH, 'None');
    expect(table.rows.find((r) => r.cells[0] === 'myapp-service')!.cells[1]).toBe('10.244.1.2:80');
    deleter.delete(R.pods, 'default', 'a', { gracePeriodSeconds: 0 });
    clock.advance(1);
    const after = store.get(R.endpoints, 'default', 'myapp-service') as Endpoints;
    expect(after.subsets?.[0].addresses).toBeUndefined();
    deleter.delete(R.services, 'default', 'myapp-service');
    clock.advance(1);
    expect(store.get(R.endpoints, 'default', 'myapp-service')).toBeUndefined();
    expect(store.list(R.endpointslices, 'default').items).toHaveLength(0);
  });

  it('resolves a named targetPort per pod', () => {
    const { clock, ops, store } = setup();
    ops.create(R.services, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'named' },
      spec: { selector: { app: 'myapp' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    } as Service);
    addPod(ops, pod('a', '10.244.1.2', 'node1', true));
    clock.advance(1);
    const ep = store.get(R.endpoints, 'default', 'named') as Endpoints;
    expect(ep.subsets?.[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('gives LoadBalancer Services the lowest free pool address and prints tables as kubectl', () => {
    const { clock, ops, store } = setup();
    const lb = (name: string): Service => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    });
    ops.create(R.services, 'default', lb('lb1'));
    ops.create(R.services, 'default', lb('lb2'));
    clock.advance(1);
    const ips = ['lb1', 'lb2'].map(
      (n) => (store.get(R.services, 'default', n) as Service).status?.loadBalancer?.ingress?.[0]?.ip,
    );
    expect(ips).toEqual(['192.168.1.242', '192.168.1.243']);
    const t = toTable([store.get(R.services, 'default', 'lb1')!], 'Service', EPOCH, 'None');
    expect(t.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'Type',
      'Cluster-IP',
      'External-IP',
      'Port(s)',
      'Age',
      'Selector',
    ]);
    const nodePort = (store.get(R.services, 'default', 'lb1') as Service).spec.ports![0].nodePort;
    expect(t.rows[0].cells.slice(1, 5)).toEqual([
      'LoadBalancer',
      (store.get(R.services, 'default', 'lb1') as Service).spec.clusterIP,
      '192.168.1.242',
      `80:${nodePort}/TCP`,
    ]);
  });
});
