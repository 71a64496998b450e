// What every controller is given: the API operations (the same code paths as HTTP requests), the
// injected clock for its timers, wall-clock time for timestamps, randomness, a logger — and a `Loop`
// that runs a controller's level-triggered reconcile soon after any change it watches (bursts coalesce
// into one run) and every `resyncMs`. Reconciles never throw out: a failed write is retried next run.
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { resourceForKind, type ResourceInfo } from '../../k8s/resources.js';
import type { ApiDelete } from '../api-delete.js';
import type { ApiOps } from '../api-ops.js';
import type { ObjectStore, StoreEvent } from '../store.js';

export interface ControllerContext {
  ops: ApiOps;
  deleter: ApiDelete;
  store: ObjectStore;
  clock: Clock;
  /** Wall-clock ms since the epoch, for timestamps and ages. */
  now: () => number;
  logger: Logger;
}

export const R = {
  pods: resourceForKind('v1', 'Pod')!,
  nodes: resourceForKind('v1', 'Node')!,
  namespaces: resourceForKind('v1', 'Namespace')!,
  events: resourceForKind('v1', 'Event')!,
  deployments: resourceForKind('apps/v1', 'Deployment')!,
  replicasets: resourceForKind('apps/v1', 'ReplicaSet')!,
  services: resourceForKind('v1', 'Service')!,
  endpoints: resourceForKind('v1', 'Endpoints')!,
  endpointslices: resourceForKind('discovery.k8s.io/v1', 'EndpointSlice')!,
} satisfies Record<string, ResourceInfo>;

export class Loop {
  private scheduled: TimerHandle | undefined;
  private periodic: TimerHandle | undefined;
  private stopWatch: (() => void) | undefined;
  private stopped = false;
  /** How long the last reconcile took (ms), for the pause before the next. */
  private lastRunMs = 0;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly name: string,
    private readonly reconcile: () => void,
    private readonly watches: ResourceInfo[],
    private readonly resyncMs: number,
    /** Changes within this many ms are handled in one run (0 in virtual-time tests). */
    private readonly coalesceMs = 0,
    /** Changes this loop need not wake for (e.g. heartbeat-filter.ts: Node heartbeats). */
    private readonly skip: (e: StoreEvent) => boolean = () => false,
  ) {}

  start(): this {
    this.stopWatch = this.ctx.store.watch(
      (e: StoreEvent) => this.watches.includes(e.resource) && !this.skip(e),
      this.ctx.store.resourceVersion(),
      () => this.kick(),
    );
    this.kick();
    this.schedulePeriodic();
    return this;
  }

  private schedulePeriodic(): void {
    this.periodic = this.ctx.clock.setTimeout(() => {
      if (this.stopped) return;
      this.kick();
      this.schedulePeriodic();
    }, this.resyncMs);
  }

  kick(): void {
    if (this.scheduled || this.stopped) return;
    // A loop whose reconcile takes d ms waits at least 2·d before the next one, so that during a burst
    // (100 pods starting) no controller takes more than a third of the CPU the API needs to answer.
    const delay = this.coalesceMs > 0 ? Math.max(this.coalesceMs, 2 * this.lastRunMs) : this.coalesceMs;
    this.scheduled = this.ctx.clock.setTimeout(() => {
      this.scheduled = undefined;
      if (this.stopped) return;
      const t0 = performance.now();
      try {
        this.reconcile();
      } catch (err) {
        this.ctx.logger.warn({ controller: this.name, err: String(err) }, 'reconcile failed; retrying');
      }
      this.lastRunMs = performance.now() - t0;
    }, delay);
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
    if (this.scheduled) this.ctx.clock.clearTimeout(this.scheduled);
    if (this.periodic) this.ctx.clock.clearTimeout(this.periodic);
  }
}

/** Runs a write; a Conflict or NotFound (another writer got there first) is left for the next run. */
export function attempt(ctx: ControllerContext, what: string, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    ctx.logger.debug({ what, err: String(err) }, 'controller write failed');
    return false;
  }
}
