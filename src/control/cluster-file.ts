// The static cluster file: a YAML list of nodes with their underlay address, pod subnet and (vxlan)
// VTEP MAC, plus the overlay network and backend. loadClusterFile/parseClusterFile validate
// everything and throw ConfigError whose one-line message names the file, line and field:
//   cluster.yaml:7: nodes[1].subnet 10.245.0.0/24 is outside network 10.244.0.0/16
// Nothing else throws. A node without vtepMac (vxlan) gets one derived from its name, so every
// node computes the same value without coordination.
//
//   network: 10.244.0.0/16
//   backend: { type: vxlan, vni: 1, port: 8472 }     # or { type: udp, port: 8285 }, { type: host-gw }, vxlan with
//                                                     # directRouting: true; default vxlan
//   ipv6Network: fc00::/48                             # dual stack (flannel's IPv6Network); optional
//   nodes:
//     - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, vtepMac: 0e:00:00:00:01:01 }
//     # dual stack: every node also gets ipv6Subnet: fc00:0:0:1::/64 and may name publicIpv6: fd00::2
//     # (its IPv6 underlay address) and vtepMacV6 (the MAC of a kernel/flanneld node's flannel-v6.1)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { isMap, isScalar, isSeq, type Node as YamlNode, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { Cidr, formatIpv4, parseIpv4, type Ipv4 } from '../addr/ipv4.js';
import { formatMac, parseMac, type Mac } from '../addr/mac.js';
import { Cidr6, parseIpv6, type Ipv6 } from '../addr/ipv6.js';
import { anyBackendFacts, anyBackendNamesText, isAnyBackendName, isWgKeyText, needsVtepMac } from '../backend/table.js';
import { ConfigError, oneLine } from '../util/errors.js';
import { parseYamlSource } from '../util/yaml-source.js';
import { defaultBackend, type BackendConfig, type PeerInfo } from './membership.js';

export interface ClusterNode {
  name: string;
  publicIp: Ipv4;
  subnet: Cidr;
  /** Set for the vxlan backend (given or derived from the name); absent for udp. */
  vtepMac?: Mac;
  /** The IPv6 VTEP's MAC (flannel's BackendV6Data VtepMAC), when it differs from vtepMac. */
  vtepMacV6?: Mac;
  /** The node's WireGuard public key (wireguard backend; required for it). */
  publicKey?: Buffer;
  /** Dual stack: the node's IPv6 pod subnet (required when the file has ipv6Network) and IPv6 address. */
  subnet6?: Cidr6;
  publicIpv6?: Ipv6;
  /** 1-based line of the node's entry in the file. */
  line: number;
}

export interface ClusterConfig {
  network: Cidr;
  backend: BackendConfig;
  nodes: ClusterNode[];
  /** Dual stack: flannel's IPv6Network. */
  network6?: Cidr6;
}

