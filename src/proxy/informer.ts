// A list-watch cache of one resource for in-lab components (client-go's informer, small): lists,
// then watches from the list's resourceVersion, keeps the objects by namespace/name, calls onChange
// after every list and event; a broken watch re-watches, a 410 or an unreachable API relists after
// a short wait, until stop(). Never throws; the API client is injected.
import type { ApiClient } from '../kclient/api-client.js';
import type { KubeList, KubeObject, WatchEvent } from '../k8s/types.js';

export class Informer<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  synced = false;

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly retryMs = 500,
  ) {}

  list(): T[] {
    return [...this.items.values()];
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private key(o: KubeObject): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const res = await this.api.request<KubeList<T>>('GET', this.path);
        if (res.status !== 200) throw new Error(`list ${this.path}: ${res.status}`);
        failures = 0;
        this.items.clear();
        for (const o of res.body.items) this.items.set(this.key(o), o);
        this.synced = true;
        this.onChange();
        let rv = res.body.metadata.resourceVersion ?? '';
        while (!signal.aborted) {
          let expired = false;
          const sep = this.path.includes('?') ? '&' : '?';
          const r = await this.api.watch(
            `${this.path}${sep}watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`,
            (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                expired = true;
                return;
              }
              const o = e.object as T;
              rv = o.metadata?.resourceVersion ?? rv;
              if (e.type === 'BOOKMARK') return;
              if (e.type === 'DELETED') this.items.delete(this.key(o));
              else this.items.set(this.key(o), o);
              this.onChange();
            },
            signal,
          );
          if (expired || r.status !== 200) break;
        }
      } catch {
        // the API is down or restarting: relist below
        failures++;
      }
      // back off while the API keeps failing (doubling to 16×, with jitter): a hundred nodes retrying in
      // step would keep a busy control plane from ever catching up
      const delay = this.retryMs * 2 ** Math.min(4, Math.max(0, failures - 1)) * (0.75 + Math.random() / 2);
      if (!signal.aborted) await new Promise((r) => setTimeout(r, delay));
    }
  }
}
