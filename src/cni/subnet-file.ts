// flannel's subnet.env as flannel's CNI plugin reads it (flannel-io/cni-plugin flannel.go,
// loadFlannelSubnetEnv): NAME=value lines; FLANNEL_NETWORK and FLANNEL_IPV6_NETWORK are comma lists
// (duplicates dropped), FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET one CIDR each, reduced to the network
// address as Go's net.ParseCIDR does (10.244.1.1/24 → 10.244.1.0/24), FLANNEL_MTU an unsigned
// integer, FLANNEL_IPMASQ true only when it is exactly "true". Other lines are ignored. A file without
// a network, a subnet, the MTU or FLANNEL_IPMASQ is refused, naming what is missing.
// readFlannelSubnetFile throws CniError: code 11 (try again later) when the file does not exist yet
// (the node agent writes it once it holds a lease), 5 when it cannot be read, 7 when it is malformed.
import fs from 'node:fs';
import { Cidr } from '../addr/ipv4.js';
import { Cidr6 } from '../addr/ipv6.js';
import { CniError } from '../util/errors.js';
import { CNI_ERR } from './spec.js';

export interface FlannelSubnetFile {
  networks: string[];
  subnet?: string;
  ip6Networks: string[];
  ip6Subnet?: string;
  mtu: number;
  ipMasq: boolean;
}

const IPV6_CIDR = /^[0-9A-Fa-f:.]+\/\d{1,3}$/;

function cidrText(text: string, v6: boolean): string {
  if (v6) {
    if (!IPV6_CIDR.test(text) || !text.includes(':')) throw new Error(`invalid CIDR address: ${text}`);
    try {
      return Cidr6.parse(text).toString();
    } catch {
      throw new Error(`invalid CIDR address: ${text}`);
    }
  }
  try {
    return Cidr.parse(text).toString();
  } catch {
    throw new Error(`invalid CIDR address: ${text}`);
  }
}

/** Parses the text; throws Error with flannel's message for a bad value or a missing variable. */
export function parseFlannelSubnetFile(text: string, file: string): FlannelSubnetFile {
  const nets: string[] = [];
  const nets6: string[] = [];
  let subnet: string | undefined;
  let subnet6: string | undefined;
  let mtu: number | undefined;
  let ipMasq: boolean | undefined;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? '' : line.slice(eq + 1);
    switch (name) {
      case 'FLANNEL_NETWORK':
      case 'FLANNEL_IPV6_NETWORK': {
        const list = name === 'FLANNEL_NETWORK' ? nets : nets6;
        list.length = 0;
        for (const c of value.split(',')) {
          const t = cidrText(c, name !== 'FLANNEL_NETWORK');
          if (!list.includes(t)) list.push(t);
        }
        break;
      }
      case 'FLANNEL_SUBNET':
        subnet = cidrText(value, false);
        break;
      case 'FLANNEL_IPV6_SUBNET':
        subnet6 = cidrText(value, true);
        break;
      case 'FLANNEL_MTU':
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
          throw new Error(`strconv.ParseUint: parsing "${value}": invalid syntax`);
        }
        mtu = Number(value);
        break;
      case 'FLANNEL_IPMASQ':
        ipMasq = value === 'true';
        break;
    }
  }
  const missing: string[] = [];
  if (nets.length === 0 && nets6.length === 0) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (subnet === undefined && subnet6 === undefined) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (ipMasq === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0) throw new Error(`${file} is missing ${missing.join(', ')}`);
  return { networks: nets, subnet, ip6Networks: nets6, ip6Subnet: subnet6, mtu: mtu!, ipMasq: ipMasq! };
}

const HINT = 'Check the flannel pod log for this node.';

export function readFlannelSubnetFile(file: string): FlannelSubnetFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const code = e.code === 'ENOENT' ? CNI_ERR.tryAgainLater : CNI_ERR.ioFailure;
    const why = e.code === 'ENOENT' ? `open ${file}: no such file or directory` : `open ${file}: ${e.message}`;
    throw new CniError(code, `failed to load flannel 'subnet.env' file: ${why}. ${HINT}`, '', { cause: err });
  }
  try {
    return parseFlannelSubnetFile(text, file);
  } catch (err) {
    throw new CniError(
      CNI_ERR.invalidConfig,
      `failed to load flannel 'subnet.env' file: ${(err as Error).message}. ${HINT}`,
      '',
      { cause: err },
    );
  }
}
