// How a running `flannelette node` ends: SIGINT/SIGTERM stop the node (TUN device, routes, rules,
// socket) and exit 0; SIGHUP re-reads the cluster file; a subnet lease lost in etcd (deleted,
// expired, or another node's PublicIP written into our key) stops the node the same way and exits
// LEASE_LOST_EXIT_CODE, after etcd membership logged flannel's "Lease has been revoked. Shutting
// down daemon." (flanneld itself then exits 0 after "Exiting cleanly..."; a non-zero status lets a
// supervisor such as systemd's Restart=on-failure start the node again, with a new lease).
// A loss reported before the node is running is kept and acted on as soon as it is.
import type { Membership } from '../control/membership.js';
import type { Logger } from '../util/logger.js';
import { fail } from './exit.js';

/** The exit status of a node whose subnet lease was lost or taken over. */
export const LEASE_LOST_EXIT_CODE = 1;

export interface NodeLifecycle {
  /** For etcd membership's onLeaseLost. */
  onLeaseLost(reason: string): void;
  /** The node is up: signals and a lost lease stop it with `stopNode`. */
  running(stopNode: () => Promise<void>, membership: Membership): void;
}

export function nodeLifecycle(log: Logger): NodeLifecycle {
  let stopNode: (() => Promise<void>) | undefined;
  let lostReason: string | undefined;
  let ending = false;
  const end = (code: number): void => {
    if (ending || !stopNode) return;
    ending = true;
    stopNode().then(
      () => process.exit(code),
      (err) => fail(err),
    );
  };
  const endLost = (reason: string): void => {
    log.info({ reason, exitCode: LEASE_LOST_EXIT_CODE }, 'stopping: the subnet lease is lost');
    end(LEASE_LOST_EXIT_CODE);
  };
  return {
    onLeaseLost(reason) {
      lostReason ??= reason;
      if (stopNode) endLost(reason);
    },
    running(stop, membership) {
      stopNode = stop;
      const onSignal = (signal: string): void => {
        log.info({ signal }, 'stopping');
        end(0);
      };
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGHUP', () => {
        const m = membership as { reload?: () => boolean };
        if (m.reload) log.info({ applied: m.reload() }, 'SIGHUP: cluster file re-read');
      });
      if (lostReason !== undefined) endLost(lostReason);
    },
  };
}
