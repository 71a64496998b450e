// Dual-stack Services through the API operations as kube-apiserver settles them: ipFamilyPolicy /
// ipFamilies / clusterIPs with an IPv6 service range (`10.96.0.0/12,fd00:10:96::/112`), kube's messages for
// what a single-stack cluster or a bad combination refuses, and one EndpointSlice per family.
import { describe, expect, it } from 'vitest';
import { ApiDelete } from '../../../src/controlplane/api-delete.js';
import { ApiOps } from '../../../src/controlplane/api-ops.js';
import { R } from '../../../src/controlplane/controllers/context.js';
import { startControllers } from '../../../src/controlplane/controllers/index.js';
import { ServiceAllocator } from '../../../src/controlplane/service-alloc.js';
import { ObjectStore } from '../../../src/controlplane/store.js';
import { RESOURCES } from '../../../src/k8s/resources.js';
import type { EndpointSlice, Service } from '../../../src/k8s/service-types.js';
import type { Pod } from '../../../src/k8s/types.js';
import { KubeApiError } from '../../../src/util/errors.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { Cidr6, isIpv6, parseIpv6 } from '../../../src/addr/ipv6.js';

const EPOCH = Date.parse('2026-01-01T00:00:00Z');

function setup(cidr6: string | undefined) {
  const clock = new VirtualClock();
  const now = (): number => EPOCH + clock.now();
  let seed = 11;
  const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const store = new ObjectStore({ now, random }, RESOURCES);
  const network = { cidr: '10.96.0.0/12', nodePortRange: [30000, 32767] as [number, number], cidr6 };
  const ops = new ApiOps(store, now, new ServiceAllocator(store, network, random));
  const deleter = new ApiDelete(store, now);
  ops.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  startControllers({ ops, deleter, logger: silentLogger(), clock, now, coalesceMs: 0 });
  return { clock, store, ops };
}

const svc = (name: string, spec: Partial<Service['spec']>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ port: 80 }], selector: { app: 'web' }, ...spec },
});

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof KubeApiError && e.httpStatus === 422) return e.message;
    throw e;
  }
  throw new Error('expected a 422');
}

const in6 = (ip: string): boolean => isIpv6(ip) && Cidr6.parse('fd00:10:96::/112').contains(parseIpv6(ip));

