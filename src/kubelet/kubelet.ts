// The kubelet of one lab node: registers its Node and heartbeats it, lists and watches the pods bound
// to it (reconnecting; a 410 relists), runs each with a PodWorker, reports their status (merge PATCH of
// pods/<name>/status when it changes), posts Events, finishes graceful deletions (terminate, then
// DELETE with gracePeriodSeconds 0), removes pods it finds on disk that the API no longer has, and serves
// logs and exec on its socket. Containers outlive the process: a new Kubelet adopts them from stateDir.
// start() throws DeviceError when the kubelet socket cannot be bound; API outages are retried forever.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeList, Pod, PodStatus, WatchEvent } from '../k8s/types.js';
import { ApiClient } from '../kclient/api-client.js';
import { RestartBackoff } from './backoff.js';
import type { KubeletConfig } from './config.js';
import { attempts, readAttempt, stopContainer } from './containers.js';
import { EventRecorder } from './events.js';
import { detectHost, shimCommand } from './host.js';
import { knownImages, resolveImage, type ResolvedImage } from './images.js';
import { isDockerPod, resolveDockerImage } from './docker-runtime.js';
import { nodeConditions, nodeObject } from './node-object.js';
import { PodWorker } from './pod-worker.js';
import { PodRuntime } from './runtime.js';
import { KubeletServer } from './server.js';
import { fetchServiceEnv } from './service-env.js';

const readyOf = (s: PodStatus | undefined): string | undefined =>
  s?.conditions?.find((c) => c.type === 'Ready')?.status;

const FAST_TICK_MS = 250;
const SLOW_TICK_MS = 1000;
const SLOW_AFTER = 8;

export interface KubeletLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

