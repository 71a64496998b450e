// Controllers on virtual time with the store in memory. The "kubelet" here is a test double: it marks
// bound pods Running+Ready and finishes graceful deletes with a grace-0 delete, as the real kubelet does.
import { describe, expect, it } from 'vitest';
import { ApiDelete } from '../../../src/controlplane/api-delete.js';
import { ApiOps } from '../../../src/controlplane/api-ops.js';
import { R } from '../../../src/controlplane/controllers/context.js';
import { startControllers } from '../../../src/controlplane/controllers/index.js';
import { ObjectStore } from '../../../src/controlplane/store.js';
import { RESOURCES } from '../../../src/k8s/resources.js';
import type { Deployment, Event, Node, Pod } from '../../../src/k8s/types.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';

const EPOCH = Date.parse('2026-01-01T00:00:00Z');

function cluster(nodeCount = 2, cidr = '/24') {
  const clock = new VirtualClock();
  const now = (): number => EPOCH + clock.now();
  let seed = 1;
  const store = new ObjectStore({ now, random: () => (seed = (seed * 48271) % 2147483647) / 2147483647 }, RESOURCES);
  const ops = new ApiOps(store, now);
  const deleter = new ApiDelete(store, now);
  for (const n of ['default', 'kube-system'])
    ops.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
  const stamp = (): string => new Date(now()).toISOString().replace(/\.\d+Z$/, 'Z');
  const heartbeat = (name: string): void => {
    const node = store.get(R.nodes, undefined, name) as Node;
    node.status!.conditions = [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        lastHeartbeatTime: stamp(),
        lastTransitionTime: stamp(),
      },
    ];
    ops.update(R.nodes, undefined, name, node, 'status');
  };
  for (let i = 1; i <= nodeCount; i++) {
    ops.create(R.nodes, undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `node${i}`, labels: { 'kubernetes.io/hostname': `node${i}` } },
      spec: { podCIDR: `10.244.${i}.0${cidr}` },
      status: { conditions: [] },
    } as Node);
    heartbeat(`node${i}`);
  }
  const controllers = startControllers({
    ops,
    deleter,
    logger: silentLogger(),
    clock,
    now,
    nodeGraceMs: 10_000,
    coalesceMs: 0,
    nodeEvictionMs: 30_000,
  });
  const pods = (): Pod[] => store.list(R.pods, 'default').items as Pod[];
  /** The kubelet double: runs bound pods, finishes deletes; `down` nodes do nothing. */
  const down = new Set<string>();
  const kubelet = (): void => {
    for (const p of pods()) {
      if (!p.spec.nodeName || down.has(p.spec.nodeName)) continue;
      if (p.metadata.deletionTimestamp) {
        deleter.delete(R.pods, 'default', p.metadata.name!, { gracePeriodSeconds: 0 });
        continue;
      }
      if (p.status?.phase === 'Running') continue;
      p.status = {
        ...p.status,
        phase: 'Running',
        conditions: [...(p.status?.conditions ?? []), { type: 'Ready', status: 'True', lastTransitionTime: stamp() }],
      };
      ops.update(R.pods, 'default', p.metadata.name!, p, 'status');
    }
  };
  const run = (ms = 0, step = 500): void => {
    for (let t = 0; t <= ms; t += step) {
      clock.advance(t === 0 ? 0 : step);
      kubelet();
      clock.advance(0);
      kubelet();
      clock.advance(0);
    }
  };
  return { clock, store, ops, deleter, pods, run, heartbeat, down, controllers };
}

const deployment = (name: string, replicas: number, image = 'nginx'): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
  },
});

const events = (c: ReturnType<typeof cluster>, reason: string): Event[] =>
  (c.store.list(R.events, 'default').items as Event[]).filter((e) => e.reason === reason);

