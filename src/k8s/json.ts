// Reading API objects that are still plain JSON of unknown shape (a parsed manifest before its schema
// check, a request body): a guard for JSON objects and a reader for a nested field. Pure.

/** A JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value at `obj.k1.k2…`, or undefined where a step is not an object: `field(o, 'metadata', 'name')`. */
export function field(obj: unknown, ...keys: string[]): unknown {
  let v = obj;
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** String(v) of a JSON value of unknown type, for messages and suggestions (an object gives "[object Object]"). */
export const toText = (v: unknown): string => String(v);
