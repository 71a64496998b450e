// The object store of the lab's control plane: every API object by resource/namespace/name, a global
// resourceVersion counter (persisted, always increasing), uid/creationTimestamp/generation/generateName,
// optimistic concurrency (Conflict on a stale resourceVersion) and watches from a resourceVersion over
// a bounded history window (older → 410 Expired, as kube does). Optionally persisted (store-log.ts).
// Methods throw KubeApiError (NotFound, AlreadyExists, Conflict, Expired). Objects handed out are copies,
// except a watch event's object: one copy per event, shared by every listener whose filter takes it
// (a 100-node lab has ~700 watches; a copy per listener made every heartbeat cost 700 deep copies), so
// listeners must not modify it.
import crypto from 'node:crypto';
import { KubeApiError } from '../util/errors.js';
import { generatedName } from '../k8s/names.js';
import { sameIgnoringResourceVersion, sameJson } from '../k8s/same-json.js';
import { qualifiedResource, type ResourceInfo } from '../k8s/resources.js';
import type { KubeObject, WatchEvent } from '../k8s/types.js';
import { StoreLog } from './store-log.js';

export interface StoreOptions {
  /** Persist under this directory (the lab's controlplane/); in memory when absent. */
  dir?: string;
  /** Wall-clock milliseconds since the epoch (for timestamps). */
  now: () => number;
  random: () => number;
  /** How many past events a watch may resume from (default 10000). */
  historySize?: number;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  resource: ResourceInfo;
  object: KubeObject;
  rv: number;
}

export type Listener = (e: StoreEvent) => void;

const keyOf = (r: ResourceInfo, ns: string | undefined, name: string): string =>
  `${r.group}/${r.plural}/${r.namespaced ? (ns ?? '') : ''}/${name}`;
const prefixOf = (r: ResourceInfo, ns?: string): string =>
  `${r.group}/${r.plural}/${ns !== undefined && r.namespaced ? `${ns}/` : ''}`;

const copy = <T>(o: T): T => structuredClone(o);

