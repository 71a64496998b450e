// Keeps a ClusterZone current from the API, as CoreDNS's kubernetes plugin does with informers: for
// Services (core/v1), EndpointSlices (discovery.k8s.io/v1) and Pods (core/v1), list, replace the zone's
// objects of that kind, then watch from the list's resourceVersion; a watch that ends is resumed, one
// that reports ERROR (410 Gone) or a failed request starts over with a list after `retryMs`; a kind the API
// does not serve (404) counts as listed and empty, and is asked for again every 5 × `retryMs`. `synced`
// resolves once all three kinds have been listed. stop() aborts the watches. Failures are logged, not
// thrown.
import type { ApiClient } from '../kclient/api-client.js';
import type { WatchEvent } from '../k8s/types.js';
import type { Logger } from '../util/logger.js';
import type { ClusterZone, ZoneKind } from './zone.js';

export const ZONE_SOURCES: readonly { kind: ZoneKind; path: string }[] = [
  { kind: 'Service', path: '/api/v1/services' },
  { kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  { kind: 'Pod', path: '/api/v1/pods' },
];

interface ListBody {
  metadata?: { resourceVersion?: string };
  items?: unknown[];
}

export class ZoneFeed {
  private readonly abort = new AbortController();
  private readonly listed = new Set<ZoneKind>();
  private markSynced: () => void = () => undefined;
  readonly synced: Promise<void>;

  constructor(
    private readonly api: ApiClient,
    private readonly zone: ClusterZone,
    private readonly log: Logger,
    private readonly retryMs = 1000,
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
    zone.synced = false;
  }

  get isSynced(): boolean {
    return this.listed.size === ZONE_SOURCES.length;
  }

  start(): void {
    for (const s of ZONE_SOURCES) void this.loop(s.kind, s.path);
  }

  stop(): void {
    this.abort.abort();
  }

  private markListed(kind: ZoneKind): void {
    this.listed.add(kind);
    if (this.isSynced) {
      this.zone.synced = true;
      this.markSynced();
    }
  }

  private async loop(kind: ZoneKind, path: string): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const list = await this.api.request<ListBody>('GET', path);
        if (list.status === 404) {
          // The API does not serve this kind (yet): nothing of it exists; look again later.
          this.zone.replace(kind, []);
          this.markListed(kind);
          await sleep(this.retryMs * 5, signal);
          continue;
        }
        if (list.status !== 200) throw new Error(`HTTP ${list.status}`);
        this.zone.replace(kind, list.body.items ?? []);
        this.markListed(kind);
        let rv = list.body.metadata?.resourceVersion ?? '0';
        for (;;) {
          let gone = false;
          const w = await this.api.watch(
            `${path}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=300`,
            (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                gone = true;
                return;
              }
              const o = e.object as { metadata?: { resourceVersion?: string } } | undefined;
              if (o?.metadata?.resourceVersion) rv = o.metadata.resourceVersion;
              if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED')
                this.zone.apply(kind, e.type, e.object);
            },
            signal,
          );
          if (signal.aborted || gone || w.status !== 200) break;
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn(`dns: ${kind}s from ${path}: ${(err as Error).message}; retrying`);
      }
      if (!signal.aborted) await sleep(this.retryMs, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
