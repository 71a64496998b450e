// The field schemas of apps/v1 Deployment and ReplicaSet and autoscaling/v1 Scale (see schema-defs.ts
// for the core kinds), named and nested as in the Kubernetes API reference. Pure data.
import type { Definition, FieldSpec, ObjectSchema } from './schema-types.js';

const core = (n: string): FieldSpec => ({ ref: `io.k8s.api.core.v1.${n}` });
const apps = (n: string): FieldSpec => ({ ref: `io.k8s.api.apps.v1.${n}` });
const meta = (n: string): FieldSpec => ({ ref: `io.k8s.apimachinery.pkg.apis.meta.v1.${n}` });
const listOf = (item: FieldSpec, mergeKey?: string): FieldSpec => ({
  list: item,
  mergeKey,
  strategy: mergeKey ? 'merge' : undefined,
});
const topLevel = (spec: FieldSpec, status: FieldSpec): ObjectSchema => ({
  apiVersion: 'string',
  kind: 'string',
  metadata: meta('ObjectMeta'),
  spec,
  status,
});
const condition: ObjectSchema = {
  type: 'string',
  status: 'string',
  reason: 'string',
  message: 'string',
  lastTransitionTime: 'time',
  lastUpdateTime: 'time',
};

export const APPS_DEFINITIONS: Definition[] = [
  {
    name: 'io.k8s.api.apps.v1.Deployment',
    gvk: { group: 'apps', version: 'v1', kind: 'Deployment' },
    fields: topLevel(apps('DeploymentSpec'), apps('DeploymentStatus')),
  },
  {
    name: 'io.k8s.api.apps.v1.DeploymentSpec',
    fields: {
      minReadySeconds: 'integer',
      paused: 'boolean',
      progressDeadlineSeconds: 'integer',
      replicas: 'integer',
      revisionHistoryLimit: 'integer',
      selector: meta('LabelSelector'),
      strategy: apps('DeploymentStrategy'),
      template: core('PodTemplateSpec'),
    },
  },
  {
    name: 'io.k8s.api.apps.v1.DeploymentStrategy',
    fields: { rollingUpdate: apps('RollingUpdateDeployment'), type: 'string' },
  },
  {
    name: 'io.k8s.api.apps.v1.RollingUpdateDeployment',
    fields: { maxSurge: 'int-or-string', maxUnavailable: 'int-or-string' },
  },
  {
    name: 'io.k8s.api.apps.v1.DeploymentStatus',
    fields: {
      availableReplicas: 'integer',
      collisionCount: 'integer',
      conditions: listOf(apps('DeploymentCondition'), 'type'),
      observedGeneration: 'integer',
      readyReplicas: 'integer',
      replicas: 'integer',
      terminatingReplicas: 'integer',
      unavailableReplicas: 'integer',
      updatedReplicas: 'integer',
    },
  },
  { name: 'io.k8s.api.apps.v1.DeploymentCondition', fields: condition },
  {
    name: 'io.k8s.api.apps.v1.ReplicaSet',
    gvk: { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
    fields: topLevel(apps('ReplicaSetSpec'), apps('ReplicaSetStatus')),
  },
  {
    name: 'io.k8s.api.apps.v1.ReplicaSetSpec',
    fields: {
      minReadySeconds: 'integer',
      replicas: 'integer',
      selector: meta('LabelSelector'),
      template: core('PodTemplateSpec'),
    },
  },
  {
    name: 'io.k8s.api.apps.v1.ReplicaSetStatus',
    fields: {
      availableReplicas: 'integer',
      conditions: listOf('any', 'type'),
      fullyLabeledReplicas: 'integer',
      observedGeneration: 'integer',
      readyReplicas: 'integer',
      replicas: 'integer',
      terminatingReplicas: 'integer',
    },
  },
  {
    name: 'io.k8s.api.autoscaling.v1.Scale',
    gvk: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    fields: topLevel({ ref: 'io.k8s.api.autoscaling.v1.ScaleSpec' }, { ref: 'io.k8s.api.autoscaling.v1.ScaleStatus' }),
  },
  { name: 'io.k8s.api.autoscaling.v1.ScaleSpec', fields: { replicas: 'integer' } },
  { name: 'io.k8s.api.autoscaling.v1.ScaleStatus', fields: { replicas: 'integer', selector: 'string' } },
];
