// The field schemas of every kind the lab serves (core/v1 Pod, Namespace, Node, Event, Binding;
// apps/v1 Deployment, ReplicaSet; autoscaling/v1 Scale; meta/v1 ObjectMeta, LabelSelector), named and
// nested as in the Kubernetes API reference, with kube's strategic-merge keys (x-kubernetes-patch-merge-key).
// Sub-objects the lab never looks inside (affinity, securityContext, …) are `any`: kept, not checked.
import { APPS_DEFINITIONS } from './schema-defs-apps.js';
import { SERVICE_DEFINITIONS } from './service-schema.js';
import { NETWORKPOLICY_DEFINITIONS } from './networkpolicy-schema.js';
import type { Definition, FieldSpec, ObjectSchema } from './schema-types.js';

const core = (n: string): FieldSpec => ({ ref: `io.k8s.api.core.v1.${n}` });
const meta = (n: string): FieldSpec => ({ ref: `io.k8s.apimachinery.pkg.apis.meta.v1.${n}` });
const listOf = (item: FieldSpec, mergeKey?: string): FieldSpec => ({
  list: item,
  mergeKey,
  strategy: mergeKey ? 'merge' : undefined,
});
const strings: FieldSpec = { list: 'string' };
const stringMap: FieldSpec = { map: 'string' };
const anyList: FieldSpec = { list: 'any' };

const topLevel = (spec: FieldSpec | undefined, status: FieldSpec | undefined): ObjectSchema => {
  const f: ObjectSchema = { apiVersion: 'string', kind: 'string', metadata: meta('ObjectMeta') };
  if (spec) f['spec'] = spec;
  if (status) f['status'] = status;
  return f;
};

const condition: ObjectSchema = {
  type: 'string',
  status: 'string',
  reason: 'string',
  message: 'string',
  lastTransitionTime: 'time',
  lastProbeTime: 'time',
  lastHeartbeatTime: 'time',
  lastUpdateTime: 'time',
  observedGeneration: 'integer',
};

