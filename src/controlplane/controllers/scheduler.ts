// The scheduler: binds each Pending pod without a node (schedulerName default-scheduler) to a Ready,
// schedulable node that matches its nodeSelector and tolerates the node's NoSchedule/NoExecute taints
// and whose podCIDR still has a free address (pods per node ≤ CIDR size − 3: network, gateway,
// broadcast), choosing the node with the fewest pods (then by name). When none fits: PodScheduled=False
// reason Unschedulable with kube's "0/N nodes are available: …" message and a FailedScheduling Event.
import type { Node, Pod, Taint } from '../../k8s/types.js';
import { recordEvent } from './events.js';
import { R, attempt, type ControllerContext } from './context.js';

export function podCapacity(node: Node): number {
  const cidr = node.spec?.podCIDR ?? node.spec?.podCIDRs?.[0];
  const len = cidr ? Number(cidr.split('/')[1]) : NaN;
  if (!Number.isInteger(len) || len < 8 || len > 30) return 110;
  return Math.min(2 ** (32 - len) - 3, 110);
}

export function nodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function tolerates(pod: Pod, taint: Taint): boolean {
  const tolerations =
    (pod.spec as { tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[] })
      .tolerations ?? [];
  return tolerations.some(
    (t) =>
      (!t.effect || t.effect === taint.effect) &&
      (t.operator === 'Exists'
        ? !t.key || t.key === taint.key
        : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
  );
}

const isActive = (p: Pod): boolean => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

export class Scheduler {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    // the store's own objects (scan, no copies): unschedulable() copies the pod it changes
    const pods = this.ctx.store.scan(R.pods) as Pod[];
    const nodes = this.ctx.store.scan(R.nodes) as Node[];
    const load = new Map<string, number>();
    for (const p of pods)
      if (p.spec.nodeName && isActive(p)) load.set(p.spec.nodeName, (load.get(p.spec.nodeName) ?? 0) + 1);
    for (const pod of pods) {
      if (pod.spec.nodeName || pod.metadata.deletionTimestamp) continue;
      if ((pod.spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler') continue;
      this.schedule(pod, nodes, load);
    }
  }

  private schedule(pod: Pod, nodes: Node[], load: Map<string, number>): void {
    const reasons = new Map<string, number>();
    const reject = (why: string): void => {
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    };
    const fits: Node[] = [];
    for (const node of nodes) {
      if (node.metadata.deletionTimestamp) reject('node(s) were being deleted');
      else if (!nodeReady(node)) reject('node(s) were not ready');
      else if (node.spec?.unschedulable) reject('node(s) were unschedulable');
      else if (Object.entries(pod.spec.nodeSelector ?? {}).some(([k, v]) => node.metadata.labels?.[k] !== v)) {
        reject("node(s) didn't match Pod's node affinity/selector");
      } else if ((node.spec?.taints ?? []).some((t) => t.effect !== 'PreferNoSchedule' && !tolerates(pod, t))) {
        reject('node(s) had untolerated taint(s)');
      } else if ((load.get(node.metadata.name!) ?? 0) >= podCapacity(node))
        reject('node(s) had no free pod address (podCIDR full)');
      else fits.push(node);
    }
    if (fits.length === 0) return this.unschedulable(pod, nodes.length, reasons);
    fits.sort(
      (a, b) =>
        (load.get(a.metadata.name!) ?? 0) - (load.get(b.metadata.name!) ?? 0) ||
        a.metadata.name!.localeCompare(b.metadata.name!),
    );
    const node = fits[0].metadata.name!;
    if (
      attempt(this.ctx, `bind ${pod.metadata.name}`, () =>
        this.ctx.ops.bind(R.pods, pod.metadata.namespace!, pod.metadata.name!, {
          target: { kind: 'Node', name: node },
        }),
      )
    ) {
      load.set(node, (load.get(node) ?? 0) + 1);
      recordEvent(
        this.ctx,
        pod,
        'Normal',
        'Scheduled',
        `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`,
        'default-scheduler',
      );
    }
  }

  private unschedulable(stored: Pod, total: number, reasons: Map<string, number>): void {
    const detail = [...reasons]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([why, n]) => `${n} ${why}`)
      .join(', ');
    const message = total === 0 ? 'no nodes available to schedule pods' : `0/${total} nodes are available: ${detail}.`;
    const cond = (stored.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    if (cond?.status === 'False' && cond.message === message) return;
    const pod = structuredClone(stored);
    pod.status ??= {};
    pod.status.conditions = [
      ...(pod.status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message,
        lastProbeTime: null,
        lastTransitionTime: new Date(this.ctx.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    ];
    if (
      attempt(this.ctx, `unschedulable ${pod.metadata.name}`, () =>
        this.ctx.ops.update(R.pods, pod.metadata.namespace, pod.metadata.name!, pod, 'status'),
      )
    ) {
      recordEvent(this.ctx, pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
    }
  }
}