describe('controllers', () => {
  it('a Deployment gets a ReplicaSet and spread pods named <deploy>-<hash>-<5>, and heals', () => {
    const c = cluster();
    c.ops.create(R.deployments, 'default', deployment('nginx', 2));
    c.run(1000);
    const pods = c.pods();
    expect(pods).toHaveLength(2);
    for (const p of pods)
      expect(p.metadata.name).toMatch(/^nginx-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(new Set(pods.map((p) => p.spec.nodeName))).toEqual(new Set(['node1', 'node2']));
    const d = c.store.get(R.deployments, 'default', 'nginx') as Deployment;
    expect(d.status).toMatchObject({
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      observedGeneration: 1,
    });
    expect(events(c, 'ScalingReplicaSet')[0].message).toMatch(/^Scaled up replica set nginx-\w+ from 0 to 2$/);
    expect(events(c, 'Scheduled')).toHaveLength(2);
    c.deleter.delete(R.pods, 'default', pods[0].metadata.name!);
    c.run(1000);
    const after = c.pods().map((p) => p.metadata.name);
    expect(after).toHaveLength(2);
    expect(after).not.toContain(pods[0].metadata.name);
    expect(events(c, 'SuccessfulCreate').length).toBe(3);
  });

  it('scales 2 → 6 → 1 and rolls out a new template with the pods replaced', () => {
    const c = cluster();
    c.ops.create(R.deployments, 'default', deployment('web', 2));
    c.run(1000);
    c.ops.setScale(R.deployments, 'default', 'web', { spec: { replicas: 6 } });
    c.run(1000);
    expect(c.pods()).toHaveLength(6);
    c.ops.setScale(R.deployments, 'default', 'web', { spec: { replicas: 1 } });
    c.run(1000);
    expect(c.pods()).toHaveLength(1);
    c.ops.setScale(R.deployments, 'default', 'web', { spec: { replicas: 4 } });
    c.run(1000);
    const before = new Set(c.pods().map((p) => p.metadata.name));
    c.ops.patch(
      R.deployments,
      'default',
      'web',
      'strategic',
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }),
    );
    c.run(5000);
    const now = c.pods();
    expect(now).toHaveLength(4);
    expect(now.every((p) => p.spec.containers[0].image === 'nginx:2' && !before.has(p.metadata.name))).toBe(true);
    const rss = c.store.list(R.replicasets, 'default').items;
    expect(rss).toHaveLength(2);
    const d = c.store.get(R.deployments, 'default', 'web') as Deployment;
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status).toMatchObject({
      replicas: 4,
      updatedReplicas: 4,
      availableReplicas: 4,
      observedGeneration: d.metadata.generation,
    });
    expect(d.metadata.generation).toBe(5);
  });

  it('leaves a pod Pending with FailedScheduling when no node fits, and honours nodeSelector and a full podCIDR', () => {
    const c = cluster(2, '/30');
    const pod = (name: string, sel?: Record<string, string>): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeSelector: sel, containers: [{ name: 'c', image: 'busybox' }] },
    });
    c.ops.create(R.pods, 'default', pod('pinned', { 'kubernetes.io/hostname': 'node2' }));
    c.ops.create(R.pods, 'default', pod('nowhere', { disk: 'ssd' }));
    c.run(0);
    const get = (n: string): Pod => c.store.get(R.pods, 'default', n) as Pod;
    expect(get('pinned').spec.nodeName).toBe('node2');
    expect(get('nowhere').spec.nodeName).toBeUndefined();
    const cond = get('nowhere').status!.conditions!.find((x) => x.type === 'PodScheduled')!;
    expect(cond).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
    });
    expect(events(c, 'FailedScheduling')[0].message).toBe(cond.message);
    c.ops.create(R.pods, 'default', pod('third'));
    c.run(0);
    expect(get('third').spec.nodeName).toBe('node1');
    c.ops.create(R.pods, 'default', pod('fourth'));
    c.run(0);
    expect(get('fourth').spec.nodeName).toBeUndefined();
    expect(get('fourth').status!.conditions![0].message).toContain('2 node(s) had no free pod address (podCIDR full)');
  });

  it('marks a silent node NotReady after 10 s and evicts its pods after 30 s more, and they are replaced', () => {
    const c = cluster();
    c.ops.create(R.deployments, 'default', deployment('nginx', 2));
    c.run(1000);
    c.down.add('node2');
    for (let t = 0; t < 9000; t += 1000) {
      c.heartbeat('node1');
      c.heartbeat('node2');
      c.run(1000);
    }
    c.heartbeat('node1');
    c.run(0);
    let t = 0;
    const node2 = (): Node => c.store.get(R.nodes, undefined, 'node2') as Node;
    for (; t < 15_000 && node2().status!.conditions![0].status !== 'Unknown'; t += 1000) {
      c.heartbeat('node1');
      c.run(1000);
    }
    expect(t).toBeGreaterThanOrEqual(9_000);
    expect(node2().status!.conditions![0]).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    const onNode2 = c.pods().find((p) => p.spec.nodeName === 'node2')!;
    expect(onNode2.status!.conditions!.find((x) => x.type === 'Ready')!.status).toBe('False');
    for (t = 0; t < 28_000; t += 1000) {
      c.heartbeat('node1');
      c.run(1000);
    }
    expect((c.store.get(R.pods, 'default', onNode2.metadata.name!) as Pod).metadata.deletionTimestamp).toBeUndefined();
    for (t = 0; t < 4000; t += 1000) {
      c.heartbeat('node1');
      c.run(1000);
    }
    const evicted = c.store.get(R.pods, 'default', onNode2.metadata.name!) as Pod;
    expect(evicted.metadata.deletionTimestamp).toBeDefined();
    expect(evicted.status!.reason).toBe('NodeLost');
    const active = c.pods().filter((p) => !p.metadata.deletionTimestamp);
    expect(active).toHaveLength(2);
    expect(active.every((p) => p.spec.nodeName === 'node1')).toBe(true);
  });

  it('garbage-collects dependents (Background, Foreground, Orphan) and empties a deleted namespace', () => {
    const c = cluster();
    c.ops.create(R.deployments, 'default', deployment('a', 2));
    c.ops.create(R.deployments, 'default', deployment('b', 1));
    c.ops.create(R.deployments, 'default', deployment('o', 1));
    c.run(1000);
    c.deleter.delete(R.deployments, 'default', 'a');
    c.deleter.delete(R.deployments, 'default', 'b', { propagationPolicy: 'Foreground' });
    expect(c.store.get(R.deployments, 'default', 'b')!.metadata.deletionTimestamp).toBeDefined();
    c.deleter.delete(R.deployments, 'default', 'o', { propagationPolicy: 'Orphan' });
    c.run(12_000);
    expect(c.store.get(R.deployments, 'default', 'b')).toBeUndefined();
    const left = c.pods().map((p) => p.metadata.labels!['app']);
    expect(left).toEqual(['o']);
    expect(c.store.list(R.replicasets, 'default').items.map((r) => r.metadata.name)).toEqual([
      expect.stringMatching(/^o-/),
    ]);
    c.ops.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    c.ops.create(R.pods, 'tmp', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'x' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    } as Pod);
    c.deleter.delete(R.namespaces, undefined, 'tmp');
    expect((c.store.get(R.namespaces, undefined, 'tmp') as unknown as { status: { phase: string } }).status.phase).toBe(
      'Terminating',
    );
    c.run(6000);
    expect(c.store.get(R.namespaces, undefined, 'tmp')).toBeUndefined();
    c.ops.create(R.events, 'default', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'old.1' },
      involvedObject: { kind: 'Pod', name: 'x' },
      reason: 'Old',
      lastTimestamp: new Date(EPOCH - 2 * 3600_000).toISOString(),
    } as Event);
    expect(c.store.get(R.events, 'default', 'old.1')).toBeDefined();
    c.run(11_000);
    expect(c.store.get(R.events, 'default', 'old.1')).toBeUndefined();
    expect(events(c, 'ScalingReplicaSet').length).toBeGreaterThan(0);
    c.controllers.stop();
  });
});
