// Defaulting, as kube-apiserver does it on create/update (SetDefaults_* of core/v1 and apps/v1): fills
// the fields a user may leave out so that stored objects look as on a real cluster. Mutates in place and
// returns the object; never throws (validation runs after defaulting and reports what is wrong).
import type { Container, Deployment, Namespace, Pod, PodSpec, Probe, ReplicaSet } from './types.js';
import { defaultService } from './service-defaults.js';
import type { Service } from './service-types.js';
import type { NetworkPolicy } from './networkpolicy-types.js';
import { defaultNetworkPolicy } from './networkpolicy-validate.js';

function imageHasTag(image: string): { tag: string | undefined; digest: boolean } {
  if (image.includes('@')) return { tag: undefined, digest: true };
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return { tag: colon >= 0 ? image.slice(colon + 1) : undefined, digest: false };
}

/** kube: Always when the tag is :latest or missing, IfNotPresent otherwise. */
export function defaultPullPolicy(image: string | undefined): 'Always' | 'IfNotPresent' {
  if (!image) return 'IfNotPresent';
  const { tag, digest } = imageHasTag(image);
  if (digest) return 'IfNotPresent';
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Probe | undefined): void {
  if (!p || typeof p !== 'object') return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet && typeof p.httpGet === 'object') {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

function defaultContainer(c: Container): void {
  if (!c || typeof c !== 'object') return;
  const x = c as Container & Record<string, unknown>;
  x.imagePullPolicy ??= defaultPullPolicy(c.image);
  x['terminationMessagePath'] ??= '/dev/termination-log';
  x['terminationMessagePolicy'] ??= 'File';
  x['resources'] ??= {};
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.startupProbe);
}

export function defaultPodSpec(spec: PodSpec): PodSpec {
  if (!spec || typeof spec !== 'object') return spec;
  const s = spec as PodSpec & Record<string, unknown>;
  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.schedulerName ??= 'default-scheduler';
  s['securityContext'] ??= {};
  s['enableServiceLinks'] ??= true;
  s['preemptionPolicy'] ??= 'PreemptLowerPriority';
  s['priority'] ??= 0;
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) defaultContainer(c);
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : []) defaultContainer(c);
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (v && typeof v === 'object' && Object.keys(v).length === 1) v.emptyDir = {};
  }
  return spec;
}

export function defaultPod(pod: Pod): Pod {
  defaultPodSpec(pod.spec);
  pod.status ??= {};
  pod.status.phase ??= 'Pending';
  pod.status.qosClass ??= 'BestEffort';
  return pod;
}

function defaultTemplate(t: { spec: PodSpec; metadata?: object } | undefined): void {
  if (!t || typeof t !== 'object') return;
  t.metadata ??= {};
  defaultPodSpec(t.spec);
}

export function defaultDeployment(d: Deployment): Deployment {
  if (!d.spec || typeof d.spec !== 'object') return d;
  d.spec.replicas ??= 1;
  d.spec.strategy ??= {};
  d.spec.strategy.type ??= 'RollingUpdate';
  if (d.spec.strategy.type === 'RollingUpdate') {
    d.spec.strategy.rollingUpdate ??= {};
    d.spec.strategy.rollingUpdate.maxSurge ??= '25%';
    d.spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
  }
  d.spec.revisionHistoryLimit ??= 10;
  d.spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(d.spec.template);
  return d;
}

export function defaultReplicaSet(rs: ReplicaSet): ReplicaSet {
  if (!rs.spec || typeof rs.spec !== 'object') return rs;
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
  return rs;
}

export function defaultNamespace(ns: Namespace): Namespace {
  ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns.metadata.name ?? '' };
  ns.spec ??= {};
  ns.spec.finalizers ??= ['kubernetes'];
  ns.status ??= {};
  ns.status.phase ??= 'Active';
  return ns;
}

/** Defaults any object by kind; unknown kinds are returned as they are. */
export function applyDefaults<T extends { kind: string }>(obj: T): T {
  switch (obj.kind) {
    case 'Pod':
      return defaultPod(obj as unknown as Pod) as unknown as T;
    case 'Deployment':
      return defaultDeployment(obj as unknown as Deployment) as unknown as T;
    case 'ReplicaSet':
      return defaultReplicaSet(obj as unknown as ReplicaSet) as unknown as T;
    case 'Namespace':
      return defaultNamespace(obj as unknown as Namespace) as unknown as T;
    case 'Service':
      return defaultService(obj as unknown as Service) as unknown as T;
    case 'NetworkPolicy':
      return defaultNetworkPolicy(obj as unknown as NetworkPolicy) as unknown as T;
    default:
      return obj;
  }
}
