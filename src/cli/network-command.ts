// `flannelette network init`: writes flannel's network config key into etcd
// (`<prefix>/config`, the JSON flanneld reads), so nodes started with --etcd-endpoints lease subnets
// from it, or with --out a net-conf.json file (the same JSON, for --net-config-path). The config comes
// from the flags or from an existing net-conf.json (--net-config-path). Refuses to replace a
// different existing config unless --overwrite.
import { Command, Option } from 'commander';
import { parseIpv4 } from '../addr/ipv4.js';
import fs from 'node:fs';
import { ANY_BACKEND_NAMES, perBackendText, type AnyBackendName } from '../backend/table.js';
import { formatNetworkConfig } from '../control/flannel-format.js';
import { loadNetConf } from '../control/net-conf.js';
import { Cidr } from '../addr/ipv4.js';
import { ConfigError } from '../util/errors.js';
import { fail } from './exit.js';
import { parseEndpoints } from './node-command.js';

interface InitFlags {
  etcdEndpoints?: string;
  etcdPrefix: string;
  network?: string;
  netConfigPath?: string;
  out?: string;
  directRouting?: boolean;
  subnetLen?: string;
  subnetMin?: string;
  subnetMax?: string;
  backend: AnyBackendName;
  vni?: string;
  port?: string;
  overwrite?: boolean;
}

function optInt(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`--${flag} ${v}: expected a whole number from ${min} to ${max}`);
  return n;
}

export function registerNetworkCommand(program: Command): void {
  const network = program.command('network').description('the cluster-wide network config in etcd (flannel layout)');
  network
    .command('init')
    .description('write <prefix>/config: Network, SubnetLen, SubnetMin/Max, Backend')
    .option('--etcd-endpoints <urls>', 'etcd endpoints, comma-separated')
    .option('--etcd-prefix <prefix>', 'key prefix', '/coreos.com/network')
    .option('--out <file>', "write flannel's net-conf.json to FILE instead of etcd")
    .option('--net-config-path <file>', 'take the config from this net-conf.json instead of the flags')
    .option('--network <cidr>', 'the pod network, e.g. 10.244.0.0/16')
    .option('--subnet-len <n>', 'prefix length of each node subnet (flannel default: 24)')
    .option('--subnet-min <ip>', 'first subnet to lease')
    .option('--subnet-max <ip>', 'last subnet to lease')
    .addOption(new Option('--backend <type>', 'backend').choices(ANY_BACKEND_NAMES).default('vxlan'))
    .option('--direct-routing', 'vxlan: DirectRouting, host-gw routes to nodes on the same subnet')
    .option('--vni <vni>', 'VXLAN network identifier (default 1)')
    .option('--port <port>', `UDP port (default ${perBackendText((b) => b.defaultPort)})`)
    .option('--overwrite', 'replace a different existing config')
    .action(async (flags: InitFlags) => {
      try {
        if (!flags.out && !flags.etcdEndpoints) throw new ConfigError('give --etcd-endpoints URLS or --out FILE');
        if (!flags.network && !flags.netConfigPath)
          throw new ConfigError('give --network CIDR or --net-config-path FILE');
        const text = flags.netConfigPath ? loadNetConf(flags.netConfigPath).text : undefined;
        const input = {
          network: flags.network ?? '',
          subnetLen: optInt('subnet-len', flags.subnetLen, 1, 30),
          subnetMin: flags.subnetMin ? parseIpv4(flags.subnetMin) : undefined,
          subnetMax: flags.subnetMax ? parseIpv4(flags.subnetMax) : undefined,
          backend: flags.backend,
          vni: optInt('vni', flags.vni, 0, 0xffffff),
          port: optInt('port', flags.port, 1, 65535),
          directRouting: flags.directRouting,
        };
        if (flags.out) {
          const json = text ?? formatNetworkConfig({ ...input, network: networkFlag(input.network) });
          fs.writeFileSync(flags.out, `${JSON.stringify(JSON.parse(json), null, 2)}\n`);
          process.stdout.write(`wrote ${flags.out}\n`);
          process.exit(0);
        }
        const { initNetworkConfig } = await import('../control/network-init.js');
        const r = await initNetworkConfig({
          endpoints: parseEndpoints(flags.etcdEndpoints!),
          prefix: flags.etcdPrefix,
          ...input,
          text,
          overwrite: flags.overwrite ?? false,
        });
        process.stdout.write(`${r.created ? 'wrote' : 'unchanged'} ${r.key} = ${r.value}\n`);
        process.exit(0);
      } catch (err) {
        fail(err);
      }
    });
}

function networkFlag(text: string): Cidr {
  try {
    return Cidr.parse(text, { strict: true });
  } catch (err) {
    throw new ConfigError(`--network ${text}: ${(err as Error).message}`);
  }
}
