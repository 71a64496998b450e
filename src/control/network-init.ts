// `flannelette network init`: writes flannel's network config key (<prefix>/config) the way
// flanneld expects it. writeNetworkConfig works over any SubnetRegistry; initNetworkConfig opens a
// real etcd for it (etcd-registry.ts) and closes it again.
// Throws ConfigError for bad values or a different existing config (unless overwrite), DeviceError
// when the store is unreachable.
import { Cidr } from '../addr/ipv4.js';
import { ConfigError, DeviceError, oneLine } from '../util/errors.js';
import { EtcdRegistry } from './etcd-registry.js';
import {
  formatNetworkConfig,
  parseNetworkConfig,
  type NetworkConfig,
  type NetworkConfigInput,
} from './flannel-format.js';
import type { SubnetRegistry } from './subnet-registry.js';

export interface NetworkConfigOptions extends Omit<NetworkConfigInput, 'network'> {
  /** A CIDR, or its text (checked strictly: no host bits). */
  network: Cidr | string;
  /** Replace a different existing config (default false: refuse). */
  overwrite?: boolean;
}

export interface InitNetworkOptions extends NetworkConfigOptions {
  endpoints: string[];
  prefix?: string;
  requestTimeoutMs?: number;
}

export interface InitNetworkResult {
  key: string;
  value: string;
  config: NetworkConfig;
  /** False when an identical config was already there. */
  created: boolean;
}

/** Writes the network config through `reg` (which stays open). */
export async function writeNetworkConfig(
  reg: SubnetRegistry,
  opts: NetworkConfigOptions,
  where = 'etcd',
): Promise<InitNetworkResult> {
  const network = typeof opts.network === 'string' ? parseCidrOption(opts.network) : opts.network;
  const { overwrite, ...input } = opts;
  return storeNetworkConfig(reg, formatNetworkConfig({ ...input, network }), overwrite ?? false, where);
}

/**
 * Writes a net-conf.json text as it is (compacted) as the network config: flannel's etcd config and
 * net-conf.json are the same JSON. Throws ConfigError (naming the key) when flannel would refuse it.
 */
export async function storeNetworkConfig(
  reg: SubnetRegistry,
  text: string,
  overwrite: boolean,
  where = 'etcd',
): Promise<InitNetworkResult> {
  const config = parseNetworkConfig(text);
  const value = JSON.stringify(JSON.parse(text) as unknown);
  let result: { created: boolean; stored: string };
  try {
    result = await reg.createConfig(value, overwrite);
  } catch (err) {
    throw new DeviceError(`cannot write ${reg.configKey} to ${where}: ${oneLine(err)}`, { cause: err });
  }
  if (!result.created && result.stored !== value) {
    throw new ConfigError(
      `${reg.configKey} already holds a different config (${result.stored}); use overwrite to replace it`,
    );
  }
  return { key: reg.configKey, value, config, created: result.created };
}

/** Writes the network config (from options, or a net-conf.json's `text`) to the etcd at `endpoints`. */
export async function initNetworkConfig(opts: InitNetworkOptions & { text?: string }): Promise<InitNetworkResult> {
  const { endpoints, prefix, requestTimeoutMs, text, ...config } = opts;
  const reg = new EtcdRegistry({ endpoints, prefix, requestTimeoutMs });
  const where = `etcd at ${endpoints.join(',')}`;
  try {
    if (text !== undefined) return await storeNetworkConfig(reg, text, config.overwrite ?? false, where);
    return await writeNetworkConfig(reg, config, where);
  } finally {
    reg.close();
  }
}

function parseCidrOption(text: string): Cidr {
  try {
    return Cidr.parse(text, { strict: true });
  } catch (err) {
    throw new ConfigError(`network: ${oneLine(err)}`, { cause: err });
  }
}
