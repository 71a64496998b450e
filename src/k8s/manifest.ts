// Manifest files: multi-document YAML (and `kind: List` objects) turned into API objects in file order,
// each with the line it starts on and the line of every field, so that every error names file:line and
// the field. Rejects tabs used for indentation, unknown apiVersions (suggesting the nearest, e.g. "vl"
// → "v1") and kinds, unknown fields, wrong types and what validation (validate.ts, after defaulting a
// copy) finds. Throws ConfigError with one line; a file with any bad object yields no objects.
import YAML, { isMap, isSeq, isScalar, LineCounter, type Node as YamlNode } from 'yaml';
import { ConfigError } from '../util/errors.js';
import { applyDefaults } from './defaults.js';
import { resourceForKind, servedApiVersions, RESOURCES, apiVersionOf } from './resources.js';
import { checkAgainstSchema } from './schema.js';
import { field, isObject, toText } from './json.js';
import type { KubeObject } from './types.js';
import { validateObject } from './validate.js';

export interface ManifestObject {
  object: KubeObject;
  file: string;
  line: number;
}

export class ManifestError extends ConfigError {}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** The candidate nearest to `word` (edit distance at most 2, or same text ignoring case), if any. */
export function suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const dist = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (dist < bestD) [best, bestD] = [c, dist];
  }
  return best;
}

/** Field path (`spec.containers[0].image`) → line, for every key and list item of a document. */
function fieldLines(node: YamlNode | null | undefined, lc: LineCounter, path: string, out: Map<string, number>): void {
  if (!node) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const p = path ? `${path}.${key}` : key;
      const k = pair.key as YamlNode | null;
      if (k?.range) out.set(p, lc.linePos(k.range[0]).line);
      fieldLines(pair.value as YamlNode | null, lc, p, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const n = item as YamlNode | null;
      if (n?.range) out.set(p, lc.linePos(n.range[0]).line);
      fieldLines(n, lc, p, out);
    });
  }
}

/** The line of `field` or of its nearest ancestor that has one. */
function lineOf(lines: Map<string, number>, field: string, fallback: number): number {
  for (let f = field; f; f = f.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
    const l = lines.get(f);
    if (l !== undefined) return l;
    if (!/(\.[^.[\]]*|\[\d+\])$/.test(f)) break;
  }
  return fallback;
}

function checkOne(obj: unknown, lines: Map<string, number>, prefix: string, where: (f: string) => string): void {
  if (!isObject(obj)) throw new ManifestError(`${where(prefix)}: not an object`);
  const f = (name: string): string => (prefix ? `${prefix}.${name}` : name);
  const { apiVersion, kind } = obj;
  if (!apiVersion) throw new ManifestError(`${where(prefix)}: apiVersion: Required value`);
  if (!kind) throw new ManifestError(`${where(prefix)}: kind: Required value`);
  const versions = servedApiVersions();
  if (typeof apiVersion !== 'string' || !versions.includes(apiVersion)) {
    const s = suggest(toText(apiVersion), versions);
    throw new ManifestError(
      `${where(f('apiVersion'))}: unknown apiVersion ${JSON.stringify(apiVersion)}` +
        (s ? ` (did you mean ${JSON.stringify(s)}?)` : ` (served: ${versions.join(', ')})`),
    );
  }
  const res = typeof kind === 'string' ? resourceForKind(apiVersion, kind) : undefined;
  if (!res) {
    const kinds = RESOURCES.filter((r) => apiVersionOf(r) === apiVersion).map((r) => r.kind);
    const s = suggest(
      toText(kind),
      RESOURCES.map((r) => r.kind),
    );
    throw new ManifestError(
      `${where(f('kind'))}: unknown kind ${JSON.stringify(kind)} for apiVersion ` +
        `${JSON.stringify(apiVersion)} (` +
        (s ? `did you mean ${JSON.stringify(s)}? ` : '') +
        `served: ${kinds.join(', ')})`,
    );
  }
  const schema = checkAgainstSchema(res.definition, obj);
  if (schema.typeErrors.length) {
    const [first] = schema.typeErrors;
    throw new ManifestError(`${where(f(first.split(':')[0]))}: ${first}`);
  }
  if (schema.unknown.length)
    throw new ManifestError(`${where(f(schema.unknown[0]))}: ${schema.unknown[0]}: unknown field`);
  // The schema check passed: obj has the shape of its kind (apiVersion and kind served, known above).
  const causes = validateObject(applyDefaults(structuredClone(obj as unknown as KubeObject)));
  if (causes.length) {
    const c = causes[0];
    const more = causes.length > 1 ? ` (and ${causes.length - 1} more)` : '';
    throw new ManifestError(
      `${where(f(c.field ?? ''))}: ${res.kind} ${JSON.stringify(field(obj, 'metadata', 'name') ?? '')}: ` +
        `${c.field}: ${c.message}${more}`,
    );
  }
}

