// Kernel routes that follow membership: one route per remote subnet into the TUN device, changed
// one command at a time in the order the events came, so that a quick remove-then-add (or add-then-
// remove) of the same subnet ends in the right state. A failed change is logged and the queue goes
// on; nothing here throws. The commands themselves are injected (node/kernel.ts in a running node,
// a recorder in tests).
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Logger } from '../util/logger.js';
import type { KernelRouteChange } from './peer-events.js';

export interface KernelRouteCommands {
  /** `via`: the peer's public IP, for a direct route (host-gw, vxlan DirectRouting). */
  add(subnet: Cidr, via?: Ipv4): Promise<void>;
  remove(subnet: Cidr): Promise<void>;
}

export class KernelRouteQueue {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly commands: KernelRouteCommands,
    private readonly log: Pick<Logger, 'error'>,
  ) {}

  /** Queues a change behind every change queued before it. */
  push(change: KernelRouteChange): void {
    this.chain = this.chain.then(async () => {
      try {
        if (change.op === 'add') await this.commands.add(change.subnet, change.via);
        else await this.commands.remove(change.subnet);
      } catch (err) {
        this.log.error(
          { err: (err as Error).message, subnet: change.subnet.toString() },
          'could not change kernel route',
        );
      }
    });
  }

  /** Resolves when every change queued so far has been tried. */
  drained(): Promise<void> {
    return this.chain;
  }
}
