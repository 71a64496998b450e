// The resource endpoints: GET (one, list, watch, Table output), POST (create, pods/binding), PUT
// (update, status, scale), PATCH (four patch types; status, scale), DELETE (one, collection), with
// kube's query parameters (labelSelector, fieldSelector, watch, resourceVersion, timeoutSeconds,
// allowWatchBookmarks, includeObject, fieldValidation, dryRun, gracePeriodSeconds, propagationPolicy).
// pods/log and pods/exec go to kubelet-proxy.ts. Errors are answered as Status objects.
import type http from 'node:http';
import { KubeApiError } from '../util/errors.js';
import { apiVersionOf, qualifiedResource } from '../k8s/resources.js';
import {
  checkFieldSelector,
  fieldsMatch,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
} from '../k8s/selectors.js';
import { jsonMergePatch, jsonPatch } from '../k8s/patch.js';
import { toTable, type IncludeObject } from '../k8s/tables.js';
import type { KubeObject } from '../k8s/types.js';
import type { ApiDelete, DeleteOptions } from './api-delete.js';
import { PATCH_TYPES, type ApiOps, type FieldValidation, type WriteOptions } from './api-ops.js';
import type { ResourcePath } from './http-path.js';
import { parseJsonBody, readBodyText, sendJson, wantsTable } from './http-util.js';
import { serveWatch } from './http-watch.js';
import { badRequest, methodNotAllowed, notFoundPath } from './status.js';

export interface ResourceContext {
  ops: ApiOps;
  deleter: ApiDelete;
  now: () => number;
}

const boolParam = (v: string | null): boolean => v === 'true' || v === '1';

function writeOptions(q: URLSearchParams): WriteOptions {
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (!['Strict', 'Warn', 'Ignore'].includes(fv))
    throw badRequest(`fieldValidation must be one of Strict, Warn, Ignore: ${fv}`);
  return { fieldValidation: fv as FieldValidation, dryRun: q.getAll('dryRun').includes('All'), warnings: [] };
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject') ?? 'Metadata';
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

export async function handleResource(
  ctx: ResourceContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  p: ResourcePath,
  q: URLSearchParams,
): Promise<void> {
  const r = p.resource;
  const ns = r.namespaced ? p.namespace : undefined;
  const method = req.method ?? 'GET';
  const store = ctx.ops.store;
  const sub = p.subresource;
  if (sub && !r.subresources.some((s) => s.name === sub)) throw notFoundPath();
  if (sub === 'scale') return handleScale(ctx, req, res, p, q);
  if (!p.name) {
    if (sub) throw notFoundPath();
    const labels = parseLabelSelector(q.get('labelSelector') ?? '');
    const fields = parseFieldSelector(q.get('fieldSelector') ?? '');
    checkFieldSelector(r.kind, fields);
    if (method === 'GET' && boolParam(q.get('watch'))) {
      serveWatch(
        store,
        req,
        res,
        {
          resource: r,
          namespace: ns,
          labels,
          fields,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          timeoutSeconds: Number(q.get('timeoutSeconds') ?? 0) || undefined,
          bookmarks: boolParam(q.get('allowWatchBookmarks')),
          table: wantsTable(req) ? { include: includeObject(q) } : undefined,
        },
        ctx.now,
      );
      return;
    }
    const selected = (): KubeObject[] =>
      store
        .list(r, ns)
        .items.filter((o) => matchesRequirements(labels, o.metadata.labels) && fieldsMatch(r.kind, fields, o));
    if (method === 'GET') {
      const rv = store.resourceVersion();
      const items = selected();
      if (wantsTable(req)) return sendJson(res, 200, toTable(items, r.kind, ctx.now(), includeObject(q), rv));
      return sendJson(res, 200, {
        apiVersion: apiVersionOf(r),
        kind: `${r.kind}List`,
        metadata: { resourceVersion: rv },
        items,
      });
    }
    if (method === 'POST') {
      const opts = writeOptions(q);
      const created = ctx.ops.create(r, ns, parseJsonBody(await readBodyText(req)) as KubeObject, opts);
      return sendJson(res, 201, created, opts.warnings);
    }
    if (method === 'DELETE') {
      const body = await readBodyText(req);
      const opts = deleteOptions(q, body ? parseJsonBody(body) : {});
      const items = selected().map((o) => ctx.deleter.delete(r, o.metadata.namespace, o.metadata.name!, opts));
      return sendJson(res, 200, {
        apiVersion: apiVersionOf(r),
        kind: `${r.kind}List`,
        metadata: { resourceVersion: store.resourceVersion() },
        items,
      });
    }
    throw methodNotAllowed();
  }
  const name = p.name;
  if (sub === 'binding') {
    if (method !== 'POST') throw methodNotAllowed();
    ctx.ops.bind(r, ns!, name, parseJsonBody(await readBodyText(req)) as BindingBody);
    return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }
  if (method === 'GET') {
    if (boolParam(q.get('watch'))) {
      serveWatch(
        store,
        req,
        res,
        {
          resource: r,
          namespace: ns,
          name,
          labels: [],
          fields: [],
          resourceVersion: q.get('resourceVersion') ?? undefined,
          timeoutSeconds: Number(q.get('timeoutSeconds') ?? 0) || undefined,
          bookmarks: false,
          table: wantsTable(req) ? { include: includeObject(q) } : undefined,
        },
        ctx.now,
      );
      return;
    }
    const obj = store.mustGet(r, ns, name);
    if (wantsTable(req) && !sub)
      return sendJson(res, 200, toTable([obj], r.kind, ctx.now(), includeObject(q), obj.metadata.resourceVersion));
    return sendJson(res, 200, obj);
  }
  if (method === 'PUT') {
    const opts = writeOptions(q);
    return sendJson(
      res,
      200,
      ctx.ops.update(r, ns, name, parseJsonBody(await readBodyText(req)) as KubeObject, sub, opts),
      opts.warnings,
    );
  }
  if (method === 'PATCH') {
    const type =
      PATCH_TYPES[
        String(req.headers['content-type'] ?? '')
          .split(';')[0]
          .trim()
      ];
    if (!type) {
      throw new KubeApiError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: ' +
          Object.keys(PATCH_TYPES).join(', '),
      );
    }
    const opts = writeOptions(q);
    const existed = store.get(r, ns, name) !== undefined;
    const out = ctx.ops.patch(r, ns, name, type, await readBodyText(req), sub, opts);
    return sendJson(res, existed ? 200 : 201, out, opts.warnings);
  }
  if (method === 'DELETE') {
    if (sub) throw methodNotAllowed();
    const body = await readBodyText(req);
    const obj = ctx.deleter.delete(r, ns, name, deleteOptions(q, body ? parseJsonBody(body) : {}));
    const gone = store.get(r, ns, name) === undefined;
    if (gone && r.kind !== 'Pod') {
      return sendJson(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, group: r.group, kind: r.plural, uid: obj.metadata.uid },
      });
    }
    return sendJson(res, 200, obj);
  }
  throw methodNotAllowed();
}

