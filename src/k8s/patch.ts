// The three patch formats of the Kubernetes API, applied to a JSON object: JSON merge patch (RFC 7386),
// JSON patch (RFC 6902, via fast-json-patch) and strategic merge patch (kube's: lists of objects with a
// merge key — containers by name, ports by containerPort, conditions by type … — are merged element by
// element; `$patch: delete|replace|merge`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`,
// `$retainKeys`; merge keys come from schema-defs.ts). Returns new objects; inputs are not mutated.
// Throws PatchError (one line) on a malformed patch.
import fastJsonPatch from 'fast-json-patch';
import { ConfigError } from '../util/errors.js';
import { childSpec } from './schema.js';
import type { FieldSpec } from './schema-types.js';

export class PatchError extends ConfigError {}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386. Written by hand: ten lines, and it must agree with the SMP code below on null = delete. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a list of operations');
  const err = fastJsonPatch.validate(ops as fastJsonPatch.Operation[], target);
  if (err) throw new PatchError(`invalid JSON patch: ${err.message.split('\n')[0]}`);
  try {
    return fastJsonPatch.applyPatch(structuredClone(target), ops as fastJsonPatch.Operation[], false, false)
      .newDocument;
  } catch (e) {
    throw new PatchError(`the JSON patch does not apply: ${(e as Error).message.split('\n')[0]}`);
  }
}

type ListSpec = Extract<FieldSpec, { list: FieldSpec }>;
const listSpecOf = (s: FieldSpec | undefined): ListSpec | undefined =>
  s && typeof s === 'object' && 'list' in s ? s : undefined;

function mergeList(
  original: unknown,
  patch: unknown[],
  spec: ListSpec | undefined,
  order: unknown[] | undefined,
): unknown[] {
  const orig: unknown[] = Array.isArray(original) ? original : [];
  if (!spec || spec.strategy !== 'merge') {
    return patch.filter((p) => !(isObject(p) && p['$patch'] !== undefined)).map((p) => structuredClone(p));
  }
  const key = spec.mergeKey;
  if (!key) {
    // A merged list of primitives: union, keeping the original order.
    const out = [...orig];
    for (const p of patch) if (!out.some((o) => o === p)) out.push(p);
    return orderBy(out, order, (x) => x);
  }
  if (patch.some((p) => isObject(p) && p['$patch'] === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p['$patch'] === 'replace')).map((p) => structuredClone(p));
  }
  const out: unknown[] = orig.map((o) => structuredClone(o));
  for (const p of patch) {
    if (!isObject(p)) throw new PatchError(`a strategic merge patch list element must be an object (merge key ${key})`);
    const idx = out.findIndex((o) => isObject(o) && o[key] === p[key]);
    if (p['$patch'] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], p, spec.list);
    else out.push(strategicMerge({}, p, spec.list));
  }
  return orderBy(out, order, (x) => (isObject(x) ? x[key] : x));
}

function orderBy(list: unknown[], order: unknown[] | undefined, keyOf: (x: unknown) => unknown): unknown[] {
  if (!order) return list;
  const keys = order.map((o) => (isObject(o) ? Object.values(o)[0] : o));
  const ranked = list.map((x, i) => ({ x, i, r: keys.indexOf(keyOf(x)) }));
  ranked.sort((a, b) => (a.r < 0 ? Infinity : a.r) - (b.r < 0 ? Infinity : b.r) || a.i - b.i);
  return ranked.map((e) => e.x);
}

/** Applies a strategic merge patch to `original`, a value described by `spec` (e.g. { ref: Pod's definition }). */
export function strategicMerge(original: unknown, patch: unknown, spec: FieldSpec | undefined): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch['$patch'] === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch['$patch'] === 'delete') return undefined;
  const out: Record<string, unknown> = isObject(original) ? structuredClone(original) : {};
  const retain = patch['$retainKeys'];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v))
        out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
      continue;
    }
    const child = childSpec(spec, k);
    if (v === null) delete out[k];
    else if (Array.isArray(v)) {
      const order = patch[`$setElementOrder/${k}`];
      out[k] = mergeList(out[k], v, listSpecOf(child), Array.isArray(order) ? order : undefined);
    } else if (isObject(v)) {
      const merged = strategicMerge(out[k], v, child);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = k.slice('$setElementOrder/'.length);
    if (field in patch || !Array.isArray(out[field])) continue;
    const ls = listSpecOf(childSpec(spec, field));
    const key = ls?.mergeKey;
    out[field] = orderBy(out[field] as unknown[], order, (x) => (key && isObject(x) ? x[key] : x));
  }
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}
