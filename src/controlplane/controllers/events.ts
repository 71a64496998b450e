// Records core/v1 Events about objects, as kube's event recorder does: one Event per
// (object, reason, message), named `<object>.<hex>`, with count and lastTimestamp bumped on repeats.
import crypto from 'node:crypto';
import type { Event, KubeObject } from '../../k8s/types.js';
import { apiVersionOf, resourceForKind } from '../../k8s/resources.js';
import { R, attempt, type ControllerContext } from './context.js';

export function recordEvent(
  ctx: ControllerContext,
  obj: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component: string,
): void {
  const res = resourceForKind(obj.apiVersion, obj.kind);
  const ns = res?.namespaced ? (obj.metadata.namespace ?? 'default') : 'default';
  const stamp = new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  const found = ctx.store.scan(R.events, ns).find((e) => {
    const ev = e as Event;
    return ev.involvedObject.uid === obj.metadata.uid && ev.reason === reason && ev.message === message;
  }) as Event | undefined;
  const existing = found && structuredClone(found);
  attempt(ctx, `event ${reason}`, () => {
    if (existing) {
      existing.count = (existing.count ?? 1) + 1;
      existing.lastTimestamp = stamp;
      ctx.ops.update(R.events, ns, existing.metadata.name!, existing);
      return;
    }
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${crypto.randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: {
        apiVersion: res ? apiVersionOf(res) : obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: res?.namespaced ? ns : undefined,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      eventTime: null,
      source: { component },
      reportingComponent: component,
      reportingInstance: '',
    };
    ctx.ops.create(R.events, ns, ev);
  });
}
