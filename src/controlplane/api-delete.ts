// Deletion as kube-apiserver does it. Pods: graceful (deletionTimestamp + deletionGracePeriodSeconds,
// the pod stays until its kubelet deletes it with grace 0); a pod not bound to a node, or already
// finished, or deleted with grace 0, goes at once. Any object with finalizers gets a deletionTimestamp
// and stays until they are removed. propagationPolicy: Background (dependents removed afterwards by the
// garbage collector), Foreground (the `foregroundDeletion` finalizer: the owner stays until its
// dependents are gone), Orphan (dependents lose their ownerReference). Namespaces go Terminating and
// the namespace controller empties them. Throws KubeApiError.
import { KubeApiError } from '../util/errors.js';
import { RESOURCES, type ResourceInfo } from '../k8s/resources.js';
import type { KubeObject, Namespace, Pod } from '../k8s/types.js';
import type { ObjectStore } from './store.js';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export class ApiDelete {
  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => number,
  ) {}

  private stamp(offsetSeconds = 0): string {
    return new Date(this.now() + offsetSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  delete(r: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject {
    const cur = this.store.mustGet(r, ns, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw new KubeApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw new KubeApiError(
        409,
        'Conflict',
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ` +
          `ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
      );
    }
    const policy = opts.propagationPolicy ?? 'Background';
    if (policy === 'Orphan') this.orphanDependents(cur);
    if (r.kind === 'Namespace') return this.deleteNamespace(r, cur as Namespace);
    if (r.kind === 'Pod') {
      const pod = cur as Pod;
      const grace = opts.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      const immediate = grace <= 0 || !pod.spec.nodeName || terminal;
      if (!immediate) {
        const already = pod.metadata.deletionGracePeriodSeconds;
        if (already !== undefined && already <= grace) return pod;
        pod.metadata.deletionTimestamp = this.stamp(grace);
        pod.metadata.deletionGracePeriodSeconds = grace;
        return this.markDeleted(r, pod, policy);
      }
    }
    const finalizers = cur.metadata.finalizers ?? [];
    if (policy === 'Foreground' && this.hasDependents(cur)) {
      if (!finalizers.includes('foregroundDeletion')) cur.metadata.finalizers = [...finalizers, 'foregroundDeletion'];
      cur.metadata.deletionTimestamp ??= this.stamp();
      cur.metadata.deletionGracePeriodSeconds = 0;
      return this.store.update(r, cur);
    }
    if ((cur.metadata.finalizers ?? []).length) {
      if (cur.metadata.deletionTimestamp) return cur;
      cur.metadata.deletionTimestamp = this.stamp();
      cur.metadata.deletionGracePeriodSeconds = 0;
      return this.store.update(r, cur);
    }
    return this.store.remove(r, ns, name);
  }

  private markDeleted(r: ResourceInfo, obj: KubeObject, policy: string): KubeObject {
    if (policy === 'Foreground' && this.hasDependents(obj)) {
      obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), 'foregroundDeletion'])];
    }
    return this.store.update(r, { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } });
  }

  private deleteNamespace(r: ResourceInfo, ns: Namespace): KubeObject {
    if (ns.metadata.deletionTimestamp) return ns;
    ns.metadata.deletionTimestamp = this.stamp();
    ns.metadata.deletionGracePeriodSeconds = 0;
    ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
    return this.store.update(r, ns);
  }

  /** Every object that names `owner` in its ownerReferences. */
  dependentsOf(owner: KubeObject): { r: ResourceInfo; obj: KubeObject }[] {
    const out: { r: ResourceInfo; obj: KubeObject }[] = [];
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      for (const obj of this.store.list(r, owner.metadata.namespace).items) {
        if ((obj.metadata.ownerReferences ?? []).some((o) => o.uid === owner.metadata.uid)) out.push({ r, obj });
      }
    }
    return out;
  }

  private hasDependents(owner: KubeObject): boolean {
    return this.dependentsOf(owner).length > 0;
  }

  private orphanDependents(owner: KubeObject): void {
    for (const { r, obj } of this.dependentsOf(owner)) {
      obj.metadata.ownerReferences = (obj.metadata.ownerReferences ?? []).filter((o) => o.uid !== owner.metadata.uid);
      if (obj.metadata.ownerReferences.length === 0) delete obj.metadata.ownerReferences;
      delete obj.metadata.resourceVersion;
      this.store.update(r, obj);
    }
  }
}
