// Manifest files for `lab apply/create/delete -f`: multi-document YAML (or JSON), `List` objects
// expanded in order, each object with the line it starts on. Any problem throws ConfigError
// `file:line: what` (YAML syntax such as tabs used for indentation; a missing apiVersion, kind or
// metadata.name; an apiVersion the lab does not serve, with the closest one suggested).
// Pure; no I/O.
import { LineCounter, parseAllDocuments } from 'yaml';
import { ConfigError } from '../util/errors.js';
import type { KubeObject } from '../k8s/types.js';
import { apiVersionOf, RESOURCES } from './kube-resources.js';

export interface ManifestObject {
  object: KubeObject;
  file: string;
  line: number;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

const VERSIONS = [...new Set(RESOURCES.map(apiVersionOf))];

function checkObject(obj: unknown, file: string, line: number, lineOf: (key: string) => number): KubeObject {
  const fail = (key: string, what: string): never => {
    throw new ConfigError(`${file}:${lineOf(key) || line}: ${what}`);
  };
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail('', 'the document is not an object (a mapping with apiVersion, kind, metadata)');
  const o = obj as Record<string, unknown>;
  if (typeof o['apiVersion'] !== 'string' || !o['apiVersion']) fail('', 'apiVersion is missing');
  if (typeof o['kind'] !== 'string' || !o['kind']) fail('', 'kind is missing');
  const version = o['apiVersion'] as string;
  if (!VERSIONS.includes(version)) {
    const best = [...VERSIONS].sort((a, b) => distance(version, a) - distance(version, b))[0]!;
    fail('apiVersion', `apiVersion "${version}" is not known${distance(version, best) <= 2 ? ` (did you mean "${best}"?)` : ` (known: ${VERSIONS.join(', ')})`}`);
  }
  const kind = o['kind'] as string;
  if (kind === 'List') return o as unknown as KubeObject;
  if (!RESOURCES.some((r) => r.kind === kind && apiVersionOf(r) === version)) {
    fail('kind', `no matches for kind "${kind}" in version "${version}"`);
  }
  const meta = o['metadata'] as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== 'object') fail('', 'metadata is missing');
  if (!meta!['name'] && !meta!['generateName']) fail('metadata', 'metadata.name is missing (or metadata.generateName)');
  return o as unknown as KubeObject;
}

export function parseManifestText(text: string, file: string): ManifestObject[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: ManifestObject[] = [];
  for (const doc of list) {
    const e = doc.errors[0];
    if (e) {
      const line = lc.linePos(e.pos[0]).line;
      const tabs = /tab/i.test(e.message) || /^\t/m.test(text.split('\n')[line - 1] ?? '') ? ' (tabs are not allowed for indentation in YAML; use spaces)' : '';
      throw new ConfigError(`${file}:${line}: ${e.message.split('\n')[0]}${tabs}`);
    }
  }
  // Semantic checks only once the whole text parses, then in document order.
  for (const doc of list) {
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const start = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
    const lineOf = (key: string): number => {
      if (!key) return start;
      const node = doc.getIn(key.split('.'), true) as { range?: [number, number, number] } | undefined;
      const keyNode = (doc.contents as { items?: { key?: { value?: unknown; range?: number[] } }[] } | null)?.items?.find((i) => i.key?.value === key.split('.')[0]);
      const pos = keyNode?.key?.range?.[0] ?? node?.range?.[0];
      return pos === undefined ? start : lc.linePos(pos).line;
    };
    const obj = checkObject(value, file, start, lineOf);
    if (obj.kind === 'List') {
      const items = (value as { items?: unknown[] }).items ?? [];
      items.forEach((item, i) => {
        const node = doc.getIn(['items', i], true) as { range?: number[] } | undefined;
        const line = node?.range ? lc.linePos(node.range[0]!).line : start;
        out.push({ object: checkObject(item, file, line, () => line), file, line });
      });
    } else out.push({ object: obj, file, line: start });
  }
  return out;
}