const defs: Definition[] = [
  {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
    fields: {
      annotations: stringMap,
      creationTimestamp: 'time',
      deletionGracePeriodSeconds: 'integer',
      deletionTimestamp: 'time',
      finalizers: { list: 'string', strategy: 'merge' },
      generateName: 'string',
      generation: 'integer',
      labels: stringMap,
      managedFields: anyList,
      name: 'string',
      namespace: 'string',
      ownerReferences: listOf(meta('OwnerReference'), 'uid'),
      resourceVersion: 'string',
      selfLink: 'string',
      uid: 'string',
    },
  },
  {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference',
    fields: {
      apiVersion: 'string',
      blockOwnerDeletion: 'boolean',
      controller: 'boolean',
      kind: 'string',
      name: 'string',
      uid: 'string',
    },
  },
  {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
    fields: { matchExpressions: listOf(meta('LabelSelectorRequirement')), matchLabels: stringMap },
  },
  {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement',
    fields: { key: 'string', operator: 'string', values: strings },
  },
  {
    name: 'io.k8s.api.core.v1.Pod',
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    fields: topLevel(core('PodSpec'), core('PodStatus')),
  },
  {
    name: 'io.k8s.api.core.v1.PodSpec',
    fields: {
      activeDeadlineSeconds: 'integer',
      affinity: 'any',
      automountServiceAccountToken: 'boolean',
      containers: listOf(core('Container'), 'name'),
      dnsConfig: 'any',
      dnsPolicy: 'string',
      enableServiceLinks: 'boolean',
      ephemeralContainers: listOf('any', 'name'),
      hostAliases: listOf('any', 'ip'),
      hostIPC: 'boolean',
      hostNetwork: 'boolean',
      hostPID: 'boolean',
      hostUsers: 'boolean',
      hostname: 'string',
      imagePullSecrets: listOf('any', 'name'),
      initContainers: listOf(core('Container'), 'name'),
      nodeName: 'string',
      nodeSelector: stringMap,
      os: 'any',
      overhead: { map: 'quantity' },
      preemptionPolicy: 'string',
      priority: 'integer',
      priorityClassName: 'string',
      readinessGates: anyList,
      resourceClaims: listOf('any', 'name'),
      restartPolicy: 'string',
      runtimeClassName: 'string',
      schedulerName: 'string',
      schedulingGates: listOf('any', 'name'),
      securityContext: 'any',
      serviceAccount: 'string',
      serviceAccountName: 'string',
      setHostnameAsFQDN: 'boolean',
      shareProcessNamespace: 'boolean',
      subdomain: 'string',
      terminationGracePeriodSeconds: 'integer',
      tolerations: anyList,
      topologySpreadConstraints: listOf('any', 'topologyKey'),
      volumes: listOf(core('Volume'), 'name'),
    },
  },
  {
    name: 'io.k8s.api.core.v1.Container',
    fields: {
      args: strings,
      command: strings,
      env: listOf(core('EnvVar'), 'name'),
      envFrom: anyList,
      image: 'string',
      imagePullPolicy: 'string',
      lifecycle: 'any',
      livenessProbe: core('Probe'),
      name: 'string',
      ports: listOf(core('ContainerPort'), 'containerPort'),
      readinessProbe: core('Probe'),
      resizePolicy: anyList,
      resources: core('ResourceRequirements'),
      restartPolicy: 'string',
      securityContext: 'any',
      startupProbe: core('Probe'),
      stdin: 'boolean',
      stdinOnce: 'boolean',
      terminationMessagePath: 'string',
      terminationMessagePolicy: 'string',
      tty: 'boolean',
      volumeDevices: listOf('any', 'devicePath'),
      volumeMounts: listOf(core('VolumeMount'), 'mountPath'),
      workingDir: 'string',
    },
  },
  {
    name: 'io.k8s.api.core.v1.ResourceRequirements',
    fields: { claims: anyList, limits: { map: 'quantity' }, requests: { map: 'quantity' } },
  },
  { name: 'io.k8s.api.core.v1.EnvVar', fields: { name: 'string', value: 'string', valueFrom: 'any' } },
  {
    name: 'io.k8s.api.core.v1.ContainerPort',
    fields: { containerPort: 'integer', hostIP: 'string', hostPort: 'integer', name: 'string', protocol: 'string' },
  },
  {
    name: 'io.k8s.api.core.v1.VolumeMount',
    fields: {
      mountPath: 'string',
      mountPropagation: 'string',
      name: 'string',
      readOnly: 'boolean',
      recursiveReadOnly: 'string',
      subPath: 'string',
      subPathExpr: 'string',
    },
  },
  {
    name: 'io.k8s.api.core.v1.Probe',
    fields: {
      exec: core('ExecAction'),
      failureThreshold: 'integer',
      grpc: 'any',
      httpGet: core('HTTPGetAction'),
      initialDelaySeconds: 'integer',
      periodSeconds: 'integer',
      successThreshold: 'integer',
      tcpSocket: core('TCPSocketAction'),
      terminationGracePeriodSeconds: 'integer',
      timeoutSeconds: 'integer',
    },
  },
  { name: 'io.k8s.api.core.v1.ExecAction', fields: { command: strings } },
  {
    name: 'io.k8s.api.core.v1.HTTPGetAction',
    fields: { host: 'string', httpHeaders: anyList, path: 'string', port: 'int-or-string', scheme: 'string' },
  },
  { name: 'io.k8s.api.core.v1.TCPSocketAction', fields: { host: 'string', port: 'int-or-string' } },
  {
    name: 'io.k8s.api.core.v1.Volume',
    fields: {
      name: 'string',
      emptyDir: core('EmptyDirVolumeSource'),
      hostPath: 'any',
      configMap: 'any',
      secret: 'any',
      persistentVolumeClaim: 'any',
      projected: 'any',
      downwardAPI: 'any',
      nfs: 'any',
      ephemeral: 'any',
    },
  },
  { name: 'io.k8s.api.core.v1.EmptyDirVolumeSource', fields: { medium: 'string', sizeLimit: 'quantity' } },
  {
    name: 'io.k8s.api.core.v1.PodStatus',
    fields: {
      conditions: listOf(core('PodCondition'), 'type'),
      containerStatuses: anyList,
      ephemeralContainerStatuses: anyList,
      hostIP: 'string',
      hostIPs: listOf('any', 'ip'),
      initContainerStatuses: anyList,
      message: 'string',
      nominatedNodeName: 'string',
      phase: 'string',
      podIP: 'string',
      podIPs: listOf('any', 'ip'),
      qosClass: 'string',
      reason: 'string',
      resize: 'string',
      resourceClaimStatuses: anyList,
      startTime: 'time',
      observedGeneration: 'integer',
    },
  },
  { name: 'io.k8s.api.core.v1.PodCondition', fields: condition },
  {
    name: 'io.k8s.api.core.v1.PodTemplateSpec',
    fields: { metadata: meta('ObjectMeta'), spec: core('PodSpec') },
  },
  {
    name: 'io.k8s.api.core.v1.Binding',
    gvk: { group: '', version: 'v1', kind: 'Binding' },
    fields: { apiVersion: 'string', kind: 'string', metadata: meta('ObjectMeta'), target: core('ObjectReference') },
  },
  {
    name: 'io.k8s.api.core.v1.ObjectReference',
    fields: {
      apiVersion: 'string',
      fieldPath: 'string',
      kind: 'string',
      name: 'string',
      namespace: 'string',
      resourceVersion: 'string',
      uid: 'string',
    },
  },
  {
    name: 'io.k8s.api.core.v1.Namespace',
    gvk: { group: '', version: 'v1', kind: 'Namespace' },
    fields: topLevel(core('NamespaceSpec'), core('NamespaceStatus')),
  },
  { name: 'io.k8s.api.core.v1.NamespaceSpec', fields: { finalizers: strings } },
  { name: 'io.k8s.api.core.v1.NamespaceStatus', fields: { conditions: listOf('any', 'type'), phase: 'string' } },
  {
    name: 'io.k8s.api.core.v1.Node',
    gvk: { group: '', version: 'v1', kind: 'Node' },
    fields: topLevel(core('NodeSpec'), core('NodeStatus')),
  },
  {
    name: 'io.k8s.api.core.v1.NodeSpec',
    fields: {
      configSource: 'any',
      externalID: 'string',
      podCIDR: 'string',
      podCIDRs: { list: 'string', strategy: 'merge' },
      providerID: 'string',
      taints: anyList,
      unschedulable: 'boolean',
    },
  },
  {
    name: 'io.k8s.api.core.v1.NodeStatus',
    fields: {
      addresses: listOf('any', 'type'),
      allocatable: { map: 'quantity' },
      capacity: { map: 'quantity' },
      conditions: listOf(core('NodeCondition'), 'type'),
      config: 'any',
      daemonEndpoints: 'any',
      features: 'any',
      images: anyList,
      nodeInfo: 'any',
      phase: 'string',
      runtimeHandlers: anyList,
      volumesAttached: anyList,
      volumesInUse: strings,
    },
  },
  { name: 'io.k8s.api.core.v1.NodeCondition', fields: condition },
  {
    name: 'io.k8s.api.core.v1.Event',
    gvk: { group: '', version: 'v1', kind: 'Event' },
    fields: {
      apiVersion: 'string',
      kind: 'string',
      metadata: meta('ObjectMeta'),
      action: 'string',
      count: 'integer',
      eventTime: 'time',
      firstTimestamp: 'time',
      involvedObject: core('ObjectReference'),
      lastTimestamp: 'time',
      message: 'string',
      reason: 'string',
      related: core('ObjectReference'),
      reportingComponent: 'string',
      reportingInstance: 'string',
      series: 'any',
      source: 'any',
      type: 'string',
    },
  },
  ...APPS_DEFINITIONS,
  ...SERVICE_DEFINITIONS,
  ...NETWORKPOLICY_DEFINITIONS,
];

export const DEFINITIONS: ReadonlyMap<string, Definition> = new Map(defs.map((d) => [d.name, d]));

/** The definition of a top-level kind, e.g. ('apps', 'Deployment'). */
export function definitionForKind(group: string, kind: string): Definition | undefined {
  for (const d of defs) if (d.gvk && d.gvk.group === group && d.gvk.kind === kind) return d;
  return undefined;
}
