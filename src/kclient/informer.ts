// A list-watch cache of one collection for in-lab components (client-go's informer, small), shared by
// kube-proxy and the NetworkPolicy enforcer: lists, then watches from the list's resourceVersion, keeps
// the objects by namespace/name and calls onChange after every list and every change. A watch the server
// ends is re-watched; an ERROR event (410 Expired) or a refused watch relists; an unreachable API is
// retried with a doubling back-off (retryMs up to 16×) whose jitter comes from the injected rng, so a
// hundred nodes do not retry in step. Waits go through the injected clock. Never throws; stop() ends it.
import type { ApiClient } from './api-client.js';
import type { KubeList, KubeObject, WatchEvent } from '../k8s/types.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';

export interface InformerLogger {
  warn(msg: string): void;
}

export interface InformerOptions {
  api: Pick<ApiClient, 'request' | 'watch'>;
  /** The collection, e.g. /api/v1/services. */
  path: string;
  onChange: () => void;
  rng: Rng;
  clock: Clock;
  log: InformerLogger;
  /** The first retry's wait; later ones double up to 16×, each jittered to 75–125 %. */
  retryMs?: number;
}

/** The wait before retry number `failures` (1, 2, …): retryMs · 2^min(4, failures−1) · [0.75, 1.25). */
export function backoffMs(retryMs: number, failures: number, rng: Rng): number {
  return retryMs * 2 ** Math.min(4, Math.max(0, failures - 1)) * (0.75 + rng.next() / 2);
}

export class Informer<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private synced = false;

  constructor(private readonly o: InformerOptions) {}

  /** True once the first list is in. */
  get hasSynced(): boolean {
    return this.synced;
  }

  get started(): boolean {
    return this.loop !== undefined;
  }

  list(): T[] {
    return [...this.items.values()];
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private key(o: KubeObject): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = this.o.clock.setTimeout(resolve, ms);
      signal.addEventListener('abort', () => (this.o.clock.clearTimeout(t), resolve()), { once: true });
    });
  }

  private async run(): Promise<void> {
    const { api, path } = this.o;
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const list = await api.request<KubeList<T>>('GET', path);
        if (list.status !== 200) throw new Error(`list ${path}: HTTP ${list.status}`);
        failures = 0;
        this.items.clear();
        for (const o of list.body.items ?? []) this.items.set(this.key(o), o);
        this.synced = true;
        this.o.onChange();
        let rv = list.body.metadata?.resourceVersion ?? '0';
        while (!signal.aborted) {
          let expired = false;
          const sep = path.includes('?') ? '&' : '?';
          const w = await api.watch(
            `${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=300`,
            (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                expired = true;
                return;
              }
              const obj = e.object as T;
              if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
              if (e.type === 'BOOKMARK') return;
              if (e.type === 'DELETED') this.items.delete(this.key(obj));
              else this.items.set(this.key(obj), obj);
              this.o.onChange();
            },
            signal,
          );
          if (expired || w.status !== 200) break;
        }
      } catch (err) {
        if (!signal.aborted) this.o.log.warn(`${path}: ${(err as Error).message}; retrying`);
        failures++;
      }
      if (!signal.aborted) await this.sleep(backoffMs(this.o.retryMs ?? 500, failures, this.o.rng));
    }
  }
}
