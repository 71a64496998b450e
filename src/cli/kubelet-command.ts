// `flannelette kubelet --config FILE`: runs one lab node's kubelet in the foreground (root network
// namespace) until SIGINT/SIGTERM. Stopping it leaves the containers running; the next kubelet adopts them.
import type { Command } from 'commander';
import { readKubeletConfig } from '../kubelet/config.js';
import { Kubelet } from '../kubelet/kubelet.js';
import { KubeProxy } from '../proxy/kube-proxy.js';
import { PolicyEnforcer } from '../policy/enforcer.js';
import { realClock } from '../util/clock.js';
import { createLogger } from '../util/logger.js';
import { randomRng } from '../util/rng.js';
import { fail } from './exit.js';
import { CAP_NET_ADMIN, CAP_SYS_ADMIN, requireCapabilities } from './privileges.js';

export function registerKubeletCommand(program: Command): void {
  program
    .command('kubelet')
    .description('run the kubelet of one lab node: registers the Node, runs its pods, serves logs and exec')
    .requiredOption('--config <file>', 'kubelet configuration (JSON, see README "The kubelet")')
    .option('--log-level <level>', 'trace|debug|info|warn|error', 'info')
    .action(async (opts: { config: string; logLevel: string }) => {
      try {
        const cfg = readKubeletConfig(opts.config);
        requireCapabilities('the kubelet', [CAP_NET_ADMIN, CAP_SYS_ADMIN], 'run it as root');
        const logger = createLogger({ level: opts.logLevel as 'info', name: `kubelet-${cfg.nodeName}` });
        const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };
        const kubelet = new Kubelet(cfg, log);
        await kubelet.start();
        const clusterCidr = cfg.clusterCIDR ?? `${cfg.podCIDR.split('.').slice(0, 2).join('.')}.0.0/16`;
        const proxy = new KubeProxy({
          api: kubelet.api,
          nodeName: cfg.nodeName,
          netns: cfg.nodeNetns,
          clusterCidr,
          ...(cfg.clusterCIDR6 ? { clusterCidr6: cfg.clusterCIDR6 } : {}),
          logger: log,
          rng: randomRng(),
          clock: realClock,
        });
        await proxy.start();
        const policy = new PolicyEnforcer({
          api: kubelet.api,
          nodeName: cfg.nodeName,
          netns: cfg.nodeNetns,
          log,
          rng: randomRng(),
          clock: realClock,
        });
        policy.start();
        await new Promise<void>((resolve) => {
          for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
        });
        await policy.stop();
        await proxy.stop();
        await kubelet.stop();
        process.exit(0);
      } catch (err) {
        fail(err);
      }
    });
}
