// Tells a controller loop which Node events are only a kubelet heartbeat: a MODIFIED Node that differs
// from the last one seen only in resourceVersion and its conditions' lastHeartbeatTime. Every kubelet
// posts one every 2 s, so at 100 nodes 50 a second; controllers that list every pod and node on each
// wake-up (scheduler, garbage collector, node lifecycle: time-based, it also runs every second) need
// not wake for them. One filter per loop (it remembers what its loop has seen). Pure; never throws.
import { canonicalJson } from '../../k8s/names.js';
import type { Node } from '../../k8s/types.js';
import type { StoreEvent } from '../store.js';

/** The parts of a Node a heartbeat does not change, as canonical JSON. */
export function nodeSignature(node: Node): string {
  const conditions = (node.status?.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined }));
  return canonicalJson({
    ...node,
    metadata: { ...node.metadata, resourceVersion: undefined },
    status: { ...node.status, conditions },
  });
}

/**
 * nodeSignature once per Node object, shared by every filter given the same memo (the store hands each
 * filter the same event object; three loops used to encode every heartbeat three times).
 */
export function signatureMemo(): (node: Node) => string {
  const memo = new WeakMap<Node, string>();
  return (node) => {
    let sig = memo.get(node);
    if (sig === undefined) memo.set(node, (sig = nodeSignature(node)));
    return sig;
  };
}

/** A predicate true for heartbeat-only Node events (to be skipped); false for every other event. */
export function heartbeatFilter(signature: (node: Node) => string = nodeSignature): (e: StoreEvent) => boolean {
  const seen = new Map<string, string>();
  return (e) => {
    if (e.resource.kind !== 'Node') return false;
    const name = e.object.metadata.name ?? '';
    if (e.type === 'DELETED') {
      seen.delete(name);
      return false;
    }
    const sig = signature(e.object as Node);
    const same = e.type === 'MODIFIED' && seen.get(name) === sig;
    seen.set(name, sig);
    return same;
  };
}
