import { describe, expect, it } from 'vitest';
import { heartbeatFilter } from '../../../src/controlplane/controllers/heartbeat-filter.js';
import { resourceForKind } from '../../../src/k8s/resources.js';
import type { Node } from '../../../src/k8s/types.js';
import type { StoreEvent } from '../../../src/controlplane/store.js';

const nodes = resourceForKind('v1', 'Node')!;
const pods = resourceForKind('v1', 'Pod')!;

function node(rv: number, beat: string, ready: 'True' | 'Unknown' = 'True', taints?: Node['spec']['taints']): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node1', resourceVersion: String(rv) },
    spec: { podCIDR: '10.244.1.0/24', ...(taints ? { taints } : {}) },
    status: {
      conditions: [
        { type: 'Ready', status: ready, reason: 'KubeletReady', lastHeartbeatTime: beat, lastTransitionTime: 't0' },
      ],
    },
  };
}

const ev = (type: StoreEvent['type'], o: Node, rv: number): StoreEvent => ({ type, resource: nodes, object: o, rv });

describe('heartbeatFilter', () => {
  it('skips a Node event that only moves lastHeartbeatTime and resourceVersion', () => {
    const skip = heartbeatFilter();
    expect(skip(ev('ADDED', node(1, 'a'), 1))).toBe(false);
    expect(skip(ev('MODIFIED', node(2, 'b'), 2))).toBe(true);
    expect(skip(ev('MODIFIED', node(3, 'c'), 3))).toBe(true);
  });

  it('passes readiness changes, taints, deletions and every other resource', () => {
    const skip = heartbeatFilter();
    skip(ev('MODIFIED', node(1, 'a'), 1));
    expect(skip(ev('MODIFIED', node(2, 'a', 'Unknown'), 2))).toBe(false);
    expect(skip(ev('MODIFIED', node(3, 'b', 'True'), 3))).toBe(false);
    expect(skip(ev('MODIFIED', node(4, 'c', 'True', [{ key: 'k', effect: 'NoSchedule' }]), 4))).toBe(false);
    expect(skip(ev('DELETED', node(5, 'c'), 5))).toBe(false);
    expect(skip(ev('ADDED', node(6, 'd'), 6))).toBe(false);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } as unknown as Node;
    expect(skip({ type: 'MODIFIED', resource: pods, object: pod, rv: 7 })).toBe(false);
    expect(skip({ type: 'MODIFIED', resource: pods, object: pod, rv: 8 })).toBe(false);
  });

  it('remembers per loop: two filters judge the same stream alike', () => {
    const a = heartbeatFilter();
    const b = heartbeatFilter();
    for (const f of [a, b]) f(ev('MODIFIED', node(1, 'a'), 1));
    expect([a, b].map((f) => f(ev('MODIFIED', node(2, 'b'), 2)))).toEqual([true, true]);
  });
});