/** The request-body fields of a meta/v1 DeleteOptions that deleteOptions() reads. */
interface DeleteOptionsBody {
  gracePeriodSeconds?: number | string | null;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: DeleteOptions['preconditions'];
}

/** The body of POST pods/<name>/binding. */
type BindingBody = Parameters<ApiOps['bind']>[3];

function deleteOptions(q: URLSearchParams, rawBody: unknown): DeleteOptions {
  const body = rawBody as DeleteOptionsBody | null | undefined;
  const grace = q.get('gracePeriodSeconds') ?? body?.gracePeriodSeconds;
  const policy =
    q.get('propagationPolicy') ?? body?.propagationPolicy ?? (body?.orphanDependents === true ? 'Orphan' : undefined);
  if (policy !== undefined && !isPropagationPolicy(policy)) {
    throw badRequest(`propagationPolicy must be one of Background, Foreground, Orphan: ${policy}`);
  }
  const g = grace === undefined || grace === null ? undefined : Number(grace);
  if (g !== undefined && !Number.isFinite(g)) throw badRequest(`invalid gracePeriodSeconds: ${grace}`);
  return { gracePeriodSeconds: g, propagationPolicy: policy, preconditions: body?.preconditions };
}

function isPropagationPolicy(v: unknown): v is NonNullable<DeleteOptions['propagationPolicy']> {
  return v === 'Background' || v === 'Foreground' || v === 'Orphan';
}

async function handleScale(
  ctx: ResourceContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  p: ResourcePath,
  _q: URLSearchParams,
): Promise<void> {
  const r = p.resource;
  if (!p.name || !p.namespace) throw notFoundPath();
  const cur = ctx.ops.store.get(r, p.namespace, p.name);
  if (!cur)
    throw new KubeApiError(404, 'NotFound', `${qualifiedResource(r)} "${p.name}" not found`, {
      name: p.name,
      group: r.group,
      kind: r.plural,
    });
  const scale = ctx.ops.scaleOf(r, cur) as Record<string, unknown>;
  if (req.method === 'GET') return sendJson(res, 200, scale);
  const body = await readBodyText(req);
  if (req.method === 'PUT') return sendJson(res, 200, ctx.ops.setScale(r, p.namespace, p.name, parseJsonBody(body)));
  if (req.method === 'PATCH') {
    const type =
      PATCH_TYPES[
        String(req.headers['content-type'] ?? '')
          .split(';')[0]
          .trim()
      ];
    if (!type) throw new KubeApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format');
    const patch = parseJsonBody(body);
    const next = type === 'json' ? jsonPatch(scale, patch) : jsonMergePatch(scale, patch);
    return sendJson(res, 200, ctx.ops.setScale(r, p.namespace, p.name, next));
  }
  throw methodNotAllowed();
}
