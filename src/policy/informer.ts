// A list+watch cache of one collection (e.g. /apis/networking.k8s.io/v1/networkpolicies): lists, then
// watches from the list's resourceVersion; an ERROR event (410 Expired), a failed or ended watch relists.
// onChange() is called after the first list and after every change. API outages are retried every
// second until stop(). Never throws.
import type { ApiClient } from '../kclient/api-client.js';
import type { KubeList, KubeObject, WatchEvent } from '../k8s/types.js';

export interface InformerLogger {
  warn(msg: string): void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class Informer<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private synced = false;

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly log: InformerLogger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  list(): T[] {
    return [...this.items.values()];
  }

  private key(o: KubeObject): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  }

  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const list = await this.api.request<KubeList<T>>('GET', this.path);
        if (list.status !== 200) throw new Error(`HTTP ${list.status}`);
        failures = 0;
        this.items.clear();
        for (const o of list.body.items ?? []) this.items.set(this.key(o), o);
        this.synced = true;
        this.onChange();
        let rv = list.body.metadata?.resourceVersion ?? '0';
        for (;;) {
          let gone = false;
          const sep = this.path.includes('?') ? '&' : '?';
          const w = await this.api.watch(
            `${this.path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=300`,
            (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                gone = true;
                return;
              }
              const obj = e.object as T;
              if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
              if (e.type === 'BOOKMARK') return;
              if (e.type === 'DELETED') this.items.delete(this.key(obj));
              else this.items.set(this.key(obj), obj);
              this.onChange();
            },
            signal,
          );
          if (signal.aborted || gone || w.status !== 200) break;
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn(`${this.path}: ${(err as Error).message}; retrying`);
        // back off while the API keeps failing (1 s doubling to 16 s, with jitter)
        failures++;
        await sleep(1000 * 2 ** Math.min(4, failures - 1) * (0.75 + Math.random() / 2), signal);
      }
    }
  }
}
