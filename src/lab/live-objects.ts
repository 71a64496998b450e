// A topology's pods as Kubernetes API objects, for `lab up` of a live lab: a template with `count`
// becomes an apps/v1 Deployment (selector and labels `app: <name>`), a single pod a v1 Pod; a
// `program:` container runs image `flannelette/<program>` with the program's arguments as `args`, a
// `command:` container runs image `busybox` with that command; `node:` pins the pod (nodeName for a
// Pod, a kubernetes.io/hostname nodeSelector for a Deployment). Pure; never throws.
import type { Container, Deployment, Pod, PodSpec } from '../k8s/types.js';
import type { LabContainer, LabPod, LabTopology } from './topology.js';

function container(c: LabContainer): Container {
  if (c.kind === 'program') {
    const [program, ...args] = c.argv;
    return { name: c.name, image: `flannelette/${program}`, ...(args.length > 0 ? { args } : {}) };
  }
  return { name: c.name, image: 'busybox', command: c.argv };
}

function podSpec(p: LabPod, pinAs: 'nodeName' | 'nodeSelector'): PodSpec {
  const spec: PodSpec = { containers: p.containers.map(container), terminationGracePeriodSeconds: 5 };
  if (p.pinned) {
    if (pinAs === 'nodeName') spec.nodeName = p.node;
    else spec.nodeSelector = { 'kubernetes.io/hostname': p.node };
  }
  return spec;
}

export type TopologyObject = Pod | Deployment;

export function topologyObjects(t: LabTopology): TopologyObject[] {
  const out: TopologyObject[] = [];
  const seen = new Set<string>();
  for (const p of t.pods) {
    if (seen.has(p.template)) continue;
    seen.add(p.template);
    if (p.replicas === undefined) {
      out.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: 'default', labels: { app: p.name } },
        spec: podSpec(p, 'nodeName'),
      });
      continue;
    }
    const labels = { app: p.template };
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: p.template, namespace: 'default', labels },
      spec: {
        replicas: p.replicas,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: podSpec(p, 'nodeSelector') },
      },
    });
  }
  return out;
}

/** How many pods the topology's objects make. */
export function expectedPodCount(t: LabTopology): number {
  return t.pods.length;
}
