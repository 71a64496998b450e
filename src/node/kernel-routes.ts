// Kernel routes that follow membership: one route per remote subnet into the TUN device, changed
// in the order the events came, so that a quick remove-then-add (or add-then-remove) of the same
// subnet ends in the right state. Changes queued while an earlier one runs go together into one
// batch (commands.batch: one `ip -batch` process instead of one per route, which is what lets a
// 100-node lab start: 99 routes per node); a batch that fails is retried one change at a time, so
// each failed change is logged and the queue goes on; nothing here throws. The commands themselves
// are injected (node/kernel.ts in a running node, a recorder in tests).
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Logger } from '../util/logger.js';
import type { KernelRouteChange } from './peer-events.js';

/** S: the subnet type (Cidr; Cidr6 for the IPv6 routes of a dual-stack node). */
export interface KernelRouteCommands<S = Cidr> {
  /** `via`: the peer's public IP, for a direct route (host-gw, vxlan DirectRouting). */
  add(subnet: S, via?: Ipv4): Promise<void>;
  remove(subnet: S): Promise<void>;
  /** Applies several changes in order in one go; rejects if any failed (they are then retried one by one). */
  batch?(changes: ReadonlyArray<KernelRouteChange<S>>): Promise<void>;
}

export class KernelRouteQueue<S extends { toString(): string } = Cidr> {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly commands: KernelRouteCommands<S>,
    private readonly log: Pick<Logger, 'error'>,
  ) {}

  private pending: Array<KernelRouteChange<S>> = [];

  /** Queues a change behind every change queued before it. */
  push(change: KernelRouteChange<S>): void {
    this.pending.push(change);
    if (this.pending.length > 1) return; // the run already scheduled takes this one too
    this.chain = this.chain.then(() => this.runPending());
  }

  private async runPending(): Promise<void> {
    const changes = this.pending;
    this.pending = [];
    if (this.commands.batch && changes.length > 1) {
      try {
        await this.commands.batch(changes);
        return;
      } catch {
        // retried one by one below, so each failure is logged with its subnet
      }
    }
    for (const change of changes) {
      try {
        if (change.op === 'add') await this.commands.add(change.subnet, change.via);
        else await this.commands.remove(change.subnet);
      } catch (err) {
        this.log.error(
          { err: (err as Error).message, subnet: change.subnet.toString() },
          'could not change kernel route',
        );
      }
    }
  }

  /** Resolves when every change queued so far has been tried. */
  drained(): Promise<void> {
    return this.chain;
  }
}
