// The namespace controller: a namespace being deleted (Terminating) has every object in it deleted
// (pods gracefully, through their kubelets); once it is empty its `kubernetes` finalizer is removed and
// the namespace itself goes.
import { RESOURCES } from '../../k8s/resources.js';
import type { Namespace } from '../../k8s/types.js';
import { R, attempt, type ControllerContext } from './context.js';

export class NamespaceController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const ctx = this.ctx;
    for (const ns of ctx.store.scan(R.namespaces) as Namespace[]) {
      if (!ns.metadata.deletionTimestamp) continue;
      const name = ns.metadata.name!;
      let left = 0;
      for (const r of RESOURCES) {
        if (!r.namespaced) continue;
        for (const o of ctx.store.list(r, name).items) {
          left++;
          if (o.metadata.deletionTimestamp) continue;
          attempt(ctx, `ns delete ${o.kind}/${o.metadata.name}`, () => ctx.deleter.delete(r, name, o.metadata.name!));
        }
      }
      if (left > 0) continue;
      attempt(ctx, `ns finalize ${name}`, () => ctx.store.remove(R.namespaces, undefined, name));
    }
  }
}