/**
 * Parses and checks every object of a manifest file's text. `file` is only used in messages.
 * Throws ManifestError (one line, file:line) on the first problem found.
 */
export function parseManifests(text: string, file: string): ManifestObject[] {
  const textLines = text.split('\n');
  const tabLines: number[] = [];
  let inBlock = false;
  textLines.forEach((l, i) => {
    if (/^\s*\t/.test(l) && !inBlock) tabLines.push(i + 1);
    if (/[|>][-+]?\s*$/.test(l)) inBlock = true;
    else if (/^\S/.test(l)) inBlock = false;
  });
  const lc = new LineCounter();
  const docs = YAML.parseAllDocuments(text, { lineCounter: lc, prettyErrors: true });
  const problems: string[] = [];
  const out: ManifestObject[] = [];
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    const lines = new Map<string, number>();
    fieldLines(doc.contents, lc, '', lines);
    const start = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
    const where = (field: string): string => `${file}:${lineOf(lines, field, start)}`;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch {
      value = undefined;
    }
    if (value === null || value === undefined) {
      if (doc.errors.length === 0) continue; // an empty document (e.g. a trailing ---)
    }
    // apiVersion mistakes are reported even when the YAML is broken, so the user learns both at once.
    const apiVersion = field(value, 'apiVersion');
    if (typeof apiVersion === 'string' && !servedApiVersions().includes(apiVersion)) {
      const s = suggest(apiVersion, servedApiVersions());
      problems.push(
        `${where('apiVersion')}: unknown apiVersion ${JSON.stringify(apiVersion)}` +
          (s ? ` (did you mean ${JSON.stringify(s)}?)` : ''),
      );
    }
    if (doc.errors.length) {
      const tabsHere = tabLines.filter((l) => doc.errors.some((e) => e.linePos?.[0]?.line === l));
      if (tabsHere.length) {
        problems.push(
          `${file}:${tabsHere[0]}: tab characters used for indentation (YAML allows only spaces)` +
            (tabsHere.length > 1 ? `, also on lines ${tabsHere.slice(1).join(',')}` : ''),
        );
      } else {
        const e = doc.errors[0];
        problems.push(
          `${file}:${e.linePos?.[0]?.line ?? start}: ` +
            e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
        );
      }
      continue;
    }
    if (problems.length) continue;
    const items: { obj: unknown; prefix: string }[] = [];
    const kind = field(value, 'kind');
    const listItems = field(value, 'items');
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(listItems)) {
      listItems.forEach((obj: unknown, i: number) => items.push({ obj, prefix: `items[${i}]` }));
    } else items.push({ obj: value, prefix: '' });
    for (const { obj, prefix } of items) {
      try {
        checkOne(obj, lines, prefix, where);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      out.push({ object: obj as KubeObject, file, line: lineOf(lines, prefix || 'apiVersion', start) });
    }
  }
  if (problems.length) throw new ManifestError(problems.join('; '));
  return out;
}
