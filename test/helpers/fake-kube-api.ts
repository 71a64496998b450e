// A TEST DOUBLE of the Kubernetes API server, for kubelet tests until the real control plane is merged:
// the few endpoints a kubelet uses, over a unix socket with a bearer token, in memory. Nodes (GET, POST,
// merge PATCH of the object and of /status), pods (list with fieldSelector spec.nodeName, watch streams,
// merge PATCH of /status, DELETE: with a grace period it only sets deletionTimestamp, with
// gracePeriodSeconds 0 it removes the pod), events (POST, merge PATCH). It is not a model of the
// apiserver beyond that; the end-to-end tests use `flannelette controlplane`.
import fs from 'node:fs';
import http from 'node:http';
import type { Event, KubeObject, Node, Pod } from '../../src/k8s/types.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON merge patch (RFC 7386) applied in place. */
function merge<T extends object>(target: T, patch: Obj): T {
  const t = target as Obj;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete t[k];
    else if (isObj(v) && isObj(t[k])) {
      merge(t[k], v);
    } else t[k] = structuredClone(v);
  }
  return target;
}

/** The body of a DELETE: meta/v1 DeleteOptions, the fields read here. */
interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string };
}

export class FakeKubeApi {
  readonly nodes = new Map<string, Node>();
  readonly pods = new Map<string, Pod>(); // ns/name
  readonly events: Event[] = [];
  readonly requests: { method: string; path: string; body?: Obj }[] = [];
  private rv = 1;
  private readonly watchers = new Set<{ node: string; res: http.ServerResponse }>();
  private readonly history: { rv: number; type: string; pod: Pod }[] = [];
  private readonly server: http.Server;

  constructor(
    private readonly socket: string,
    private readonly token: string,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  start(): Promise<void> {
    fs.rmSync(this.socket, { force: true });
    return new Promise((r) => this.server.listen(this.socket, () => r()));
  }

  stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** Ends every watch stream (the kubelet must re-watch). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
  }

  private bump<T extends KubeObject>(o: T): T {
    o.metadata.resourceVersion = String(++this.rv);
    return o;
  }

  private notify(type: string, pod: Pod): void {
    this.history.push({ rv: Number(pod.metadata.resourceVersion), type, pod: structuredClone(pod) });
    for (const w of this.watchers) {
      if (pod.spec?.nodeName === w.node) w.res.write(`${JSON.stringify({ type, object: pod })}\n`);
    }
  }

  createPod(pod: Pod): Pod {
    const p = this.bump(structuredClone(pod));
    p.metadata.namespace ??= 'default';
    p.metadata.creationTimestamp ??= new Date().toISOString();
    this.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
    this.notify('ADDED', p);
    return p;
  }

  /** A graceful delete as the apiserver does it: deletionTimestamp + deletionGracePeriodSeconds. */
  deletePod(ns: string, name: string, grace?: number): void {
    const p = this.pods.get(`${ns}/${name}`);
    if (!p) return;
    const g = grace ?? p.spec.terminationGracePeriodSeconds ?? 30;
    if (g === 0) {
      this.pods.delete(`${ns}/${name}`);
      this.notify('DELETED', this.bump(p));
      return;
    }
    p.metadata.deletionTimestamp = new Date(Date.now() + g * 1000).toISOString();
    p.metadata.deletionGracePeriodSeconds = g;
    this.notify('MODIFIED', this.bump(p));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      const body = text ? (JSON.parse(text) as Obj) : undefined;
      const url = new URL(req.url ?? '/', 'http://api');
      this.requests.push({ method: req.method!, path: url.pathname, body });
      const send = (code: number, obj: unknown): void => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      const notFound = (): void =>
        send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      if (req.headers.authorization !== `Bearer ${this.token}`)
        return send(401, { kind: 'Status', code: 401, reason: 'Unauthorized' });
      const p = url.pathname.split('/').filter(Boolean); // api v1 ...
      if (p[2] === 'nodes') {
        const name = p[3];
        if (req.method === 'POST' && !name) {
          const created = body as unknown as Node;
          if (this.nodes.has(created.metadata.name!))
            return send(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
          const n = this.bump(structuredClone(created));
          this.nodes.set(n.metadata.name!, n);
          return send(201, n);
        }
        const n = name ? this.nodes.get(name) : undefined;
        if (!n) return notFound();
        if (req.method === 'GET') return send(200, n);
        if (req.method === 'PATCH') return send(200, this.bump(merge(n, body!)));
      }
      if (p[2] === 'pods' && req.method === 'GET') {
        const node = /^spec\.nodeName=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1] ?? '';
        if (url.searchParams.get('watch') === 'true') {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
          res.flushHeaders();
          const since = Number(url.searchParams.get('resourceVersion') ?? '0');
          for (const h of this.history) {
            if (h.rv > since && h.pod.spec?.nodeName === node)
              res.write(`${JSON.stringify({ type: h.type, object: h.pod })}\n`);
          }
          const w = { node, res };
          this.watchers.add(w);
          res.on('close', () => this.watchers.delete(w));
          return;
        }
        const items = [...this.pods.values()].filter((x) => x.spec.nodeName === node);
        return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (p[2] === 'namespaces' && p[4] === 'pods') {
        const key = `${p[3]}/${p[5]}`;
        const pod = this.pods.get(key);
        if (!pod) return notFound();
        if (req.method === 'PATCH' && p[6] === 'status') {
          merge(pod, body!);
          this.notify('MODIFIED', this.bump(pod));
          return send(200, pod);
        }
        if (req.method === 'DELETE') {
          const opts = body as DeleteOptions | undefined;
          if (opts?.preconditions?.uid && opts.preconditions.uid !== pod.metadata.uid)
            return send(409, { kind: 'Status', code: 409 });
          this.deletePod(p[3], p[5], opts?.gracePeriodSeconds);
          return send(200, pod);
        }
        if (req.method === 'GET') return send(200, pod);
      }
      if (p[2] === 'namespaces' && p[4] === 'events') {
        if (req.method === 'POST') {
          this.events.push(structuredClone(body as unknown as Event));
          return send(201, body);
        }
        const ev = this.events.find((e) => e.metadata.name === p[5]);
        if (!ev) return notFound();
        return send(200, merge(ev, body!));
      }
      notFound();
    });
  }
}