const TOP_KEYS = new Set(['network', 'backend', 'nodes', 'ipv6Network']);
const NODE_KEYS = new Set([
  'name',
  'publicIp',
  'subnet',
  'vtepMac',
  'publicKey',
  'ipv6Subnet',
  'publicIpv6',
  'vtepMacV6',
]);
const BACKEND_KEYS = new Set(['type', 'vni', 'port', 'psk', 'persistentKeepalive', 'directRouting']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function loadClusterFile(path: string): ClusterConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read cluster file: ${oneLine(err)}`, { cause: err });
  }
  return parseClusterFile(text, path);
}

/** Parses cluster-file text; `source` names the file in error messages. */
export function parseClusterFile(text: string, source = 'cluster.yaml'): ClusterConfig {
  const yaml = parseYamlSource(text, source);
  const fail = (node: YamlNode | undefined | null, what: string): never => yaml.fail(yaml.lineOf(node), what);
  const root = yaml.doc.contents;
  if (!isMap(root)) fail(root, 'expected a mapping with network, backend and nodes');
  const top = root as YAMLMap;

  const field = (map: YAMLMap, key: string): YamlNode | undefined => {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    return (pair?.value ?? undefined) as YamlNode | undefined;
  };
  const checkKeys = (map: YAMLMap, allowed: Set<string>, where: string): void => {
    for (const p of map.items) {
      const k = isScalar(p.key) ? String(p.key.value) : '?';
      if (!allowed.has(k))
        fail(p.key as YamlNode, `unknown field ${where}${k} (expected one of ${[...allowed].join(', ')})`);
    }
  };
  const scalarText = (node: YamlNode | undefined, name: string, parent: YamlNode): string => {
    if (node === undefined || (isScalar(node) && node.value === null)) fail(parent, `${name} is missing`);
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number'))
      fail(node, `${name} must be a text value`);
    return String((node as Scalar).value);
  };
  const integer = (node: YamlNode, name: string, min: number, max: number): number => {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      fail(node, `${name} must be an integer ${min}..${max}`);
    return v as number;
  };

  checkKeys(top, TOP_KEYS, '');

  const networkNode = field(top, 'network');
  const networkText = scalarText(networkNode, 'network', top);
  let network: Cidr;
  try {
    network = Cidr.parse(networkText, { strict: true });
  } catch (err) {
    return fail(networkNode, `network ${oneLine(err)}`);
  }

  const network6Node = field(top, 'ipv6Network');
  let network6: Cidr6 | undefined;
  if (network6Node !== undefined) {
    try {
      network6 = Cidr6.parse(scalarText(network6Node, 'ipv6Network', top), { strict: true });
    } catch (err) {
      return fail(network6Node, `ipv6Network ${oneLine(err)}`);
    }
  }

  const backend = parseBackend(field(top, 'backend'));
  function parseBackend(node: YamlNode | undefined): BackendConfig {
    if (node === undefined || (isScalar(node) && node.value === null)) return defaultBackend('vxlan');
    if (!isMap(node)) return fail(node, 'backend must be a mapping like { type: vxlan, vni: 1, port: 8472 }');
    checkKeys(node, BACKEND_KEYS, 'backend.');
    const typeNode = field(node, 'type');
    const type = scalarText(typeNode, 'backend.type', node).toLowerCase();
    if (!isAnyBackendName(type))
      return fail(typeNode, `unknown backend.type "${type}" (expected ${anyBackendNamesText()})`);
    const out = defaultBackend(type);
    const vniNode = field(node, 'vni');
    if (vniNode !== undefined) {
      if (anyBackendFacts(type).defaultVni === null) fail(vniNode, 'backend.vni applies to the vxlan backend only');
      out.vni = integer(vniNode, 'backend.vni', 0, 0xffffff);
    }
    const portNode = field(node, 'port');
    if (portNode !== undefined && type === 'host-gw') fail(portNode, 'backend.port: host-gw has no port');
    if (portNode !== undefined) out.port = integer(portNode, 'backend.port', 1, 65535);
    const directNode = field(node, 'directRouting');
    if (directNode !== undefined) {
      if (type !== 'vxlan') fail(directNode, 'backend.directRouting applies to the vxlan backend only');
      const v = isScalar(directNode) ? directNode.value : undefined;
      if (typeof v !== 'boolean') fail(directNode, 'backend.directRouting must be true or false');
      out.directRouting = v as boolean;
    }
    const pskNode = field(node, 'psk');
    const keepaliveNode = field(node, 'persistentKeepalive');
    if ((pskNode !== undefined || keepaliveNode !== undefined) && type !== 'wireguard') {
      fail(pskNode ?? keepaliveNode, 'backend.psk and backend.persistentKeepalive apply to the wireguard backend only');
    }
    if (pskNode !== undefined) out.psk = wgKey(pskNode, 'backend.psk', node);
    if (keepaliveNode !== undefined)
      out.persistentKeepaliveS = integer(keepaliveNode, 'backend.persistentKeepalive', 0, 65535);
    return out;
  }

  function wgKey(node: YamlNode, at: string, parent: YamlNode): Buffer {
    const text = scalarText(node, at, parent);
    if (!isWgKeyText(text))
      fail(node, `${at} "${text}" is not a base64 32-byte key (as wg genkey / wg pubkey print it)`);
    return Buffer.from(text, 'base64');
  }

  const nodesNode = field(top, 'nodes');
  if (nodesNode === undefined) fail(top, 'nodes is missing');
  if (!isSeq(nodesNode) || nodesNode.items.length === 0) fail(nodesNode, 'nodes must be a non-empty list');
  const nodes: ClusterNode[] = [];
  const byName = new Map<string, number>();
  const byIp = new Map<number, number>();
  const byMac = new Map<string, number>();
  (nodesNode as YAMLSeq).items.forEach((item, i) => {
    const at = `nodes[${i}]`;
    const itemNode = item as YamlNode;
    if (!isMap(itemNode)) return fail(itemNode, `${at} must be a mapping with name, publicIp, subnet`);
    checkKeys(itemNode, NODE_KEYS, `${at}.`);
    const line = yaml.lineOf(itemNode);

    const nameNode = field(itemNode, 'name');
    const name = scalarText(nameNode, `${at}.name`, itemNode);
    if (!NAME.test(name)) fail(nameNode, `${at}.name "${name}" must be 1-63 letters, digits, '.', '_' or '-'`);
    if (byName.has(name)) fail(nameNode, `${at}.name "${name}" duplicates nodes[${byName.get(name)}]`);
    byName.set(name, i);

    const ipNode = field(itemNode, 'publicIp');
    const ipText = scalarText(ipNode, `${at}.publicIp`, itemNode);
    let publicIp: Ipv4;
    try {
      publicIp = parseIpv4(ipText);
    } catch (err) {
      return fail(ipNode, `${at}.publicIp ${oneLine(err)}`);
    }
    if (byIp.has(publicIp))
      fail(ipNode, `${at}.publicIp ${formatIpv4(publicIp)} duplicates nodes[${byIp.get(publicIp)}]`);
    byIp.set(publicIp, i);

    const subnetNode = field(itemNode, 'subnet');
    const subnetText = scalarText(subnetNode, `${at}.subnet`, itemNode);
    let subnet: Cidr;
    try {
      subnet = Cidr.parse(subnetText, { strict: true });
    } catch (err) {
      return fail(subnetNode, `${at}.subnet ${oneLine(err)}`);
    }
    if (!network.covers(subnet)) fail(subnetNode, `${at}.subnet ${subnet} is outside network ${network}`);
    const clash = nodes.findIndex((n) => n.subnet.overlaps(subnet));
    if (clash >= 0) fail(subnetNode, `${at}.subnet ${subnet} overlaps nodes[${clash}].subnet ${nodes[clash].subnet}`);

    const node: ClusterNode = { name, publicIp, subnet, line };
    const macNode = field(itemNode, 'vtepMac');
    let mac: Mac | undefined;
    if (macNode !== undefined) {
      const macText = scalarText(macNode, `${at}.vtepMac`, itemNode);
      try {
        mac = parseMac(macText);
      } catch (err) {
        return fail(macNode, `${at}.vtepMac ${oneLine(err)}`);
      }
      if ((mac[0] & 1) === 1 || mac.every((b) => b === 0))
        fail(macNode, `${at}.vtepMac ${formatMac(mac)} must be a unicast, non-zero MAC`);
    }
    if (needsVtepMac(anyBackendFacts(backend.type))) {
      node.vtepMac = mac ?? deriveVtepMac(name);
      const key = formatMac(node.vtepMac);
      if (byMac.has(key)) fail(macNode ?? itemNode, `${at}.vtepMac ${key} duplicates nodes[${byMac.get(key)}]`);
      byMac.set(key, i);
    }
    parseNodeIpv6(itemNode, at, node);
    const keyNode = field(itemNode, 'publicKey');
    if (keyNode !== undefined) node.publicKey = wgKey(keyNode, `${at}.publicKey`, itemNode);
    else if (backend.type === 'wireguard')
      fail(itemNode, `${at}.publicKey is missing (the wireguard backend needs each node's public key)`);
    nodes.push(node);
  });

  const config: ClusterConfig = { network, backend, nodes };
  if (network6) config.network6 = network6;
  return config;

  /** ipv6Subnet (inside ipv6Network, required with it, no overlaps) and publicIpv6 of one node. */
  function parseNodeIpv6(itemNode: YAMLMap, at: string, node: ClusterNode): void {
    const subnetNode = field(itemNode, 'ipv6Subnet');
    if (subnetNode === undefined) {
      if (network6) fail(itemNode, `${at}.ipv6Subnet is missing (the file has ipv6Network ${network6})`);
    } else {
      if (!network6) fail(subnetNode, `${at}.ipv6Subnet needs ipv6Network at the top of the file`);
      let subnet6: Cidr6;
      try {
        subnet6 = Cidr6.parse(scalarText(subnetNode, `${at}.ipv6Subnet`, itemNode), { strict: true });
      } catch (err) {
        return fail(subnetNode, `${at}.ipv6Subnet ${oneLine(err)}`);
      }
      if (!network6!.covers(subnet6))
        fail(subnetNode, `${at}.ipv6Subnet ${subnet6} is outside ipv6Network ${network6}`);
      const clash = nodes.findIndex((n) => n.subnet6?.overlaps(subnet6));
      if (clash >= 0)
        fail(subnetNode, `${at}.ipv6Subnet ${subnet6} overlaps nodes[${clash}].ipv6Subnet ${nodes[clash].subnet6}`);
      node.subnet6 = subnet6;
    }
    const pubNode = field(itemNode, 'publicIpv6');
    if (pubNode !== undefined) {
      try {
        node.publicIpv6 = parseIpv6(scalarText(pubNode, `${at}.publicIpv6`, itemNode));
      } catch (err) {
        fail(pubNode, `${at}.publicIpv6 ${oneLine(err)}`);
      }
    }
    const mac6Node = field(itemNode, 'vtepMacV6');
    if (mac6Node !== undefined) {
      try {
        node.vtepMacV6 = parseMac(scalarText(mac6Node, `${at}.vtepMacV6`, itemNode));
      } catch (err) {
        fail(mac6Node, `${at}.vtepMacV6 ${oneLine(err)}`);
      }
    }
  }
}

/** A locally administered unicast MAC derived from the node name (same on every node). */
export function deriveVtepMac(name: string): Mac {
  const mac = createHash('sha256').update(`flannelette-vtep:${name}`).digest().subarray(0, 6);
  mac[0] = (mac[0] & 0xfe) | 0x02;
  return Buffer.from(mac);
}

export function nodeToPeer(node: ClusterNode): PeerInfo {
  const peer: PeerInfo = { name: node.name, subnet: node.subnet, publicIp: node.publicIp };
  if (node.vtepMac) peer.vtepMac = node.vtepMac;
  if (node.publicKey) peer.publicKey = node.publicKey;
  if (node.subnet6) peer.subnet6 = node.subnet6;
  if (node.publicIpv6 !== undefined) peer.publicIpv6 = node.publicIpv6;
  if (node.vtepMacV6) peer.vtepMacV6 = node.vtepMacV6;
  return peer;
}
