// flannel's subnet.env (by default /run/flannel/subnet.env), read by the flannel CNI plugin:
//   FLANNEL_NETWORK=10.244.0.0/16
//   FLANNEL_SUBNET=10.244.1.1/24     <- the subnet's first address (.1) with the subnet's prefix
//   FLANNEL_IPV6_NETWORK=fc00::/48   <- dual stack only (EnableIPv6), as flannel's WriteSubnetFile
//   FLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64
//   FLANNEL_MTU=1450
//   FLANNEL_IPMASQ=false
// Written atomically (temporary file + rename) in flannel's line order. readSubnetEnv returns
// undefined when the file does not exist and throws ConfigError when it exists but is unusable;
// parseSubnetEnv/formatSubnetEnv are pure.
import fs from 'node:fs';
import path from 'node:path';
import { Cidr, formatIpv4, type Ipv4 } from '../addr/ipv4.js';
import { Cidr6, formatIpv6 } from '../addr/ipv6.js';
import { ConfigError, oneLine } from '../util/errors.js';

export const DEFAULT_SUBNET_ENV = '/run/flannel/subnet.env';

export interface SubnetEnv {
  network: Cidr;
  /** The node subnet (network address, host bits clear). */
  subnet: Cidr;
  mtu: number;
  ipMasq: boolean;
  /** Dual stack: the IPv6 network and this node's IPv6 subnet (network address). */
  network6?: Cidr6;
  subnet6?: Cidr6;
}

export function formatSubnetEnv(env: SubnetEnv): string {
  const firstIp: Ipv4 = (env.subnet.network + 1) >>> 0;
  return (
    `FLANNEL_NETWORK=${env.network}\n` +
    `FLANNEL_SUBNET=${formatIpv4(firstIp)}/${env.subnet.prefix}\n` +
    (env.network6 && env.subnet6
      ? `FLANNEL_IPV6_NETWORK=${env.network6}\n` +
        `FLANNEL_IPV6_SUBNET=${formatIpv6(env.subnet6.network + 1n)}/${env.subnet6.prefix}\n`
      : '') +
    `FLANNEL_MTU=${env.mtu}\n` +
    `FLANNEL_IPMASQ=${env.ipMasq}\n`
  );
}

/** Parses subnet.env text (FLANNEL_IPV6_* when present); unknown variables are ignored. Throws ConfigError. */
export function parseSubnetEnv(text: string, source = 'subnet.env'): SubnetEnv {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}: not a NAME=value line: "${t}"`);
    vars.set(t.slice(0, eq), t.slice(eq + 1).replace(/^"(.*)"$/, '$1'));
  }
  const need = (name: string): string => {
    const v = vars.get(name);
    if (v === undefined) throw new ConfigError(`${source}: ${name} is missing`);
    return v;
  };
  try {
    const network = Cidr.parse(need('FLANNEL_NETWORK'));
    const subnet = Cidr.parse(need('FLANNEL_SUBNET'));
    const mtu = Number(vars.get('FLANNEL_MTU') ?? '1500');
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
      throw new ConfigError(`${source}: bad FLANNEL_MTU "${vars.get('FLANNEL_MTU')}"`);
    const masq = vars.get('FLANNEL_IPMASQ') ?? 'false';
    if (masq !== 'true' && masq !== 'false') throw new ConfigError(`${source}: FLANNEL_IPMASQ must be true or false`);
    const env: SubnetEnv = { network, subnet, mtu, ipMasq: masq === 'true' };
    const network6 = vars.get('FLANNEL_IPV6_NETWORK');
    const subnet6 = vars.get('FLANNEL_IPV6_SUBNET');
    if (network6 !== undefined && subnet6 !== undefined) {
      env.network6 = Cidr6.parse(network6);
      env.subnet6 = Cidr6.parse(subnet6);
    }
    return env;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${source}: ${oneLine(err)}`, { cause: err });
  }
}

export function readSubnetEnv(file: string): SubnetEnv | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read: ${oneLine(err)}`, { cause: err });
  }
  return parseSubnetEnv(text, file);
}

/** Writes the file atomically, creating its directory. Throws ConfigError on I/O failure. */
export function writeSubnetEnv(file: string, env: SubnetEnv): void {
  writeFileAtomic(file, formatSubnetEnv(env));
}

export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new ConfigError(`${file}: cannot write: ${oneLine(err)}`, { cause: err });
  }
}
