// The garbage collector: deletes objects all of whose owners (by uid) are gone (Background
// propagation), deletes the dependents of owners being deleted in the Foreground and removes the
// owner's `foregroundDeletion` finalizer once no dependents remain; removes pods being deleted whose
// node no longer exists (no kubelet will finish them), as kube's pod GC does; deletes Events older than
// the event TTL (1 h, as kube-apiserver's --event-ttl).
import { RESOURCES, resourceForKind } from '../../k8s/resources.js';
import type { Event, KubeObject, Pod } from '../../k8s/types.js';
import { R, attempt, type ControllerContext } from './context.js';

export class GarbageCollector {
  private lastTtlSweep = -Infinity;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly eventTtlMs = 3_600_000,
  ) {}

  reconcile(): void {
    const ctx = this.ctx;
    const byUid = new Map<string, KubeObject>();
    const all: { r: (typeof RESOURCES)[number]; o: KubeObject }[] = [];
    for (const r of RESOURCES) {
      for (const o of ctx.store.scan(r)) {
        byUid.set(o.metadata.uid!, o);
        all.push({ r, o });
      }
    }
    const dependents = new Map<string, { r: (typeof RESOURCES)[number]; o: KubeObject }[]>();
    for (const { r, o } of all) {
      const refs = o.metadata.ownerReferences ?? [];
      if (refs.length === 0) continue;
      for (const ref of refs) dependents.set(ref.uid, [...(dependents.get(ref.uid) ?? []), { r, o }]);
      const alive = refs.filter((ref) => {
        const owner = byUid.get(ref.uid);
        return (
          owner &&
          owner.kind === ref.kind &&
          !(owner.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes('foregroundDeletion'))
        );
      });
      const gone = refs.every((ref) => !byUid.has(ref.uid) || resourceForKind(ref.apiVersion, ref.kind) === undefined);
      if ((gone || alive.length === 0) && !o.metadata.deletionTimestamp) {
        attempt(ctx, `gc ${o.kind}/${o.metadata.name}`, () =>
          ctx.deleter.delete(r, o.metadata.namespace, o.metadata.name!),
        );
      }
    }
    for (const { r, o } of all) {
      if (!o.metadata.deletionTimestamp || !(o.metadata.finalizers ?? []).includes('foregroundDeletion')) continue;
      const deps = (dependents.get(o.metadata.uid!) ?? []).filter((d) =>
        ctx.store.get(d.r, d.o.metadata.namespace, d.o.metadata.name!),
      );
      if (deps.length > 0) continue;
      const cur = ctx.store.get(r, o.metadata.namespace, o.metadata.name!);
      if (!cur) continue;
      cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== 'foregroundDeletion');
      attempt(ctx, `finalize ${o.metadata.name}`, () => ctx.store.update(r, cur));
    }
    const now = ctx.now();
    // the Event TTL is an hour: sweeping every 10 s (the resync) is enough; every run made pod starts quadratic
    if (now - this.lastTtlSweep >= 10_000) this.sweepEvents(now);
    const nodes = new Set(ctx.store.scan(R.nodes).map((n) => n.metadata.name));
    for (const p of ctx.store.scan(R.pods) as Pod[]) {
      if (p.metadata.deletionTimestamp && p.spec.nodeName && !nodes.has(p.spec.nodeName)) {
        attempt(ctx, `podgc ${p.metadata.name}`, () =>
          ctx.store.remove(R.pods, p.metadata.namespace, p.metadata.name!),
        );
      }
    }
  }

  private sweepEvents(now: number): void {
    const ctx = this.ctx;
    this.lastTtlSweep = now;
    for (const e of ctx.store.scan(R.events) as Event[]) {
      const last = Date.parse(e.lastTimestamp ?? e.metadata.creationTimestamp ?? '');
      if (Number.isFinite(last) && now - last > this.eventTtlMs) {
        attempt(ctx, 'event ttl', () => ctx.store.remove(R.events, e.metadata.namespace, e.metadata.name!));
      }
    }
  }
}
