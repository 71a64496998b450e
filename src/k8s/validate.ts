// Validation of (defaulted) objects with kube-apiserver's field paths and messages, returned as
// StatusCauses (reason FieldValueRequired / FieldValueInvalid / FieldValueDuplicate / FieldValueNotSupported)
// so the API can answer 422 Invalid exactly as kube does, and `lab apply` can name file:line.
// Pure; never throws.
import { dns1123LabelError, dns1123SubdomainError } from './names.js';
import { requirementsOf, selectorMatches, SelectorError } from './selectors.js';
import { validateService } from './service-validate.js';
import type { Service } from './service-types.js';
import { validateNetworkPolicySpec } from './networkpolicy-validate.js';
import type { NetworkPolicy } from './networkpolicy-types.js';
import type {
  Container,
  Deployment,
  DeploymentSpec,
  Event,
  KubeObject,
  ObjectMeta,
  Pod,
  PodSpec,
  ReplicaSet,
  ReplicaSetSpec,
  StatusCause,
} from './types.js';

/** The most replicas a Deployment or ReplicaSet may ask for in a lab (every pod is real processes). */
export const MAX_REPLICAS = 100;

type Causes = StatusCause[];

const required = (out: Causes, field: string): void => {
  out.push({ reason: 'FieldValueRequired', message: 'Required value', field });
};
const invalid = (out: Causes, field: string, value: unknown, detail: string): void => {
  out.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${goValue(value)}: ${detail}`, field });
};
const unsupported = (out: Causes, field: string, value: unknown, supported: string[]): void => {
  out.push({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    field,
  });
};

/** Values printed as kube prints them in messages (strings quoted, maps as Go would). */
function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`,
    );
    return `map[string]string{${entries.join(', ')}}`;
  }
  return String(v);
}

export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  namespaced: boolean,
  out: Causes,
  nameIsLabel = false,
): void {
  if (!meta || typeof meta !== 'object') {
    required(out, 'metadata');
    return;
  }
  if (!meta.name && !meta.generateName) {
    out.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  } else if (meta.name) {
    const err = nameIsLabel ? dns1123LabelError(String(meta.name)) : dns1123SubdomainError(String(meta.name));
    if (err) invalid(out, 'metadata.name', meta.name, err);
  }
  if (namespaced && meta.namespace) {
    const err = dns1123LabelError(String(meta.namespace));
    if (err) invalid(out, 'metadata.namespace', meta.namespace, err);
  }
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    if (typeof v !== 'string' || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v) || v.length > 63) {
      invalid(
        out,
        `metadata.labels`,
        v,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
          'and must start and end with an alphanumeric character',
      );
    }
    if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k)) {
      invalid(out, 'metadata.labels', k, "name part must consist of alphanumeric characters, '-', '_' or '.'");
    }
  }
}

function validatePort(out: Causes, field: string, port: unknown): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    invalid(out, field, port, 'must be between 1 and 65535, inclusive');
  }
}

