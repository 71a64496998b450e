// Reading plain data parsed from YAML (doc.toJS()) field by field, with errors that point into the
// file: every failure is a ConfigError `<file>:<line>: <field path> <what is wrong>`, the line
// found from the path (util/yaml-source.ts). Validators of YAML files extend YamlFields and add
// their own field types (lab/topology.ts). Nothing is thrown but ConfigError.
import type { YamlPath, YamlSource } from './yaml-source.js';

/** `nodes[1].subnet`, or `(top level)` for the empty path. */
export function pathText(path: YamlPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

export class YamlFields {
  constructor(protected readonly yaml: YamlSource) {}

  fail(path: YamlPath, what: string): never {
    return this.yaml.fail(this.yaml.lineAt(path), `${pathText(path)} ${what}`);
  }

  /** A mapping with no keys but `allowed`. */
  protected obj(value: unknown, path: YamlPath, allowed: readonly string[]): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be a mapping');
    const rec = value as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      if (!allowed.includes(key))
        this.fail([...path, key], `is not a known field (expected one of: ${allowed.join(', ')})`);
    }
    return rec;
  }

  /** A string (a number is taken as its text). */
  protected str(rec: Record<string, unknown>, key: string, path: YamlPath, required: true): string;
  protected str(rec: Record<string, unknown>, key: string, path: YamlPath, required: false): string | undefined;
  protected str(rec: Record<string, unknown>, key: string, path: YamlPath, required: boolean): string | undefined {
    const value = rec[key];
    if (value === undefined || value === null) {
      if (required) this.fail([...path, key], 'is missing');
      return undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number') this.fail([...path, key], 'must be a string');
    return String(value);
  }

  /** An optional integer from min to max. */
  protected int(
    rec: Record<string, unknown>,
    key: string,
    path: YamlPath,
    min: number,
    max: number,
  ): number | undefined {
    const value = rec[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail([...path, key], `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
    return value;
  }

  /** A list that must be there. */
  protected list(value: unknown, path: YamlPath): unknown[] {
    if (value === undefined || value === null) this.fail(path, 'is missing');
    if (!Array.isArray(value)) this.fail(path, 'must be a list');
    return value;
  }

  /** A string (split on spaces, unless `listOnly`) or a list of strings/numbers; never empty. */
  protected words(value: unknown, path: YamlPath, listOnly: boolean): string[] {
    let out: string[];
    if (typeof value === 'string' && !listOnly) out = value.trim().split(/\s+/).filter(Boolean);
    else if (Array.isArray(value) && value.every((w) => typeof w === 'string' || typeof w === 'number'))
      out = value.map(String);
    else this.fail(path, 'must be a string or a list of strings');
    if (out.length === 0) this.fail(path, 'is empty');
    return out;
  }
}
