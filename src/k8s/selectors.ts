// Label selectors (kubectl's `-l` syntax: `a=b,a==b,c!=d,e in (x,y),f notin (z),g,!h`; and the API's
// LabelSelector with matchLabels/matchExpressions) and field selectors (`metadata.name=x,spec.nodeName!=y`).
// Parsing throws SelectorError (one line naming what is wrong); matching is pure.
import { ConfigError } from '../util/errors.js';
import type { Event, KubeObject, LabelSelector, NodeSpec, PodSpec, PodStatus, ReplicaSetStatus } from './types.js';

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export class SelectorError extends ConfigError {}

const KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, text: string): string {
  if (!KEY_RE.test(key) || key.length > 316)
    throw new SelectorError(`invalid label key "${key}" in selector "${text}"`);
  return key;
}

function checkValue(value: string, text: string): string {
  if (!VALUE_RE.test(value) || value.length > 63)
    throw new SelectorError(`invalid label value "${value}" in selector "${text}"`);
  return value;
}

/** Splits at commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim());
}

/** Parses kubectl's label selector syntax. The empty string selects everything. */
export function parseLabelSelector(text: string): Requirement[] {
  if (text.trim() === '') return [];
  const reqs: Requirement[] = [];
  for (const term of splitTerms(text)) {
    if (term === '') throw new SelectorError(`empty term in selector "${text}"`);
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^!\s*([^\s=!()]+)$/))) {
      reqs.push({ key: checkKey(m[1], text), operator: 'DoesNotExist', values: [] });
    } else if ((m = term.match(/^([^\s=!()]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const values = m[3].split(',').map((v) => checkValue(v.trim(), text));
      reqs.push({ key: checkKey(m[1], text), operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = term.match(/^([^\s=!()]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/))) {
      const op: Operator = m[2] === '!=' ? 'NotIn' : 'In';
      reqs.push({ key: checkKey(m[1], text), operator: op, values: [checkValue(m[3], text)] });
    } else if ((m = term.match(/^([^\s=!()]+)$/))) {
      reqs.push({ key: checkKey(m[1], text), operator: 'Exists', values: [] });
    } else {
      throw new SelectorError(`unable to parse requirement "${term}" in selector "${text}"`);
    }
  }
  return reqs;
}

/** The requirements of an API LabelSelector. Throws SelectorError on an unknown operator. */
export function requirementsOf(selector: LabelSelector | undefined): Requirement[] {
  if (!selector) return [];
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    reqs.push({ key, operator: 'In', values: [value] });
  for (const e of selector.matchExpressions ?? []) {
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) {
      throw new SelectorError(`"${e.operator}" is not a valid label selector operator`);
    }
    reqs.push({ key: e.key, operator: e.operator, values: [...(e.values ?? [])] });
  }
  return reqs;
}

export function matchesRequirements(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'In':
        if (!has || !r.values.includes(l[r.key])) return false;
        break;
      case 'NotIn':
        if (has && r.values.includes(l[r.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** An API LabelSelector matches labels (an empty selector matches everything, as kube's LabelSelectorAsSelector). */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return matchesRequirements(requirementsOf(selector), labels);
}

/** kube's string form of a selector, e.g. `app=nginx,tier in (a,b)` (sorted by key as kube does). */
export function formatSelector(selector: LabelSelector | undefined): string {
  const reqs = requirementsOf(selector).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${[...r.values].sort().join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${[...r.values].sort().join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
    })
    .join(',');
}

// ---- field selectors ----

export interface FieldRequirement {
  field: string;
  equals: boolean;
  value: string;
}

export function parseFieldSelector(text: string): FieldRequirement[] {
  if (text.trim() === '') return [];
  return text.split(',').map((term) => {
    const m = term.trim().match(/^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new SelectorError(`invalid field selector "${term}"`);
    return { field: m[1], equals: m[2] !== '!=', value: m[3].trim() };
  });
}

/** The fields of the kinds with field selectors, as read here (stored objects have passed their schema). */
type Selectable = Partial<KubeObject> &
  Partial<Pick<Event, 'involvedObject' | 'reason' | 'reportingComponent' | 'source' | 'type'>> & {
    spec?: Partial<PodSpec & NodeSpec> & { serviceAccountName?: string };
    status?: Partial<PodStatus & ReplicaSetStatus> & { phase?: string; nominatedNodeName?: string };
  };

const INVOLVED_OBJECT_FIELDS = [
  'kind',
  'namespace',
  'name',
  'uid',
  'apiVersion',
  'resourceVersion',
  'fieldPath',
] as const;

/** Field values an object exposes to field selectors, per kind (as kube's field label conversions). */
export function selectableFields(kind: string, object: object): Record<string, string> {
  const obj = object as Selectable;
  const f: Record<string, string> = {
    'metadata.name': obj.metadata?.name ?? '',
    'metadata.namespace': obj.metadata?.namespace ?? '',
  };
  if (kind === 'Pod') {
    f['spec.nodeName'] = obj.spec?.nodeName ?? '';
    f['spec.restartPolicy'] = obj.spec?.restartPolicy ?? '';
    f['spec.schedulerName'] = obj.spec?.schedulerName ?? '';
    f['spec.serviceAccountName'] = obj.spec?.serviceAccountName ?? '';
    f['status.phase'] = obj.status?.phase ?? '';
    f['status.podIP'] = obj.status?.podIP ?? '';
    f['status.nominatedNodeName'] = obj.status?.nominatedNodeName ?? '';
  } else if (kind === 'Event') {
    for (const k of INVOLVED_OBJECT_FIELDS) {
      f[`involvedObject.${k}`] = obj.involvedObject?.[k] ?? '';
    }
    f['reason'] = obj.reason ?? '';
    f['reportingComponent'] = obj.reportingComponent ?? '';
    f['source'] = obj.source?.component ?? '';
    f['type'] = obj.type ?? '';
  } else if (kind === 'Node') {
    f['spec.unschedulable'] = String(obj.spec?.unschedulable ?? false);
  } else if (kind === 'Namespace') {
    f['status.phase'] = obj.status?.phase ?? '';
  } else if (kind === 'ReplicaSet') {
    f['status.replicas'] = String(obj.status?.replicas ?? 0);
  }
  return f;
}

/** Throws SelectorError naming a field the kind does not support (kube: `field label not supported`). */
export function checkFieldSelector(kind: string, reqs: FieldRequirement[]): void {
  const known = selectableFields(kind, {});
  for (const r of reqs) {
    if (!(r.field in known)) throw new SelectorError(`field label not supported: ${r.field}`);
  }
}

export function fieldsMatch(kind: string, reqs: FieldRequirement[], obj: object): boolean {
  if (reqs.length === 0) return true;
  const f = selectableFields(kind, obj);
  return reqs.every((r) => (f[r.field] === r.value) === r.equals);
}