describe('dual-stack Services', () => {
  it('SingleStack by default, PreferDualStack and RequireDualStack get an IPv4 and an IPv6 clusterIP', () => {
    const { ops } = setup('fd00:10:96::/112');
    const single = ops.create(R.services, 'default', svc('single', {})) as Service;
    expect(single.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(single.spec.ipFamilies).toEqual(['IPv4']);
    expect(single.spec.clusterIPs).toEqual([single.spec.clusterIP]);
    const prefer = ops.create(R.services, 'default', svc('prefer', { ipFamilyPolicy: 'PreferDualStack' })) as Service;
    expect(prefer.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(prefer.spec.clusterIPs).toHaveLength(2);
    expect(prefer.spec.clusterIP).toBe(prefer.spec.clusterIPs![0]);
    expect(prefer.spec.clusterIPs![0]).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    expect(in6(prefer.spec.clusterIPs![1])).toBe(true);
    const v6first = ops.create(
      R.services,
      'default',
      svc('v6first', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] }),
    ) as Service;
    expect(v6first.spec.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(in6(v6first.spec.clusterIP!)).toBe(true);
    const only6 = ops.create(R.services, 'default', svc('only6', { ipFamilies: ['IPv6'] })) as Service;
    expect(only6.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(only6.spec.clusterIPs).toHaveLength(1);
    expect(in6(only6.spec.clusterIP!)).toBe(true);
    const all6 = [prefer, v6first, only6].map((s) => s.spec.clusterIPs!.find(in6));
    expect(new Set(all6).size).toBe(3);
  });

  it('infers families from clusterIPs, keeps them on update, refuses a taken or foreign IPv6 address', () => {
    const { ops } = setup('fd00:10:96::/112');
    const s = ops.create(
      R.services,
      'default',
      svc('fixed', { clusterIPs: ['fd00:10:96::a', '10.96.100.10'], clusterIP: 'fd00:10:96::a' }),
    ) as Service;
    expect(s.spec.ipFamilyPolicy).toBe('RequireDualStack');
    expect(s.spec.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(s.spec.clusterIPs).toEqual(['fd00:10:96::a', '10.96.100.10']);
    const updated = ops.update(R.services, 'default', 'fixed', {
      ...s,
      spec: { ...s.spec, clusterIP: undefined, clusterIPs: undefined, ports: [{ port: 81 }] },
    } as unknown as Service) as Service;
    expect(updated.spec.clusterIPs).toEqual(['fd00:10:96::a', '10.96.100.10']);
    expect(refusal(() => ops.create(R.services, 'default', svc('dup', { clusterIP: 'fd00:10:96::a' })))).toBe(
      'Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"fd00:10:96::a"}: ' +
        'failed to allocate IP fd00:10:96::a: provided IP is already allocated',
    );
    expect(refusal(() => ops.create(R.services, 'default', svc('far', { clusterIP: 'fd00:99::1' })))).toContain(
      'The range of valid IPs is fd00:10:96::/112',
    );
  });

  it("refuses what kube refuses, with kube's messages", () => {
    const single = setup(undefined).ops;
    expect(refusal(() => single.create(R.services, 'default', svc('r', { ipFamilyPolicy: 'RequireDualStack' })))).toBe(
      'Service "r" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": ' +
        'this cluster is not configured for dual-stack services',
    );
    expect(refusal(() => single.create(R.services, 'default', svc('v6', { ipFamilies: ['IPv6'] })))).toBe(
      'Service "v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster',
    );
    // PreferDualStack on a single-stack cluster is IPv4 only
    const p = single.create(R.services, 'default', svc('p', { ipFamilyPolicy: 'PreferDualStack' })) as Service;
    expect(p.spec.ipFamilies).toEqual(['IPv4']);
    const dual = setup('fd00:10:96::/112').ops;
    expect(
      refusal(() =>
        dual.create(R.services, 'default', svc('s', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'] })),
      ),
    ).toContain("must be 'RequireDualStack' or 'PreferDualStack' when multiple 'ipFamilies' are specified");
    expect(refusal(() => dual.create(R.services, 'default', svc('x', { ipFamilyPolicy: 'Both' })))).toContain(
      'spec.ipFamilyPolicy: Unsupported value: "Both"',
    );
    expect(
      refusal(() =>
        dual.create(R.services, 'default', svc('m', { ipFamilies: ['IPv4'], clusterIPs: ['fd00:10:96::5'] })),
      ),
    ).toContain('expected an IPv4 value as indicated by `ipFamilies[0]`');
  });

  it('keeps one EndpointSlice per family: addressType IPv4 with podIP, IPv6 with the IPv6 podIP', () => {
    const { clock, ops, store } = setup('fd00:10:96::/112');
    ops.create(R.services, 'default', svc('web', { ipFamilyPolicy: 'PreferDualStack' }));
    const p: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'a', namespace: 'default', labels: { app: 'web' } },
      spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'x' }] },
    };
    const created = ops.create(R.pods, 'default', p);
    ops.update(
      R.pods,
      'default',
      'a',
      {
        ...created,
        status: {
          phase: 'Running',
          podIP: '10.244.1.5',
          podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00:10:244:1::5' }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      } as Pod,
      'status',
    );
    clock.advance(1);
    const slices = (store.list(R.endpointslices, 'default').items as EndpointSlice[]).filter(
      (s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web',
    );
    const byType = Object.fromEntries(slices.map((s) => [s.addressType, s.endpoints?.map((e) => e.addresses[0])]));
    expect(byType).toEqual({ IPv4: ['10.244.1.5'], IPv6: ['fd00:10:244:1::5'] });
  });
});