// Node status goes as a strategic merge patch (conditions merge by type), as the real kubelet sends it, so
// conditions others set on the Node (flannel's NetworkUnavailable) stay.
const SMP = 'application/strategic-merge-patch+json';

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class Kubelet {
  readonly runtime: PodRuntime;
  readonly api: ApiClient;
  readonly events: EventRecorder;
  private readonly workers = new Map<string, PodWorker>();
  private readonly lastSent = new Map<string, string>();
  private readonly deleting = new Set<string>();
  private readonly abort = new AbortController();
  private readonly server: KubeletServer;
  private readonly backoff: RestartBackoff;
  private readonly started = new Date().toISOString();
  private listedOnce = false;
  private ticking = false;
  private timers: NodeJS.Timeout[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  /** Ticks in a row in which no pod's status changed (SLOW_AFTER of them: tick every SLOW_TICK_MS). */
  private quietTicks = 0;
  private loops: Promise<void>[] = [];

  constructor(
    readonly cfg: KubeletConfig,
    private readonly log: KubeletLogger,
  ) {
    const api = {
      socketDir: path.dirname(cfg.apiSocket),
      socketName: path.basename(cfg.apiSocket),
      tokenFile: cfg.tokenFile,
    };
    this.runtime = new PodRuntime(
      cfg,
      { ...detectHost(), api },
      shimCommand(),
      cfg.clusterDNS ?? [],
      cfg.clusterDomain,
      (t) => log.info(`cni: ${t.trim()}`),
    );
    this.api = new ApiClient(cfg.apiSocket, () => fs.readFileSync(cfg.tokenFile, 'utf8').trim());
    this.events = new EventRecorder(this.api, cfg.nodeName);
    this.backoff = new RestartBackoff(cfg.backoffBaseMs ?? 10_000, cfg.backoffCapMs ?? 300_000);
    this.server = new KubeletServer(cfg.socket, {
      pod: (ns, name) => {
        const w = this.find(ns, name);
        if (!w) return undefined;
        return {
          containers: w.pod.spec.containers.map((c) => c.name),
          latest: (c) => w.latest(c),
          previous: (c) => w.previous(c),
          env: (c) => {
            const a = w.latest(c);
            try {
              return (
                JSON.parse(fs.readFileSync(path.join(a!.dir, 'container.json'), 'utf8')) as {
                  env: Record<string, string>;
                }
              ).env;
            } catch {
              return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
            }
          },
        };
      },
      podList: () => ({
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: {},
        items: [...this.workers.values()].map((w) => w.pod),
      }),
    });
  }

  find(ns: string, name: string): PodWorker | undefined {
    for (const w of this.workers.values()) {
      if ((w.pod.metadata.namespace ?? 'default') === ns && w.pod.metadata.name === name) return w;
    }
    return undefined;
  }

  async start(): Promise<void> {
    fs.mkdirSync(path.dirname(this.cfg.socket), { recursive: true });
    await this.server.start();
    this.loops.push(this.registerAndHeartbeat(), this.podLoop());
    this.scheduleTick();
    this.log.info(`kubelet ${this.cfg.nodeName}: serving on ${this.cfg.socket}; API at ${this.cfg.apiSocket}`);
  }

  /** Stops the kubelet's loops and server; containers keep running (a new kubelet adopts them). */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.tickTimer);
    await this.server.close();
    await Promise.allSettled(this.loops);
    await this.events.flush();
  }

  private async registerAndHeartbeat(): Promise<void> {
    const signal = this.abort.signal;
    const name = this.cfg.nodeName;
    let registered = false;
    while (!signal.aborted) {
      try {
        if (!registered) {
          registered = await this.register();
        } else {
          const now = new Date().toISOString();
          const r = await this.api.request(
            'PATCH',
            `/api/v1/nodes/${name}/status`,
            { status: { conditions: nodeConditions(now, this.started) } },
            SMP,
          );
          if (r.status === 404) registered = false;
        }
      } catch (err) {
        this.log.warn(`node ${name}: ${(err as Error).message}`);
      }
      await sleep(registered ? (this.cfg.heartbeatMs ?? 2000) : 1000, signal);
    }
  }

  private async register(): Promise<boolean> {
    const name = this.cfg.nodeName;
    const now = new Date().toISOString();
    const node = nodeObject(this.cfg, now);
    node.status!.conditions = nodeConditions(now, this.started);
    const got = await this.api.request('GET', `/api/v1/nodes/${name}`);
    if (got.status === 404) {
      const r = await this.api.request('POST', '/api/v1/nodes', node);
      if (r.status >= 300 && r.status !== 409)
        throw new Error(`registering node: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status < 300) {
        await this.api.request('PATCH', `/api/v1/nodes/${name}/status`, { status: node.status }, SMP);
        this.log.info(`node ${name} registered`);
        return true;
      }
    } else if (got.status !== 200) throw new Error(`reading node: HTTP ${got.status}`);
    const r = await this.api.request(
      'PATCH',
      `/api/v1/nodes/${name}`,
      { metadata: { labels: node.metadata.labels, annotations: node.metadata.annotations }, spec: node.spec },
      'application/merge-patch+json',
    );
    if (r.status >= 300) throw new Error(`updating node: HTTP ${r.status}`);
    await this.api.request('PATCH', `/api/v1/nodes/${name}/status`, { status: node.status }, SMP);
    this.log.info(`node ${name} updated`);
    return true;
  }

  private async podLoop(): Promise<void> {
    const signal = this.abort.signal;
    const selector = encodeURIComponent(`spec.nodeName=${this.cfg.nodeName}`);
    while (!signal.aborted) {
      try {
        const list = await this.api.request<KubeList<Pod>>('GET', `/api/v1/pods?fieldSelector=${selector}`);
        if (list.status !== 200) throw new Error(`listing pods: HTTP ${list.status}`);
        await this.reconcileList(list.body.items ?? []);
        let rv = list.body.metadata?.resourceVersion ?? '0';
        for (;;) {
          let gone = false;
          const w = await this.api.watch(
            `/api/v1/pods?fieldSelector=${selector}&watch=true&allowWatchBookmarks=true` +
              `&resourceVersion=${rv}&timeoutSeconds=300`,
            (e: WatchEvent) => {
              const obj = e.object as Pod;
              if (e.type === 'ERROR') {
                gone = true;
                return;
              }
              if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
              if (e.type !== 'BOOKMARK') this.onPod(e.type, obj);
            },
            signal,
          );
          if (signal.aborted || gone || w.status !== 200) break;
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn(`pods of ${this.cfg.nodeName}: ${(err as Error).message}; retrying`);
        await sleep(1000, signal);
      }
    }
  }

  private async reconcileList(items: Pod[]): Promise<void> {
    const uids = new Set(items.map((p) => p.metadata.uid!));
    for (const p of items) this.onPod('ADDED', p);
    for (const [uid, w] of this.workers) if (!uids.has(uid)) this.onPod('DELETED', w.pod);
    if (!this.listedOnce) {
      this.listedOnce = true;
      for (const meta of this.runtime.listPods()) {
        if (!uids.has(meta.uid)) await this.removeOrphan(meta.uid, meta.name);
      }
    }
  }

  /** A pod on disk the API does not know (deleted while this kubelet was down): stopped and removed. */
  private async removeOrphan(uid: string, name: string): Promise<void> {
    const dir = this.runtime.podDir(uid);
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(dir, 'containers'));
    } catch {
      // no containers
    }
    await Promise.all(
      names.map(async (c) => {
        for (const n of attempts(dir, c)) await stopContainer(readAttempt(dir, c, n), 2000);
      }),
    );
    await this.runtime.removePod(uid);
    this.log.info(`removed pod ${name || uid}: it no longer exists in the API`);
  }

  private onPod(type: WatchEvent['type'], pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.cfg.nodeName) return;
    this.wake();
    let w = this.workers.get(uid);
    if (type === 'DELETED') {
      if (w && !this.deleting.has(uid)) void this.finish(w, false);
      return;
    }
    if (!w) {
      if (this.deleting.has(uid)) return;
      // A finished pod this kubelet has no state for (e.g. it ran before a node was rebuilt) is not rerun.
      const phase = pod.status?.phase;
      if ((phase === 'Succeeded' || phase === 'Failed') && !fs.existsSync(this.runtime.podDir(uid))) {
        if (pod.metadata.deletionTimestamp) void this.deleteFromApi(pod);
        return;
      }
      const inDocker = isDockerPod(pod, this.cfg.defaultRuntime);
      const dockerImages = new Map<string, ResolvedImage>(); // found once, kept: docker is asked per sync otherwise
      const dockerImage = (image: string): ResolvedImage | undefined => {
        const found = dockerImages.get(image) ?? resolveDockerImage(image);
        if (found) dockerImages.set(image, found);
        return found;
      };
      w = new PodWorker(pod, {
        runtime: this.runtime,
        resolve: (image) => (inDocker ? dockerImage(image) : resolveImage(image, this.runtime.host, this.cfg.images)),
        knownImages: inDocker ? ['the images `docker images` lists (nothing is pulled)'] : knownImages(this.cfg.images),
        event: (p, t, reason, message, fieldPath) => this.events.record(p, t, reason, message, fieldPath),
        backoff: this.backoff,
        serviceEnv: (p) => fetchServiceEnv(this.api, p),
      });
      this.workers.set(uid, w);
    } else {
      w.update(pod);
      // Someone else changed the pod's Ready condition (the node lifecycle controller sets it False when
      // the node's heartbeats were late): send our status again, or the pod stays not Ready for good.
      const sent = this.lastSent.get(uid);
      if (sent !== undefined && readyOf(JSON.parse(sent) as PodStatus) !== readyOf(pod.status))
        this.lastSent.delete(uid);
    }
    if (pod.metadata.deletionTimestamp && !this.deleting.has(uid)) void this.finish(w, true);
  }

  /** Graceful termination, teardown, and (for an API deletion) the final DELETE with grace 0. */
  private async finish(w: PodWorker, deleteFromApi: boolean): Promise<void> {
    const uid = w.uid;
    this.deleting.add(uid);
    const p = w.pod;
    const grace = deleteFromApi
      ? (p.metadata.deletionGracePeriodSeconds ?? p.spec.terminationGracePeriodSeconds ?? 30)
      : 2;
    const summary = await w.terminate(grace);
    this.log.info(`pod ${p.metadata.namespace}/${p.metadata.name} stopped: ${JSON.stringify(summary)}`);
    this.workers.delete(uid);
    this.lastSent.delete(uid);
    if (deleteFromApi) await this.deleteFromApi(p);
    this.deleting.delete(uid);
  }

  private async deleteFromApi(p: Pod): Promise<void> {
    const uid = p.metadata.uid;
    for (let i = 0; i < 30 && !this.abort.signal.aborted; i++) {
      try {
        const r = await this.api.request(
          'DELETE',
          `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`,
          { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid } },
        );
        if (r.status < 300 || r.status === 404 || r.status === 409) return;
      } catch {
        // API down: retry
      }
      await sleep(1000, this.abort.signal);
    }
  }

  /**
   * Pods are synced every FAST_TICK_MS while anything changes (a pod event, a status that differs from
   * the last one sent) and every SLOW_TICK_MS once SLOW_AFTER ticks in a row changed nothing: a hundred
   * idle kubelets syncing four times a second cost half a core.
   */
  private scheduleTick(): void {
    if (this.abort.signal.aborted) return;
    clearTimeout(this.tickTimer);
    const ms = this.quietTicks >= SLOW_AFTER ? SLOW_TICK_MS : FAST_TICK_MS;
    this.tickTimer = setTimeout(() => void this.tick().finally(() => this.scheduleTick()), ms);
  }

  /** Back to fast ticks now (a pod was added, changed or deleted). */
  private wake(): void {
    const wasSlow = this.quietTicks >= SLOW_AFTER;
    this.quietTicks = 0;
    if (wasSlow && !this.ticking) this.scheduleTick();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.abort.signal.aborted) return;
    this.ticking = true;
    this.quietTicks++;
    try {
      await Promise.all(
        [...this.workers.values()].map(async (w) => {
          if (this.deleting.has(w.uid)) return;
          await w.sync();
          await this.report(w, w.status());
        }),
      );
    } finally {
      this.ticking = false;
    }
  }

  private async report(w: PodWorker, status: PodStatus): Promise<void> {
    const text = JSON.stringify(status);
    if (this.lastSent.get(w.uid) === text) return;
    this.quietTicks = 0;
    const p = w.pod;
    try {
      const r = await this.api.request(
        'PATCH',
        `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`,
        { status },
        'application/merge-patch+json',
      );
      if (r.status < 300) this.lastSent.set(w.uid, text);
    } catch {
      // API down: the next tick retries
    }
  }
}
