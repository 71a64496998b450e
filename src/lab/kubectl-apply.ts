// `lab apply -f`, `lab create -f` and `lab delete -f | KIND NAME` as kubectl does them, over the API:
// every object of every file is parsed and validated first (a file with any invalid object applies
// nothing: ConfigError `file:line: field what`), then each is created (`kind/name created`) or, for
// apply, compared with the live object and merge-patched (`configured`) or left (`unchanged`);
// the last applied manifest is kept in kubectl's annotation. delete waits until the objects are gone
// (as kubectl's --wait=true). Throws ConfigError, KubeApiError (the first refused object: the ones
// before it stay, as with kubectl), DeviceError.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../util/errors.js';
import type { KubeObject } from '../k8s/types.js';
import { KubeApiError, type KubeClient } from './kube-client.js';
import { parseManifests, type ManifestObject } from '../k8s/manifest.js';
import {
  collectionPath,
  nameOf,
  objectPath,
  resolveResource,
  resourceOfKind,
  type ResourceInfo,
} from './kube-resources.js';
import { pollUntil } from './wait.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Reads FILE, every .yaml/.yml/.json in DIR (sorted), or stdin for `-`. */
export function readManifestSources(files: readonly string[], stdin: () => string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const f of files) {
    if (f === '-') {
      out.push({ file: 'STDIN', text: stdin() });
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch {
      throw new ConfigError(`the path "${f}" does not exist`);
    }
    if (st.isDirectory()) {
      for (const e of fs
        .readdirSync(f)
        .filter((x) => /\.(ya?ml|json)$/.test(x))
        .sort())
        out.push({ file: path.join(f, e), text: fs.readFileSync(path.join(f, e), 'utf8') });
    } else out.push({ file: f, text: fs.readFileSync(f, 'utf8') });
  }
  return out;
}

export function parseAll(sources: readonly { file: string; text: string }[]): ManifestObject[] {
  const objs: ManifestObject[] = [];
  for (const s of sources) objs.push(...parseManifests(s.text, s.file));
  if (objs.length === 0) throw new ConfigError('no objects passed to apply');
  return objs;
}

function resourceOf(m: ManifestObject): ResourceInfo {
  const r = resourceOfKind(m.object.apiVersion, m.object.kind);
  if (!r)
    throw new ConfigError(
      `${m.file}:${m.line}: no matches for kind "${m.object.kind}" in version "${m.object.apiVersion}"`,
    );
  return r;
}

function targetNs(r: ResourceInfo, m: ManifestObject, ns?: string): string | undefined {
  return r.namespaced ? (m.object.metadata.namespace ?? ns ?? 'default') : undefined;
}

/** True when every field of `want` is present and equal in `have` (lists compared element-wise). */
export function contains(have: unknown, want: unknown): boolean {
  if (want === null || typeof want !== 'object')
    return have === want || (typeof want === 'number' && String(have) === String(want));
  if (Array.isArray(want))
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  if (have === null || typeof have !== 'object') return false;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) =>
    contains((have as Record<string, unknown>)[k], v),
  );
}

function withLastApplied(obj: KubeObject): KubeObject {
  const annotations = { ...(obj.metadata.annotations ?? {}), [LAST_APPLIED]: `${JSON.stringify(obj)}\n` };
  return { ...obj, metadata: { ...obj.metadata, annotations } };
}

export async function applyObjects(
  client: KubeClient,
  objs: ManifestObject[],
  mode: 'apply' | 'create',
  ns: string | undefined,
  say: (l: string) => void,
): Promise<void> {
  const resolved = objs.map((m) => ({ m, r: resourceOf(m) }));
  for (const { m, r } of resolved) {
    const name = m.object.metadata.name;
    const namespace = targetNs(r, m, ns);
    const body = { ...m.object, metadata: { ...m.object.metadata, ...(namespace ? { namespace } : {}) } };
    if (mode === 'create' || !name) {
      const created = await client.create<KubeObject>(
        collectionPath(r, namespace),
        mode === 'apply' ? withLastApplied(body) : body,
      );
      say(`${nameOf(r, created.metadata.name ?? name ?? '')} created`);
      continue;
    }
    let live: KubeObject | undefined;
    try {
      live = await client.get<KubeObject>(objectPath(r, name, namespace));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.httpStatus === 404)) throw err;
    }
    if (!live) {
      await client.create(collectionPath(r, namespace), withLastApplied(body));
      say(`${nameOf(r, name)} created`);
    } else if (contains(live, body)) {
      say(`${nameOf(r, name)} unchanged`);
    } else {
      await client.patch(objectPath(r, name, namespace), withLastApplied(body));
      say(`${nameOf(r, name)} configured`);
    }
  }
}

export interface DeleteTarget {
  r: ResourceInfo;
  name: string;
  namespace?: string;
}

export function targetsOf(objs: ManifestObject[], ns?: string): DeleteTarget[] {
  return objs.map((m) => {
    const r = resourceOf(m);
    if (!m.object.metadata.name) throw new ConfigError(`${m.file}:${m.line}: metadata.name is required to delete`);
    return { r, name: m.object.metadata.name, namespace: targetNs(r, m, ns) };
  });
}

export function namedTarget(kind: string, name: string, ns?: string): DeleteTarget {
  const r = resolveResource(kind);
  return { r, name, namespace: r.namespaced ? (ns ?? 'default') : undefined };
}

export interface DeleteOptions {
  wait?: boolean;
  gracePeriod?: number;
  ignoreNotFound?: boolean;
  timeoutMs?: number;
}

export async function deleteTargets(
  client: KubeClient,
  targets: DeleteTarget[],
  o: DeleteOptions,
  say: (l: string) => void,
): Promise<void> {
  const deleted: DeleteTarget[] = [];
  for (const t of targets) {
    const body =
      o.gracePeriod !== undefined
        ? { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: o.gracePeriod }
        : undefined;
    try {
      await client.delete(objectPath(t.r, t.name, t.namespace), body);
    } catch (err) {
      if (o.ignoreNotFound && err instanceof KubeApiError && err.httpStatus === 404) continue;
      throw err;
    }
    say(`${t.r.kind.toLowerCase()}${t.r.group ? `.${t.r.group}` : ''} "${t.name}" deleted`);
    deleted.push(t);
  }
  if (o.wait === false) return;
  for (const t of deleted) {
    await pollUntil(
      async () => {
        try {
          await client.get(objectPath(t.r, t.name, t.namespace));
          return false;
        } catch (err) {
          if (err instanceof KubeApiError && err.httpStatus === 404) return true;
          throw err;
        }
      },
      {
        timeoutMs: o.timeoutMs ?? 120_000,
        intervalMs: 250,
        what: `${t.r.kind.toLowerCase()} "${t.name}" to be deleted`,
      },
    );
  }
}
