// Walks an object against its kind's schema (schema-defs.ts): finds unknown fields (kube's strict
// decoding error paths, e.g. `spec.template.spec.containers[0].imagee`), wrong JSON types (kube's
// "cannot unmarshal" messages), removes unknown fields (what kube does without strict validation), and
// answers the strategic-merge questions (is this list merged, by which key). Pure; never throws.
import { DEFINITIONS } from './schema-defs.js';
import type { FieldSpec } from './schema-types.js';

export interface SchemaProblems {
  unknown: string[];
  typeErrors: string[];
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function walk(spec: FieldSpec, value: unknown, path: string, out: SchemaProblems, prune: boolean): void {
  if (value === null || value === undefined) return;
  if (typeof spec === 'string') {
    const t = typeName(value);
    const ok =
      spec === 'any' ||
      (spec === 'string' || spec === 'time'
        ? t === 'string'
        : spec === 'integer'
          ? t === 'number' && Number.isInteger(value)
          : spec === 'number'
            ? t === 'number'
            : spec === 'boolean'
              ? t === 'boolean'
              : t === 'string' || t === 'number');
    if (!ok)
      out.typeErrors.push(
        `${path}: expected ${spec === 'int-or-string' || spec === 'quantity' ? 'integer or string' : spec}, got ${t}`,
      );
    return;
  }
  if ('ref' in spec) {
    const def = DEFINITIONS.get(spec.ref);
    if (!def) return;
    if (typeName(value) !== 'object') {
      out.typeErrors.push(`${path}: expected object, got ${typeName(value)}`);
      return;
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const child = def.fields[key];
      if (!child) {
        out.unknown.push(join(path, key));
        if (prune) delete obj[key];
      } else walk(child, obj[key], join(path, key), out, prune);
    }
    return;
  }
  if ('list' in spec) {
    if (!Array.isArray(value)) {
      out.typeErrors.push(`${path}: expected array, got ${typeName(value)}`);
      return;
    }
    value.forEach((item, i) => walk(spec.list, item, `${path}[${i}]`, out, prune));
    return;
  }
  if (typeName(value) !== 'object') {
    out.typeErrors.push(`${path}: expected map, got ${typeName(value)}`);
    return;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(spec.map, v, join(path, k), out, prune);
}

/** Unknown fields and type errors of `obj` against definition `defName` (e.g. io.k8s.api.core.v1.Pod). */
export function checkAgainstSchema(defName: string, obj: unknown): SchemaProblems {
  const out: SchemaProblems = { unknown: [], typeErrors: [] };
  walk({ ref: defName }, obj, '', out, false);
  return out;
}

/** Removes unknown fields in place; returns their paths (for kube's Warning headers). */
export function pruneUnknownFields(defName: string, obj: unknown): string[] {
  const out: SchemaProblems = { unknown: [], typeErrors: [] };
  walk({ ref: defName }, obj, '', out, true);
  return out.unknown;
}

/** The schema of field `key` inside a value described by `spec`, for walking patches. */
export function childSpec(spec: FieldSpec | undefined, key: string): FieldSpec | undefined {
  if (!spec || typeof spec === 'string') return undefined;
  if ('ref' in spec) return DEFINITIONS.get(spec.ref)?.fields[key];
  if ('map' in spec) return spec.map;
  return undefined;
}