function validateContainers(list: Container[], path: string, out: Causes, volumeNames: Set<string>): void {
  const names = new Set<string>();
  list.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c || typeof c !== 'object') return required(out, p);
    if (!c.name) required(out, `${p}.name`);
    else {
      const err = dns1123LabelError(c.name);
      if (err) invalid(out, `${p}.name`, c.name, err);
      if (names.has(c.name))
        out.push({
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: ${JSON.stringify(c.name)}`,
          field: `${p}.name`,
        });
      names.add(c.name);
    }
    if (!c.image) required(out, `${p}.image`);
    if (c.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
      unsupported(out, `${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
    }
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (port.containerPort === undefined) required(out, `${pp}.containerPort`);
      else validatePort(out, `${pp}.containerPort`, port.containerPort);
      if (port.hostPort !== undefined && port.hostPort !== 0) validatePort(out, `${pp}.hostPort`, port.hostPort);
      if (port.protocol && !['TCP', 'UDP', 'SCTP'].includes(port.protocol))
        unsupported(out, `${pp}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']);
      if (port.name) {
        if (portNames.has(port.name))
          out.push({
            reason: 'FieldValueDuplicate',
            message: `Duplicate value: ${JSON.stringify(port.name)}`,
            field: `${pp}.name`,
          });
        portNames.add(port.name);
      }
    });
    (c.env ?? []).forEach((e, j) => {
      if (!e?.name) required(out, `${p}.env[${j}].name`);
    });
    (c.volumeMounts ?? []).forEach((m, j) => {
      if (!m?.name) required(out, `${p}.volumeMounts[${j}].name`);
      else if (!volumeNames.has(m.name))
        out.push({
          reason: 'FieldValueNotFound',
          message: `Not found: ${JSON.stringify(m.name)}`,
          field: `${p}.volumeMounts[${j}].name`,
        });
      if (!m?.mountPath) required(out, `${p}.volumeMounts[${j}].mountPath`);
    });
  });
}

export function validatePodSpec(spec: PodSpec | undefined, path: string, out: Causes): void {
  if (!spec || typeof spec !== 'object') return required(out, path);
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    if (!v?.name) return required(out, `${path}.volumes[${i}].name`);
    if (volumeNames.has(v.name))
      out.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(v.name)}`,
        field: `${path}.volumes[${i}].name`,
      });
    volumeNames.add(v.name);
  });
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) required(out, `${path}.containers`);
  else validateContainers(spec.containers, `${path}.containers`, out, volumeNames);
  if (spec.initContainers) validateContainers(spec.initContainers, `${path}.initContainers`, out, volumeNames);
  if (spec.restartPolicy && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy)) {
    unsupported(out, `${path}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']);
  }
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) {
    invalid(
      out,
      `${path}.terminationGracePeriodSeconds`,
      spec.terminationGracePeriodSeconds,
      'must be greater than or equal to 0',
    );
  }
  if (spec.nodeName) {
    const err = dns1123SubdomainError(spec.nodeName);
    if (err) invalid(out, `${path}.nodeName`, spec.nodeName, err);
  }
}

function validateReplicas(out: Causes, field: string, n: unknown): void {
  if (typeof n !== 'number') return;
  if (n < 0) invalid(out, field, n, 'must be greater than or equal to 0');
  else if (n > MAX_REPLICAS) invalid(out, field, n, `must be less than or equal to ${MAX_REPLICAS} (the lab's limit)`);
}

function validateSelectorAndTemplate(spec: DeploymentSpec | ReplicaSetSpec, out: Causes, kind: string): void {
  const sel = spec.selector;
  if (!sel) required(out, 'spec.selector');
  else {
    let reqs: ReturnType<typeof requirementsOf> = [];
    try {
      reqs = requirementsOf(sel);
    } catch (e) {
      if (e instanceof SelectorError) invalid(out, 'spec.selector', 'selector', e.message);
    }
    if (reqs.length === 0) invalid(out, 'spec.selector', 'v1.LabelSelector{}', `empty selector is invalid for ${kind}`);
  }
  if (!spec.template || typeof spec.template !== 'object') return required(out, 'spec.template');
  const labels = spec.template.metadata?.labels;
  if (sel && !selectorMatches(sel, labels)) {
    invalid(out, 'spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`');
  }
  validatePodSpec(spec.template.spec, 'spec.template.spec', out);
  const rp = spec.template.spec?.restartPolicy;
  if (rp && rp !== 'Always') unsupported(out, 'spec.template.spec.restartPolicy', rp, ['Always']);
}

function validateDeploymentLike(obj: Deployment | ReplicaSet, out: Causes, kind: string): void {
  validateObjectMeta(obj.metadata, true, out);
  if (!obj.spec || typeof obj.spec !== 'object') return required(out, 'spec');
  validateReplicas(out, 'spec.replicas', obj.spec.replicas);
  validateSelectorAndTemplate(obj.spec, out, kind);
  const strategy = 'strategy' in obj.spec ? obj.spec.strategy : undefined;
  if (kind === 'deployment' && strategy?.type && !['RollingUpdate', 'Recreate'].includes(strategy.type)) {
    unsupported(out, 'spec.strategy.type', strategy.type, ['Recreate', 'RollingUpdate']);
  }
}

/** The kinds validateObject knows; any other kind is the caller's to reject. */
export function validateObject(object: unknown): Causes {
  const out: Causes = [];
  // Callers pass objects that passed their kind's schema check (manifest.ts, the API): the types are
  // right, but any field may be missing, which is what is checked here.
  const obj = object as Partial<KubeObject> | null | undefined;
  switch (obj?.kind) {
    case 'Pod':
      validateObjectMeta(obj.metadata, true, out);
      validatePodSpec((obj as Partial<Pod>).spec, 'spec', out);
      break;
    case 'Deployment':
      validateDeploymentLike(obj as Deployment, out, 'deployment');
      break;
    case 'ReplicaSet':
      validateDeploymentLike(obj as ReplicaSet, out, 'replicaset');
      break;
    case 'Namespace':
      validateObjectMeta(obj.metadata, false, out, true);
      break;
    case 'NetworkPolicy':
      validateObjectMeta(obj.metadata, true, out);
      out.push(...validateNetworkPolicySpec(obj as NetworkPolicy));
      break;
    case 'Node':
      validateObjectMeta(obj.metadata, false, out);
      break;
    case 'Service':
      validateObjectMeta(obj.metadata, true, out);
      validateService(obj as Service, out);
      break;
    case 'Event':
      validateObjectMeta(obj.metadata, true, out);
      if (!(obj as Partial<Event>).involvedObject) required(out, 'involvedObject');
      break;
    default:
      validateObjectMeta(obj?.metadata, true, out);
  }
  return out;
}

/** kube's message for an Invalid error: `Pod "x" is invalid: spec.containers: Required value` (several: in [ ]). */
export function invalidMessage(kindWithGroup: string, name: string, causes: Causes): string {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  return `${kindWithGroup} "${name}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`;
}
