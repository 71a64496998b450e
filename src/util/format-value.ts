// Text form of a value that came from outside (a control request's parameter, a parsed file), for
// one-line error messages. Never throws.

/** Strings as they are; numbers, booleans, null and undefined as String() gives them; the rest as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return String(v);
  if (typeof v === 'symbol' || typeof v === 'function') return v.toString();
  try {
    return JSON.stringify(v) ?? Object.prototype.toString.call(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
