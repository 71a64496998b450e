// The node lifecycle controller: a Node whose Ready heartbeat (lastHeartbeatTime) is older than
// `gracePeriodMs` (10 s here; kube: 40 s) gets Ready=Unknown ("Kubelet stopped posting node status.",
// kubectl shows NotReady), the unreachable taints, and its pods Ready=False; once it has been unknown
// for `evictionMs` more (30 s here; kube: 300 s) its pods are deleted (reason NodeLost) so their
// controllers replace them. A node whose kubelet posts Ready again loses the taints.
import type { Node, NodeCondition, Pod } from '../../k8s/types.js';
import { recordEvent } from './events.js';
import { R, attempt, type ControllerContext } from './context.js';

export const NODE_GRACE_MS = 10_000;
export const NODE_EVICTION_MS = 30_000;
const TAINT_KEY = 'node.kubernetes.io/unreachable';

export class NodeLifecycleController {
  private readonly unknownSince = new Map<string, number>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly gracePeriodMs = NODE_GRACE_MS,
    private readonly evictionMs = NODE_EVICTION_MS,
  ) {}

  reconcile(): void {
    const ctx = this.ctx;
    const now = ctx.now();
    const stamp = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    // the store's own objects (scan, no copies, run every second): copied before any change
    const pods = ctx.store.scan(R.pods) as Pod[];
    for (const stored of ctx.store.scan(R.nodes) as Node[]) {
      const node = stored;
      const name = node.metadata.name!;
      const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
      if (!ready) continue;
      const beat = Date.parse(ready.lastHeartbeatTime ?? node.metadata.creationTimestamp ?? '');
      const stale = Number.isFinite(beat) && now - beat > this.gracePeriodMs;
      if (!stale) {
        this.unknownSince.delete(name);
        if ((node.spec.taints ?? []).some((t) => t.key === TAINT_KEY)) {
          const untainted = structuredClone(stored);
          untainted.spec.taints = (node.spec.taints ?? []).filter((t) => t.key !== TAINT_KEY);
          if (untainted.spec.taints.length === 0) delete untainted.spec.taints;
          attempt(ctx, `untaint ${name}`, () => ctx.ops.update(R.nodes, undefined, name, untainted));
        }
        continue;
      }
      if (ready.status !== 'Unknown') {
        const unknown = structuredClone(stored);
        unknown.status!.conditions = (node.status!.conditions ?? []).map((c): NodeCondition => ({
          ...c,
          status: 'Unknown',
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
          lastTransitionTime: stamp,
        }));
        attempt(ctx, `node unknown ${name}`, () => {
          const updated = ctx.ops.update(R.nodes, undefined, name, unknown, 'status') as Node;
          updated.spec.taints = [
            ...(updated.spec.taints ?? []).filter((t) => t.key !== TAINT_KEY),
            { key: TAINT_KEY, effect: 'NoSchedule', timeAdded: stamp },
            { key: TAINT_KEY, effect: 'NoExecute', timeAdded: stamp },
          ];
          ctx.ops.update(R.nodes, undefined, name, updated);
        });
        recordEvent(ctx, node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`, 'node-controller');
        this.markPodsNotReady(
          pods.filter((p) => p.spec.nodeName === name),
          stamp,
        );
      }
      if (!this.unknownSince.has(name)) this.unknownSince.set(name, now);
      if (now - this.unknownSince.get(name)! >= this.evictionMs)
        this.evict(
          pods.filter((p) => p.spec.nodeName === name && !p.metadata.deletionTimestamp),
          name,
        );
    }
  }

  private markPodsNotReady(pods: Pod[], stamp: string): void {
    for (const stored of pods) {
      const p = structuredClone(stored);
      const conds = p.status?.conditions ?? [];
      if (!conds.some((c) => (c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'True')) continue;
      p.status!.conditions = conds.map((c) =>
        (c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'True'
          ? { ...c, status: 'False' as const, lastTransitionTime: stamp }
          : c,
      );
      attempt(this.ctx, `pod not ready ${p.metadata.name}`, () =>
        this.ctx.ops.update(R.pods, p.metadata.namespace, p.metadata.name!, p, 'status'),
      );
    }
  }

  private evict(pods: Pod[], node: string): void {
    for (const stored of pods) {
      const p = structuredClone(stored);
      attempt(this.ctx, `evict ${p.metadata.name}`, () => {
        p.status = {
          ...(p.status ?? {}),
          reason: 'NodeLost',
          message: `Node ${node} which was running pod ${p.metadata.name} is unresponsive`,
        };
        const updated = this.ctx.ops.update(R.pods, p.metadata.namespace, p.metadata.name!, p, 'status');
        this.ctx.deleter.delete(R.pods, updated.metadata.namespace, updated.metadata.name!);
      });
      recordEvent(
        this.ctx,
        p,
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}`,
        'taint-eviction-controller',
      );
    }
  }
}
