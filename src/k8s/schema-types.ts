// The shape of the API's object schemas, as one small description language: every kind the lab serves
// is described once (schema-defs.ts) and that description drives strict field validation, pruning of
// unknown fields, strategic merge patch (merge keys) and the OpenAPI documents kubectl reads.
// Pure data and types; nothing here throws.

/** A field's type. `any` = an object or value the lab stores but does not look inside. */
export type FieldSpec =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'int-or-string'
  | 'quantity'
  | 'time'
  | 'any'
  | { ref: string }
  | { list: FieldSpec; mergeKey?: string; strategy?: 'merge' }
  | { map: FieldSpec };

export type ObjectSchema = Record<string, FieldSpec>;

export interface Definition {
  /** The OpenAPI definition name kube uses, e.g. io.k8s.api.core.v1.Pod. */
  name: string;
  fields: ObjectSchema;
  /** Set on top-level kinds: the group/version/kind this definition is. */
  gvk?: { group: string; version: string; kind: string };
}