export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly resources = new Map<string, ResourceInfo>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<{ filter: (e: StoreEvent) => boolean; listener: Listener }>();
  private readonly log: StoreLog | undefined;
  private rv = 0;
  /** Watches may resume from any resourceVersion ≥ this. */
  private oldestResumable = 0;
  private readonly historySize: number;
  private readonly lines = new WeakMap<KubeObject, Map<StoreEventType, string>>();
  private readonly collator = new Intl.Collator();

  constructor(
    private readonly opts: StoreOptions,
    resources: readonly ResourceInfo[],
  ) {
    this.historySize = opts.historySize ?? 10_000;
    for (const r of resources) this.resources.set(`${r.group}/${r.plural}`, r);
    if (opts.dir) {
      this.log = new StoreLog(opts.dir);
      const state = this.log.open();
      for (const [k, o] of state.objects) this.objects.set(k, o);
      this.rv = state.resourceVersion;
    }
    this.oldestResumable = this.rv;
  }

  close(): void {
    this.log?.close();
    this.listeners.clear();
  }

  resourceVersion(): string {
    return String(this.rv);
  }

  private notFound(r: ResourceInfo, name: string): KubeApiError {
    return new KubeApiError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, {
      name,
      group: r.group,
      kind: r.plural,
    });
  }

  get(r: ResourceInfo, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.objects.get(keyOf(r, ns, name));
    return o ? copy(o) : undefined;
  }

  mustGet(r: ResourceInfo, ns: string | undefined, name: string): KubeObject {
    const o = this.get(r, ns, name);
    if (!o) throw this.notFound(r, name);
    return o;
  }

  /**
   * The stored objects themselves (no copies), in list() order, for readers in this process that only
   * read (controllers): copying every object on every reconcile made a 100-pod start quadratic. Callers
   * must not modify them (copy first: `structuredClone`, or `get()`).
   */
  scan(r: ResourceInfo, ns?: string): readonly KubeObject[] {
    const prefix = prefixOf(r, ns);
    const all = prefixOf(r).length; // keys are <prefix of the resource><namespace>/<name>: sort by that tail
    const found: [string, KubeObject][] = [];
    for (const [k, o] of this.objects) if (k.startsWith(prefix)) found.push([k.slice(all), o]);
    found.sort((a, b) => this.collator.compare(a[0], b[0]));
    return found.map((e) => e[1]);
  }

  /** Objects of a resource (of one namespace, or all), sorted by namespace and name as etcd lists them. */
  list(r: ResourceInfo, ns?: string): { items: KubeObject[]; resourceVersion: string } {
    return { items: this.scan(r, ns).map(copy), resourceVersion: String(this.rv) };
  }

  private commit(type: StoreEventType, r: ResourceInfo, key: string, obj: KubeObject): KubeObject {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, obj);
    this.log?.append(this.rv, key, type === 'DELETED' ? null : obj);
    const ev: StoreEvent = { type, resource: r, object: obj, rv: this.rv };
    this.history.push(ev);
    if (this.history.length > this.historySize) {
      const dropped = this.history.shift()!;
      this.oldestResumable = dropped.rv;
    }
    let shared: StoreEvent | undefined;
    for (const l of [...this.listeners]) {
      try {
        if (!l.filter(ev)) continue;
        shared ??= { ...ev, object: copy(obj) };
        l.listener(shared);
      } catch {
        // a listener's failure is its own; the store stays consistent
      }
    }
    return copy(obj);
  }

  /** Stores a new object: name from generateName if needed, uid, creationTimestamp, generation 1. */
  create(r: ResourceInfo, input: KubeObject): KubeObject {
    const obj = copy(input);
    const m = obj.metadata;
    if (!r.namespaced) delete m.namespace;
    if (!m.name && m.generateName) {
      for (let i = 0; i < 10 && (!m.name || this.objects.has(keyOf(r, m.namespace, m.name))); i++) {
        m.name = generatedName(m.generateName, this.opts.random);
      }
    }
    const key = keyOf(r, m.namespace, m.name!);
    if (this.objects.has(key)) {
      throw new KubeApiError(409, 'AlreadyExists', `${qualifiedResource(r)} "${m.name}" already exists`, {
        name: m.name,
        group: r.group,
        kind: r.plural,
      });
    }
    m.uid = crypto.randomUUID();
    m.creationTimestamp = new Date(this.opts.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    m.generation = 1;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    return this.commit('ADDED', r, key, obj);
  }

  /**
   * Replaces an object. A resourceVersion in `next` must match (Conflict otherwise). uid and
   * creationTimestamp are kept; generation is bumped when `spec` changed. An object whose
   * deletionTimestamp is set and whose finalizers are empty is removed instead.
   */
  update(r: ResourceInfo, next: KubeObject): KubeObject {
    const m = next.metadata;
    const key = keyOf(r, m.namespace, m.name!);
    const cur = this.objects.get(key);
    if (!cur) throw this.notFound(r, m.name!);
    if (m.resourceVersion && m.resourceVersion !== cur.metadata.resourceVersion) {
      throw new KubeApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedResource(r)} "${m.name}": ` +
          'the object has been modified; please apply your changes to the latest version and try again',
        { name: m.name, group: r.group, kind: r.plural },
      );
    }
    const obj = copy(next);
    obj.metadata.uid = cur.metadata.uid;
    obj.metadata.creationTimestamp = cur.metadata.creationTimestamp;
    if (!r.namespaced) delete obj.metadata.namespace;
    if (cur.metadata.deletionTimestamp) {
      obj.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      obj.metadata.deletionGracePeriodSeconds ??= cur.metadata.deletionGracePeriodSeconds;
    }
    const specOf = (o: KubeObject): unknown => (o as unknown as { spec?: unknown }).spec ?? null;
    obj.metadata.generation = (cur.metadata.generation ?? 1) + (sameJson(specOf(cur), specOf(obj)) ? 0 : 1);
    if (sameIgnoringResourceVersion(obj, cur)) {
      return copy(cur); // no change: no new resourceVersion, no event (as kube)
    }
    if (obj.metadata.deletionTimestamp && !(obj.metadata.finalizers ?? []).length && cur.metadata.finalizers?.length) {
      return this.commit('DELETED', r, key, obj);
    }
    return this.commit('MODIFIED', r, key, obj);
  }

  /** Removes an object now (finalizers are the API layer's business). */
  remove(r: ResourceInfo, ns: string | undefined, name: string): KubeObject {
    const key = keyOf(r, ns, name);
    const cur = this.objects.get(key);
    if (!cur) throw this.notFound(r, name);
    return this.commit('DELETED', r, key, copy(cur));
  }

  /**
   * Calls `listener` for every change from now on, after replaying the events after `fromRV` (kube's
   * watch from a resourceVersion). `fromRV` undefined or "0": replays every current object as ADDED first.
   * Throws KubeApiError 410 Expired when `fromRV` is older than the history window.
   */
  watch(filter: (e: StoreEvent) => boolean, fromRV: string | undefined, listener: Listener): () => void {
    const replay: StoreEvent[] = [];
    if (fromRV === undefined || fromRV === '' || fromRV === '0') {
      for (const [k, o] of this.objects) {
        const r = this.resources.get(k.split('/').slice(0, 2).join('/'));
        if (r) replay.push({ type: 'ADDED', resource: r, object: copy(o), rv: Number(o.metadata.resourceVersion) });
      }
      replay.sort((a, b) => a.rv - b.rv);
    } else {
      const from = Number(fromRV);
      if (!Number.isFinite(from)) throw new KubeApiError(400, 'BadRequest', `invalid resourceVersion "${fromRV}"`);
      if (from < this.oldestResumable) {
        throw new KubeApiError(410, 'Expired', `too old resource version: ${from} (${this.oldestResumable})`);
      }
      for (const e of this.history) if (e.rv > from) replay.push({ ...e, object: copy(e.object) });
    }
    const l = { filter, listener };
    this.listeners.add(l);
    for (const e of replay) if (filter(e)) listener(e);
    return () => {
      this.listeners.delete(l);
    };
  }

  /**
   * `{"type":…,"object":…}` plus a newline for a watch event's object, encoded once per object and type
   * and shared by every watch that streams it (the object is the one shared event copy).
   */
  watchLine(type: StoreEventType, object: KubeObject): string {
    let byType = this.lines.get(object);
    if (!byType) this.lines.set(object, (byType = new Map<StoreEventType, string>()));
    let line = byType.get(type);
    if (line === undefined) byType.set(type, (line = JSON.stringify({ type, object }) + '\n'));
    return line;
  }

  /** A watch event as the API streams it. */
  static toWatchEvent(e: StoreEvent): WatchEvent {
    return { type: e.type, object: e.object };
  }
}
