// `flannelette controlplane --dir DIR [--listen 127.0.0.1:PORT]`: runs a lab's control plane (the
// Kubernetes API and its controllers) in the foreground until SIGTERM/SIGINT, then exits 0.
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { startControlPlane } from '../controlplane/control-plane.js';
import { serviceFlags, type ServiceFlagValues } from './service-flags.js';

function parseListen(text: string): number {
  const m = text.match(/^(127\.0\.0\.1|localhost):(\d{1,5})$/);
  if (!m || Number(m[2]) > 65535)
    throw new ConfigError(`--listen must be 127.0.0.1:PORT (loopback only), got "${text}"`);
  return Number(m[2]);
}

/** `30s`, `30` (seconds) or `2m` → milliseconds; undefined when not given. */
function parseSeconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)(s|m)?$/.exec(text);
  if (!m) throw new ConfigError(`${flag} must be seconds like 30s or 2m, got "${text}"`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000);
}

export function registerControlPlaneCommand(program: Command): void {
  program
    .command('controlplane')
    .description("run a lab's control plane: the Kubernetes API (kubectl-compatible) and its controllers")
    .requiredOption('--dir <dir>', 'the lab directory (state, token, kubeconfig, sockets)')
    .option('--listen <addr>', 'TCP address on loopback', '127.0.0.1:0')
    .option('--log-level <level>', 'log level', 'info')
    .option('--node-monitor-grace-period <duration>', 'without a heartbeat this long a node is NotReady (default 10s)')
    .option('--pod-eviction-timeout <duration>', "a NotReady node's pods are evicted after this long (default 30s)")
    .option('--service-cluster-ip-range <cidr>', "the Services' ClusterIP range", '10.96.0.0/12')
    .option('--service-node-port-range <range>', 'the NodePort range', '30000-32767')
    .option('--load-balancer-pool <cidr>', 'addresses for LoadBalancer Services (none: they stay <pending>)')
    .option('--load-balancer-exclude <ips>', 'comma-separated pool addresses never handed out')
    .action(
      async (
        o: {
          dir: string;
          listen: string;
          logLevel: string;
          nodeMonitorGracePeriod?: string;
          podEvictionTimeout?: string;
        } & ServiceFlagValues,
      ) => {
        const port = parseListen(o.listen);
        const logger = createLogger({ level: o.logLevel as 'info', name: 'controlplane' });
        const nodeGraceMs = parseSeconds('--node-monitor-grace-period', o.nodeMonitorGracePeriod);
        const nodeEvictionMs = parseSeconds('--pod-eviction-timeout', o.podEvictionTimeout);
        const svc = serviceFlags(o);
        const controllers = {
          ...(nodeGraceMs !== undefined ? { nodeGraceMs } : {}),
          ...(nodeEvictionMs !== undefined ? { nodeEvictionMs } : {}),
          ...(svc.loadBalancerPool ? { loadBalancerPool: svc.loadBalancerPool } : {}),
        };
        const cp = await startControlPlane({ dir: o.dir, port, logger, controllers, serviceNetwork: svc.network });
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await cp.close();
        process.exit(0);
      },
    );
}
