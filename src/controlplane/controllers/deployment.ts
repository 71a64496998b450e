// The Deployment controller: one ReplicaSet per pod template (`<deploy>-<pod-template-hash>`, the hash
// label added to its selector and template), revisions in `deployment.kubernetes.io/revision`, rolling
// update bounded by maxSurge/maxUnavailable (25%/25% by default; percentages of replicas, surge rounded
// up, unavailable down, as kube) or Recreate, old ReplicaSets beyond revisionHistoryLimit removed,
// status (replicas, updated, ready, available, unavailable, observedGeneration, Available/Progressing
// conditions as `kubectl rollout status` reads them); Events ScalingReplicaSet.
import type { Deployment, DeploymentCondition, ReplicaSet } from '../../k8s/types.js';
import { podTemplateHash } from '../../k8s/names.js';
import { recordEvent } from './events.js';
import { R, attempt, type ControllerContext } from './context.js';
import { controllerOf, ownerRef } from './replicaset.js';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';

export function resolveIntOrPercent(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = v.match(/^(\d+)%$/);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

function templateWithoutHash(t: ReplicaSet['spec']['template']): unknown {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[HASH];
  return { ...t, metadata: { ...(t.metadata ?? {}), labels } };
}

export class DeploymentController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const allRs = this.ctx.store.list(R.replicasets).items as ReplicaSet[];
    for (const d of this.ctx.store.list(R.deployments).items as Deployment[]) {
      if (d.metadata.deletionTimestamp) continue;
      this.sync(
        d,
        allRs.filter(
          (rs) => rs.metadata.namespace === d.metadata.namespace && controllerOf(rs)?.uid === d.metadata.uid,
        ),
      );
    }
  }

  private scale(d: Deployment, rs: ReplicaSet, to: number): void {
    const from = rs.spec.replicas ?? 0;
    if (from === to) return;
    rs.spec.replicas = to;
    rs.metadata.annotations = {
      ...(rs.metadata.annotations ?? {}),
      'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas ?? 1),
    };
    if (
      attempt(this.ctx, `scale ${rs.metadata.name}`, () =>
        this.ctx.ops.update(R.replicasets, rs.metadata.namespace, rs.metadata.name!, rs),
      )
    ) {
      recordEvent(
        this.ctx,
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
        'deployment-controller',
      );
    }
  }

  private sync(d: Deployment, owned: ReplicaSet[]): void {
    const ctx = this.ctx;
    const ns = d.metadata.namespace!;
    const hash = podTemplateHash(templateWithoutHash(d.spec.template));
    let newRs = owned.find(
      (rs) => rs.metadata.labels?.[HASH] === hash || podTemplateHash(templateWithoutHash(rs.spec.template)) === hash,
    );
    const olds = owned
      .filter((rs) => rs !== newRs)
      .sort(
        (a, b) => Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0),
      );
    const maxRevision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)));
    const replicas = d.spec.replicas ?? 1;
    const rolling = (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const maxSurge = rolling
      ? resolveIntOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true)
      : 0;
    let maxUnavailable = rolling
      ? resolveIntOrPercent(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false)
      : replicas;
    if (rolling && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    maxUnavailable = Math.min(maxUnavailable, replicas);
    if (!newRs) {
      const oldPods = olds.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
      const initial = !rolling
        ? oldPods > 0
          ? 0
          : replicas
        : olds.length === 0
          ? replicas
          : Math.max(0, Math.min(replicas, replicas + maxSurge - oldPods));
      const t = structuredClone(d.spec.template);
      t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), [HASH]: hash } };
      const rs = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(t.metadata.labels ?? {}) },
          annotations: {
            [REVISION]: String(maxRevision + 1),
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + maxSurge),
          },
          ownerReferences: [ownerRef(d)],
        },
        spec: {
          replicas: initial,
          minReadySeconds: d.spec.minReadySeconds ?? 0,
          selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [HASH]: hash } },
          template: t,
        },
      } as ReplicaSet;
      if (
        !attempt(ctx, `create rs for ${d.metadata.name}`, () => {
          newRs = ctx.ops.create(R.replicasets, ns, rs) as ReplicaSet;
        })
      )
        return;
      if (initial > 0)
        recordEvent(
          ctx,
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled up replica set ${newRs!.metadata.name} from 0 to ${initial}`,
          'deployment-controller',
        );
    } else if (Number(newRs.metadata.annotations?.[REVISION] ?? 0) < maxRevision) {
      newRs.metadata.annotations = { ...(newRs.metadata.annotations ?? {}), [REVISION]: String(maxRevision + 1) };
      attempt(ctx, 'revision', () => {
        newRs = ctx.ops.update(R.replicasets, ns, newRs!.metadata.name!, newRs!) as ReplicaSet;
      });
    }
    const nr = newRs!;
    if (!d.spec.paused) {
      const activeOlds = olds.filter((rs) => (rs.spec.replicas ?? 0) > 0);
      if (!rolling) {
        for (const rs of activeOlds) this.scale(d, rs, 0);
        const oldPodsLeft = olds.some((rs) => (rs.status?.replicas ?? 0) > 0);
        if (activeOlds.length === 0 && !oldPodsLeft) this.scale(d, nr, replicas);
      } else if (activeOlds.length === 0) {
        this.scale(d, nr, replicas);
      } else {
        const total =
          owned.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0) + (owned.includes(nr) ? 0 : (nr.spec.replicas ?? 0));
        const cur = nr.spec.replicas ?? 0;
        if (cur < replicas) {
          const up = Math.min(replicas - cur, replicas + maxSurge - total);
          if (up > 0) this.scale(d, nr, cur + up);
        } else if (cur > replicas) this.scale(d, nr, replicas);
        const all = [nr, ...olds];
        const available = all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
        const minAvailable = replicas - maxUnavailable;
        let budget = available - minAvailable;
        for (const rs of activeOlds) {
          const unhealthy = Math.max(0, (rs.spec.replicas ?? 0) - (rs.status?.availableReplicas ?? 0));
          let down = Math.min(unhealthy, rs.spec.replicas ?? 0);
          const healthyDown = Math.max(0, Math.min((rs.spec.replicas ?? 0) - down, budget));
          budget -= healthyDown;
          down += healthyDown;
          if (down > 0) this.scale(d, rs, (rs.spec.replicas ?? 0) - down);
        }
      }
    }
    this.cleanup(d, olds);
    this.writeStatus(d, nr, olds, maxUnavailable);
  }

  private cleanup(d: Deployment, olds: ReplicaSet[]): void {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = olds.filter(
      (rs) => (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp,
    );
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      attempt(this.ctx, `cleanup ${rs.metadata.name}`, () =>
        this.ctx.deleter.delete(R.replicasets, rs.metadata.namespace, rs.metadata.name!),
      );
    }
  }

  private writeStatus(d: Deployment, nr: ReplicaSet, olds: ReplicaSet[], maxUnavailable: number): void {
    const ctx = this.ctx;
    const fresh = (name: string): ReplicaSet | undefined =>
      ctx.store.get(R.replicasets, d.metadata.namespace, name) as ReplicaSet | undefined;
    const all = [nr, ...olds].map((rs) => fresh(rs.metadata.name!) ?? rs);
    const n = fresh(nr.metadata.name!) ?? nr;
    const replicas = d.spec.replicas ?? 1;
    const sum = (f: (rs: ReplicaSet) => number | undefined): number => all.reduce((x, rs) => x + (f(rs) ?? 0), 0);
    const available = sum((rs) => rs.status?.availableReplicas);
    const updated = n.status?.replicas ?? 0;
    const total = sum((rs) => rs.status?.replicas);
    const stamp = new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const cur = ctx.store.get(R.deployments, d.metadata.namespace, d.metadata.name!) as Deployment | undefined;
    if (!cur) return;
    const prev = new Map((cur.status?.conditions ?? []).map((c) => [c.type, c]));
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string): DeploymentCondition => {
      const p = prev.get(type);
      const same = p && p.status === status && p.reason === reason && p.message === message;
      return {
        type,
        status,
        reason,
        message,
        lastUpdateTime: same ? p.lastUpdateTime : stamp,
        lastTransitionTime: p && p.status === status ? p.lastTransitionTime : stamp,
      };
    };
    const complete =
      updated === replicas &&
      total === replicas &&
      available >= replicas &&
      (n.status?.observedGeneration ?? 0) >= (n.metadata.generation ?? 1);
    const conditions = [
      available >= replicas - maxUnavailable
        ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
      complete
        ? cond(
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${n.metadata.name}" has successfully progressed.`,
          )
        : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${n.metadata.name}" is progressing.`),
    ];
    const status = {
      observedGeneration: cur.metadata.generation,
      replicas: total,
      updatedReplicas: updated,
      readyReplicas: sum((rs) => rs.status?.readyReplicas),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, replicas - available) || undefined,
      conditions,
    };
    const revision = n.metadata.annotations?.[REVISION];
    let changed = false;
    if (revision && cur.metadata.annotations?.[REVISION] !== revision) {
      cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [REVISION]: revision };
      attempt(ctx, 'deployment revision', () => {
        Object.assign(cur, ctx.ops.update(R.deployments, cur.metadata.namespace, cur.metadata.name!, cur));
      });
      changed = true;
    }
    if (changed || JSON.stringify(cur.status ?? {}) !== JSON.stringify(JSON.parse(JSON.stringify(status)))) {
      cur.status = status;
      attempt(ctx, `deployment status ${d.metadata.name}`, () =>
        ctx.ops.update(R.deployments, cur.metadata.namespace, cur.metadata.name!, cur, 'status'),
      );
    }
  }
}
