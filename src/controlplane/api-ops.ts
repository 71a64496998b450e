// The API's operations on objects, independent of HTTP (the HTTP layer and the controllers both call
// these): create/update/patch with kube's defaulting, validation (422 Invalid with causes), field
// validation (Strict: 400 on unknown fields; Warn: warnings; Ignore) and per-kind rules (status
// subresources keep the spec and the main resource keeps the status; pod specs are immutable but for
// images; binding; scale). Throws KubeApiError. Deletion lives in api-delete.ts.
import { KubeApiError } from '../util/errors.js';
import { applyDefaults } from '../k8s/defaults.js';
import { canonicalJson } from '../k8s/names.js';
import { jsonMergePatch, jsonPatch, strategicMerge } from '../k8s/patch.js';
import {
  qualifiedKind,
  qualifiedResource,
  resourceForKind,
  type ResourceInfo,
  apiVersionOf,
} from '../k8s/resources.js';
import { checkAgainstSchema, pruneUnknownFields } from '../k8s/schema.js';
import { formatSelector, selectorMatches } from '../k8s/selectors.js';
import type { KubeObject, Pod } from '../k8s/types.js';
import { invalidMessage, validateObject, MAX_REPLICAS } from '../k8s/validate.js';
import { badRequest } from './status.js';
import { ServiceAllocator } from './service-alloc.js';
import type { ObjectStore } from './store.js';
import type { Service } from '../k8s/service-types.js';
import YAML from 'yaml';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
  /** Filled with kube's warning texts (for Warning: 299 headers). */
  warnings?: string[];
}

/** The fields of an autoscaling/v1 Scale request body that setScale() reads. */
interface ScaleBody {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number | string | boolean | null };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

const WITH_STATUS = new Set(['Pod', 'Deployment', 'ReplicaSet', 'Node', 'Namespace', 'Service']);
const NAMESPACES: ResourceInfo = resourceForKind('v1', 'Namespace')!;

export class ApiOps {
  readonly services: ServiceAllocator;

  constructor(
    readonly store: ObjectStore,
    private readonly now: () => number,
    services?: ServiceAllocator,
  ) {
    this.services = services ?? new ServiceAllocator(store);
  }

