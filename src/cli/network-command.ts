// `flannelette network init`: writes flannel's network config key into etcd
// (`<prefix>/config`, the JSON flanneld reads), so nodes started with --etcd-endpoints lease subnets
// from it. Refuses to replace a different existing config unless --overwrite.
import { Command, Option } from 'commander';
import { parseIpv4 } from '../addr/ipv4.js';
import { BACKEND_NAMES, perBackendText, type BackendName } from '../backend/table.js';
import { ConfigError } from '../util/errors.js';
import { fail } from './exit.js';
import { parseEndpoints } from './node-command.js';

interface InitFlags {
  etcdEndpoints: string;
  etcdPrefix: string;
  network: string;
  subnetLen?: string;
  subnetMin?: string;
  subnetMax?: string;
  backend: BackendName;
  vni?: string;
  port?: string;
  overwrite?: boolean;
}

function optInt(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${flag} ${v}: expected a whole number from ${min} to ${max}`);
  return n;
}

export function registerNetworkCommand(program: Command): void {
  const network = program.command('network').description('the cluster-wide network config in etcd (flannel layout)');
  network
    .command('init')
    .description('write <prefix>/config: Network, SubnetLen, SubnetMin/Max, Backend')
    .requiredOption('--etcd-endpoints <urls>', 'etcd endpoints, comma-separated')
    .option('--etcd-prefix <prefix>', 'key prefix', '/coreos.com/network')
    .requiredOption('--network <cidr>', 'the pod network, e.g. 10.244.0.0/16')
    .option('--subnet-len <n>', 'prefix length of each node subnet (flannel default: 24)')
    .option('--subnet-min <ip>', 'first subnet to lease')
    .option('--subnet-max <ip>', 'last subnet to lease')
    .addOption(new Option('--backend <type>', 'encapsulation').choices(BACKEND_NAMES).default('vxlan'))
    .option('--vni <vni>', 'VXLAN network identifier (default 1)')
    .option('--port <port>', `UDP port (default ${perBackendText((b) => b.defaultPort)})`)
    .option('--overwrite', 'replace a different existing config')
    .action(async (flags: InitFlags) => {
      try {
        const { initNetworkConfig } = await import('../control/etcd.js');
        const r = await initNetworkConfig({
          endpoints: parseEndpoints(flags.etcdEndpoints),
          prefix: flags.etcdPrefix,
          network: flags.network,
          subnetLen: optInt('subnet-len', flags.subnetLen, 1, 30),
          subnetMin: flags.subnetMin ? parseIpv4(flags.subnetMin) : undefined,
          subnetMax: flags.subnetMax ? parseIpv4(flags.subnetMax) : undefined,
          backend: flags.backend,
          vni: optInt('vni', flags.vni, 0, 0xffffff),
          port: optInt('port', flags.port, 1, 65535),
          overwrite: flags.overwrite ?? false,
        });
        process.stdout.write(`${r.created ? 'wrote' : 'unchanged'} ${r.key} = ${r.value}\n`);
        process.exit(0);
      } catch (err) {
        fail(err);
      }
    });
}
