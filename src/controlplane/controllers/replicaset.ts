// The ReplicaSet controller: keeps spec.replicas active pods (not terminating, not finished) that match
// the selector and are controlled by the ReplicaSet (adopting matching orphans), creating pods from the
// template named `<rs>-<5 chars>` and deleting surplus ones (unscheduled, then pending, then not ready,
// then newest first, as kube ranks them); writes status (replicas, fullyLabeled, ready, available,
// observedGeneration); Events SuccessfulCreate / SuccessfulDelete.
import type { KubeObject, OwnerReference, Pod, ReplicaSet } from '../../k8s/types.js';
import { selectorMatches } from '../../k8s/selectors.js';
import { recordEvent } from './events.js';
import { R, attempt, type ControllerContext } from './context.js';

export const isActivePod = (p: Pod): boolean =>
  !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
export const isReadyPod = (p: Pod): boolean =>
  (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller);
}

export function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Lower = deleted first (kube's ActivePods ordering, simplified). */
function deletionRank(p: Pod): number[] {
  return [
    p.spec.nodeName ? 1 : 0,
    p.status?.phase === 'Pending' ? 0 : 1,
    isReadyPod(p) ? 1 : 0,
    -Date.parse(p.metadata.creationTimestamp ?? '0'),
  ];
}

export class ReplicaSetController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const allPods = this.ctx.store.scan(R.pods) as Pod[];
    for (const rs of this.ctx.store.scan(R.replicasets) as ReplicaSet[]) {
      if (rs.metadata.deletionTimestamp) continue;
      this.sync(
        rs,
        allPods.filter((p) => p.metadata.namespace === rs.metadata.namespace),
      );
    }
  }

  private sync(rs: ReplicaSet, pods: Pod[]): void {
    const ctx = this.ctx;
    const ns = rs.metadata.namespace!;
    const owned: Pod[] = [];
    for (const p of pods) {
      const c = controllerOf(p);
      if (c?.uid === rs.metadata.uid) owned.push(p);
      else if (!c && isActivePod(p) && selectorMatches(rs.spec.selector, p.metadata.labels)) {
        const adopted = structuredClone(p); // p is the store's own object (scan)
        adopted.metadata.ownerReferences = [...(p.metadata.ownerReferences ?? []), ownerRef(rs)];
        if (attempt(ctx, `adopt ${p.metadata.name}`, () => ctx.ops.update(R.pods, ns, p.metadata.name!, adopted)))
          owned.push(p);
      }
    }
    const active = owned.filter(isActivePod);
    const want = rs.spec.replicas ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) this.createPod(rs);
    } else if (active.length > want) {
      const victims = [...active]
        .sort((a, b) => {
          const ra = deletionRank(a),
            rb = deletionRank(b);
          for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
          return 0;
        })
        .slice(0, active.length - want);
      for (const p of victims) {
        if (attempt(ctx, `delete ${p.metadata.name}`, () => ctx.deleter.delete(R.pods, ns, p.metadata.name!))) {
          recordEvent(
            ctx,
            rs,
            'Normal',
            'SuccessfulDelete',
            `Deleted pod: ${p.metadata.name}`,
            'replicaset-controller',
          );
        }
      }
    }
    const now = ctx.now();
    const fresh = (ctx.store.scan(R.pods, ns) as Pod[]).filter(
      (p) => controllerOf(p)?.uid === rs.metadata.uid && isActivePod(p),
    );
    const ready = fresh.filter(isReadyPod);
    const minReady = (rs.spec.minReadySeconds ?? 0) * 1000;
    const available = ready.filter((p) => {
      const t = (p.status?.conditions ?? []).find((c) => c.type === 'Ready')?.lastTransitionTime;
      return minReady === 0 || (t !== undefined && now - Date.parse(t) >= minReady);
    });
    const status = {
      replicas: fresh.length,
      fullyLabeledReplicas: fresh.filter((p) =>
        Object.entries(rs.spec.template.metadata?.labels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: ready.length,
      availableReplicas: available.length,
      observedGeneration: rs.metadata.generation,
    };
    const cur = ctx.store.get(R.replicasets, ns, rs.metadata.name!) as ReplicaSet | undefined;
    if (!cur) return;
    if (JSON.stringify(cur.status ?? {}) !== JSON.stringify(status)) {
      cur.status = status;
      attempt(ctx, `rs status ${rs.metadata.name}`, () =>
        ctx.ops.update(R.replicasets, ns, rs.metadata.name!, cur, 'status'),
      );
    }
  }

  private createPod(rs: ReplicaSet): void {
    const t = rs.spec.template;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}) },
        annotations: t.metadata?.annotations ? { ...t.metadata.annotations } : undefined,
        ownerReferences: [ownerRef(rs)],
      },
      spec: structuredClone(t.spec),
    } as Pod;
    let created: KubeObject | undefined;
    if (
      attempt(this.ctx, `create pod for ${rs.metadata.name}`, () => {
        created = this.ctx.ops.create(R.pods, rs.metadata.namespace, pod);
      })
    ) {
      recordEvent(
        this.ctx,
        rs,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created!.metadata.name}`,
        'replicaset-controller',
      );
    }
  }
}