  /** Field validation and type checks of an incoming object; prunes unknown fields unless Strict. */
  private checkFields(r: ResourceInfo, obj: KubeObject, opts: WriteOptions): void {
    const problems = checkAgainstSchema(r.definition, obj);
    if (problems.typeErrors.length) {
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${problems.typeErrors.join(', ')}`,
      );
    }
    if (problems.unknown.length && opts.fieldValidation === 'Strict') {
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ` +
          problems.unknown.map((f) => `unknown field "${f}"`).join(', '),
      );
    }
    if (problems.unknown.length && opts.fieldValidation !== 'Ignore') {
      opts.warnings?.push(...problems.unknown.map((f) => `unknown field "${f}"`));
    }
    pruneUnknownFields(r.definition, obj);
  }

  private validate(r: ResourceInfo, obj: KubeObject): void {
    const causes = validateObject(obj);
    if (causes.length) {
      throw new KubeApiError(422, 'Invalid', invalidMessage(qualifiedKind(r), obj.metadata?.name ?? '', causes), {
        name: obj.metadata?.name,
        group: r.group,
        kind: r.kind,
        causes,
      });
    }
  }

  private checkKindAndNamespace(r: ResourceInfo, obj: KubeObject, ns: string | undefined): void {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      throw badRequest('the request body must be a JSON object');
    obj.apiVersion ??= apiVersionOf(r);
    obj.kind ??= r.kind;
    if (obj.kind !== r.kind || obj.apiVersion !== apiVersionOf(r)) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(r)})` +
          (obj.kind !== r.kind ? ` or kind ${obj.kind} is not ${r.kind}` : ''),
      );
    }
    obj.metadata ??= {};
    if (typeof obj.metadata !== 'object') throw badRequest('metadata must be an object');
    if (r.namespaced) {
      if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = ns ?? obj.metadata.namespace ?? 'default';
    }
  }

  private checkNamespaceOpen(r: ResourceInfo, ns: string | undefined): void {
    if (!r.namespaced || !ns) return;
    const n = this.store.get(NAMESPACES, undefined, ns);
    if (!n) throw new KubeApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    if (n.metadata.deletionTimestamp && r.kind !== 'Event') {
      throw new KubeApiError(
        403,
        'Forbidden',
        `${r.plural} is forbidden: unable to create new content in namespace ${ns} ` + 'because it is being terminated',
      );
    }
  }

  create(r: ResourceInfo, ns: string | undefined, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const obj = structuredClone(input);
    this.checkKindAndNamespace(r, obj, ns);
    this.checkFields(r, obj, opts);
    this.checkNamespaceOpen(r, obj.metadata.namespace);
    if (WITH_STATUS.has(r.kind) && r.kind !== 'Node') delete (obj as { status?: unknown }).status;
    applyDefaults(obj);
    if (r.kind === 'Pod') this.prepareNewPod(obj as Pod);
    this.validate(r, obj);
    if (r.kind === 'Service') this.services.allocate(obj as Service);
    if (opts.dryRun) return obj;
    return this.store.create(r, obj);
  }

  private prepareNewPod(pod: Pod): void {
    pod.status ??= {};
    if (pod.spec.nodeName) {
      pod.status.conditions = [
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.timestamp() },
      ];
    }
  }

  timestamp(): string {
    return new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  /** PUT of an object or of its status subresource. */
  update(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    input: KubeObject,
    sub?: string,
    opts: WriteOptions = {},
  ): KubeObject {
    const obj = structuredClone(input);
    this.checkKindAndNamespace(r, obj, ns);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    this.checkFields(r, obj, opts);
    const cur = this.store.mustGet(r, obj.metadata.namespace, name);
    return this.replace(r, cur, obj, sub, opts);
  }

  private replace(
    r: ResourceInfo,
    cur: KubeObject,
    obj: KubeObject,
    sub: string | undefined,
    opts: WriteOptions,
  ): KubeObject {
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new KubeApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedResource(r)} "${cur.metadata.name}": ` +
          'the object has been modified; please apply your changes to the latest version and try again',
        { name: cur.metadata.name, group: r.group, kind: r.plural },
      );
    }
    let next: KubeObject;
    if (sub === 'status') {
      next = { ...structuredClone(cur), status: (obj as { status?: unknown }).status } as KubeObject;
      if (obj.metadata.resourceVersion) next.metadata.resourceVersion = obj.metadata.resourceVersion;
      else delete next.metadata.resourceVersion;
    } else {
      next = obj;
      if (WITH_STATUS.has(r.kind)) (next as { status?: unknown }).status = (cur as { status?: unknown }).status;
      applyDefaults(next);
      if (r.kind === 'Pod') this.checkPodUpdate(cur as Pod, next as Pod);
    }
    for (const f of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ] as const) {
      if (cur.metadata[f] !== undefined) (next.metadata as Record<string, unknown>)[f] = cur.metadata[f];
    }
    const service = r.kind === 'Service' && sub !== 'status';
    if (service) this.services.prepareUpdate(cur as Service, next as Service);
    this.validate(r, next);
    if (service) this.services.allocate(next as Service);
    if (opts.dryRun) return next;
    return this.store.update(r, next);
  }

  private checkPodUpdate(cur: Pod, next: Pod): void {
    const strip = (p: Pod): string =>
      canonicalJson({
        ...p.spec,
        containers: (p.spec.containers ?? []).map((c) => ({ ...c, image: '' })),
        initContainers: (p.spec.initContainers ?? []).map((c) => ({ ...c, image: '' })),
        activeDeadlineSeconds: 0,
        tolerations: [],
        terminationGracePeriodSeconds: 0,
      });
    if (strip(cur) !== strip(next)) {
      throw new KubeApiError(
        422,
        'Invalid',
        `Pod "${cur.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields ` +
          'other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,' +
          '`spec.tolerations` ' +
          '(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` ' +
          '(allow it to be set to 1 if it was previously negative)',
        {
          name: cur.metadata.name,
          kind: 'Pod',
          causes: [
            {
              reason: 'FieldValueForbidden',
              message: 'Forbidden: pod updates may not change fields other than images',
              field: 'spec',
            },
          ],
        },
      );
    }
  }

  /** PATCH of an object or of its status subresource; apply-patch creates the object when absent. */
  patch(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    type: PatchType,
    body: string,
    sub?: string,
    opts: WriteOptions = {},
  ): KubeObject {
    const patch = parsePatchBody(type, body);
    const cur = this.store.get(r, r.namespaced ? ns : undefined, name);
    if (!cur) {
      if (type === 'apply' && !sub)
        return this.create(
          r,
          ns,
          { ...(patch as KubeObject), metadata: { ...(patch as KubeObject).metadata, name } },
          opts,
        );
      this.store.mustGet(r, ns, name); // throws NotFound
      throw new Error('unreachable');
    }
    const patched = this.applyPatch(r, cur, type, patch) as KubeObject;
    if (!patched || typeof patched !== 'object') throw badRequest('the patch did not produce an object');
    patched.metadata ??= {};
    if (patched.metadata.name !== name) throw badRequest('the patch may not change the name');
    if (!(patch as KubeObject)?.metadata?.resourceVersion || type === 'json')
      patched.metadata.resourceVersion = cur.metadata.resourceVersion;
    this.checkFields(r, patched, opts);
    return this.replace(r, cur, patched, sub, opts);
  }

  private applyPatch(r: ResourceInfo, cur: KubeObject, type: PatchType, patch: unknown): unknown {
    switch (type) {
      case 'json':
        return jsonPatch(cur, patch);
      case 'merge':
        return jsonMergePatch(cur, patch);
      case 'strategic':
        return strategicMerge(cur, patch, { ref: r.definition });
      case 'apply':
        return strategicMerge(cur, patch, { ref: r.definition });
    }
  }

  /** POST pods/<name>/binding: assigns a node (409 when already assigned). */
  bind(
    podRes: ResourceInfo,
    ns: string,
    name: string,
    binding: { target?: { name?: string; kind?: string } },
  ): KubeObject {
    const node = binding?.target?.name;
    if (!node) throw new KubeApiError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`);
    const pod = this.store.mustGet(podRes, ns, name) as Pod;
    if (pod.spec.nodeName) {
      throw new KubeApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on pods/binding "${name}": ` +
          `pod ${name} is already assigned to node "${pod.spec.nodeName}"`,
      );
    }
    if (pod.metadata.deletionTimestamp)
      throw new KubeApiError(409, 'Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
    pod.spec.nodeName = node;
    pod.status ??= {};
    const conds = (pod.status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.timestamp() });
    pod.status.conditions = conds;
    return this.store.update(podRes, pod);
  }

  /** The autoscaling/v1 Scale of a Deployment or ReplicaSet. */
  scaleOf(r: ResourceInfo, obj: KubeObject): unknown {
    const o = obj as KubeObject & { spec: { replicas?: number; selector?: never }; status?: { replicas?: number } };
    const m = obj.metadata;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
        creationTimestamp: m.creationTimestamp,
      },
      spec: { replicas: o.spec.replicas ?? 0 },
      status: { replicas: o.status?.replicas ?? 0, selector: formatSelector(o.spec.selector) },
    };
  }

  /** PUT/PATCH of the scale subresource: `scale` is the new Scale object. */
  setScale(r: ResourceInfo, ns: string, name: string, input: unknown): unknown {
    const scale = input as ScaleBody | null | undefined;
    const replicas = scale?.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
      throw new KubeApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${replicas}: ` +
          `must be between 0 and ${MAX_REPLICAS} (the lab's limit)`,
        {
          name,
          group: 'autoscaling',
          kind: 'Scale',
          causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${replicas}`, field: 'spec.replicas' }],
        },
      );
    }
    const cur = this.store.mustGet(r, ns, name) as KubeObject & { spec: { replicas?: number } };
    if (scale?.metadata?.resourceVersion && scale.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new KubeApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${r.plural}.${r.group} "${name}": the object has been modified; ` +
          'please apply your changes to the latest version and try again',
      );
    }
    cur.spec.replicas = replicas;
    return this.scaleOf(r, this.store.update(r, cur));
  }

  matchesSelector(o: KubeObject, selector: Parameters<typeof selectorMatches>[0]): boolean {
    return selectorMatches(selector, o.metadata.labels);
  }
}

export function parsePatchBody(type: PatchType, body: string): unknown {
  try {
    return type === 'apply' ? YAML.parse(body) : JSON.parse(body);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message.split('\n')[0]}`);
  }
}
