// The OpenAPI v3 documents kubectl reads: `/openapi/v3` (the index of group-versions) and one document
// per group-version with the served paths (each PATCH operation tagged with its group/version/kind and
// the `fieldValidation` query parameter, which tells kubectl to let the server validate fields) and
// the component schemas generated from schema-defs.ts. Pure; built once at start.
import { DEFINITIONS } from '../k8s/schema-defs.js';
import type { FieldSpec } from '../k8s/schema-types.js';
import { RESOURCES, apiVersionOf, type ResourceInfo } from '../k8s/resources.js';
import { fnv32a } from '../k8s/names.js';

function schemaOf(spec: FieldSpec): Record<string, unknown> {
  if (typeof spec === 'string') {
    switch (spec) {
      case 'string':
        return { type: 'string' };
      case 'time':
        return { type: 'string', format: 'date-time' };
      case 'integer':
        return { type: 'integer', format: 'int64' };
      case 'number':
        return { type: 'number', format: 'double' };
      case 'boolean':
        return { type: 'boolean' };
      case 'int-or-string':
        return { 'x-kubernetes-int-or-string': true };
      case 'quantity':
        return { 'x-kubernetes-int-or-string': true };
      case 'any':
        return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    }
  }
  if ('ref' in spec) return { allOf: [{ $ref: `#/components/schemas/${spec.ref}` }] };
  if ('map' in spec) return { type: 'object', additionalProperties: schemaOf(spec.map) };
  const s: Record<string, unknown> = { type: 'array', items: schemaOf(spec.list) };
  if (spec.strategy) s['x-kubernetes-patch-strategy'] = spec.strategy;
  if (spec.mergeKey) s['x-kubernetes-patch-merge-key'] = spec.mergeKey;
  return s;
}

function componentSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of DEFINITIONS.values()) {
    const s: Record<string, unknown> = {
      type: 'object',
      properties: Object.fromEntries(Object.entries(d.fields).map(([k, v]) => [k, schemaOf(v)])),
    };
    if (d.gvk) s['x-kubernetes-group-version-kind'] = [d.gvk];
    out[d.name] = s;
  }
  return out;
}

const queryParam = (name: string, type = 'string') => ({ name, in: 'query', schema: { type }, uniqueItems: true });

function pathsOf(r: ResourceInfo): Record<string, unknown> {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const coll = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const ref = { $ref: `#/components/schemas/${r.definition}` };
  const json = { 'application/json': { schema: ref } };
  const op = (action: string, extra: Record<string, unknown> = {}) => ({
    operationId: `${action}${r.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: { '200': { description: 'OK', content: json } },
    ...extra,
  });
  const write = [queryParam('dryRun'), queryParam('fieldManager'), queryParam('fieldValidation')];
  return {
    [coll]: {
      get: op('list', {
        parameters: [queryParam('labelSelector'), queryParam('fieldSelector'), queryParam('watch', 'boolean')],
      }),
      post: op('post', { parameters: write, requestBody: { content: json } }),
    },
    [`${coll}/{name}`]: {
      get: op('get'),
      put: op('put', { parameters: write, requestBody: { content: json } }),
      patch: op('patch', {
        parameters: [...write, queryParam('force', 'boolean')],
        requestBody: {
          content: Object.fromEntries(
            [
              'application/json-patch+json',
              'application/merge-patch+json',
              'application/strategic-merge-patch+json',
              'application/apply-patch+yaml',
            ].map((t) => [t, { schema: { type: 'object' } }]),
          ),
        },
      }),
      delete: op('delete', {
        parameters: [queryParam('gracePeriodSeconds', 'integer'), queryParam('propagationPolicy')],
      }),
    },
  };
}

export interface OpenApiV3 {
  index: unknown;
  /** Documents by group-version path, e.g. "api/v1", "apis/apps/v1". */
  docs: Map<string, { body: string; hash: string }>;
}

export function buildOpenApiV3(): OpenApiV3 {
  const schemas = componentSchemas();
  const byGv = new Map<string, ResourceInfo[]>();
  for (const r of RESOURCES) {
    const key = r.group ? `apis/${apiVersionOf(r)}` : `api/${r.version}`;
    byGv.set(key, [...(byGv.get(key) ?? []), r]);
  }
  const docs = new Map<string, { body: string; hash: string }>();
  const index: Record<string, unknown> = {};
  for (const [gv, rs] of byGv) {
    const doc = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: 'v1.32.0' },
      paths: Object.assign({}, ...rs.map(pathsOf)) as Record<string, unknown>,
      components: { schemas },
    };
    const body = JSON.stringify(doc);
    const hash = fnv32a(body).toString(16).toUpperCase().padStart(8, '0').repeat(16);
    docs.set(gv, { body, hash });
    index[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
  }
  return { index: { paths: index }, docs };
}
