// Keeps this node's subnet lease alive as flanneld's etcd subnet manager does (CompleteLease and
// RenewLease): the key lives on an etcd lease of the lease lifetime (flannel's subnetTTL, 24 h), and
// `renewMargin` before it runs out (--subnet-lease-renew-margin, default 60 min) the key is written
// again with our value on a freshly granted lease; the old lease, which no longer holds the key, is
// revoked. A failed renewal is retried after at most a minute (flannel: "trying again in 1 min"),
// sooner with a short test lifetime (a tenth of it), so an etcd outage shorter than the remaining
// lifetime costs nothing. When the margin is not shorter than the lifetime (only with a test
// --lease-ttl), the lease is renewed when two thirds of its lifetime remain (a 3 s test lease has 2 s of slack).
// The keeper never throws: failures go to onFailed, successes to onRenewed. It mutates the OwnLease
// it keeps (leaseId, expiresAt). Time comes from the injected clock.
import type { Clock, TimerHandle } from '../util/clock.js';
import { oneLine } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { OwnLease } from './subnet-acquire.js';
import type { SubnetRegistry } from './subnet-registry.js';

/** flanneld's default --subnet-lease-renew-margin, minutes. */
export const DEFAULT_RENEW_MARGIN_MINUTES = 60;
const FLANNEL_RETRY_MS = 60_000;

export interface LeaseKeeperOptions {
  registry: SubnetRegistry;
  clock: Clock;
  rng: Rng;
  log: Logger;
  ttlSeconds: number;
  renewMarginMinutes: number;
  retry: BackoffOptions;
  /** Unix ms from the injected clock. */
  wallMs(): number;
  /** Our lease value, written again at each renewal. */
  value(): string;
  onRenewed(): void;
  onFailed(err: unknown): void;
}

/** How long until the renewal of a lease that expires at `expiresAt` (ms; never negative). */
export function renewDelayMs(expiresAt: number, now: number, ttlSeconds: number, marginMinutes: number): number {
  const ttlMs = ttlSeconds * 1000;
  const marginMs = marginMinutes * 60_000;
  const before = marginMs < ttlMs ? marginMs : (ttlMs * 2) / 3; // a test TTL: renewed a third of the way in
  return Math.max(0, expiresAt - now - before);
}

export class LeaseKeeper {
  private own: OwnLease | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.backoff = new Backoff(opts.retry, opts.rng);
  }

  /** Starts (or restarts, after a re-acquisition) keeping `own`. */
  keep(own: OwnLease): void {
    if (this.stopped) return;
    this.own = own;
    const delay = this.delay();
    this.opts.log.info({ subnet: own.subnet.toString() }, `Waiting for ${formatDuration(delay)} to renew lease`);
    this.schedule(delay);
  }

  /** Stops renewing (the lease is lost, or the membership stops). Idempotent. */
  pause(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.own = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.pause();
  }

  private delay(): number {
    const o = this.opts;
    return renewDelayMs(this.own!.expiresAt, o.wallMs(), o.ttlSeconds, o.renewMarginMinutes);
  }

  private schedule(ms: number): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      void this.renew();
    }, ms);
  }

  private async renew(): Promise<void> {
    const own = this.own;
    if (!own || this.stopped) return;
    const o = this.opts;
    const reg = o.registry;
    try {
      const leaseId = await reg.grant(o.ttlSeconds);
      try {
        await reg.put(own.key, o.value(), leaseId);
      } catch (err) {
        await reg.revoke(leaseId).catch(() => undefined);
        throw err;
      }
      if (this.own !== own) {
        await reg.revoke(leaseId).catch(() => undefined); // lost or stopped meanwhile
        return;
      }
      const old = own.leaseId;
      own.leaseId = leaseId;
      own.expiresAt = o.wallMs() + o.ttlSeconds * 1000;
      void reg.revoke(old).catch(() => undefined); // it holds no key any more
      this.backoff.reset();
      o.log.info({ subnet: own.subnet.toString() }, `Lease renewed, new expiration: ${iso(own.expiresAt)}`);
      o.onRenewed();
      this.schedule(this.delay());
    } catch (err) {
      if (this.stopped || this.own !== own) return;
      o.log.error({ error: oneLine(err) }, `Error renewing lease (trying again in 1 min): ${oneLine(err)}`);
      o.onFailed(err);
      const cap = Math.min(FLANNEL_RETRY_MS, Math.max(100, o.ttlSeconds * 100));
      this.schedule(Math.min(this.backoff.next(), cap));
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Go's time.Duration text for whole and fractional seconds: "23h0m0s", "3.333s". */
export function formatDuration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Number(((ms % 60_000) / 1000).toFixed(3));
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
