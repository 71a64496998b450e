// flannel's etcd data formats, so flanneld, etcdctl users and flannelette read each other's keys:
//   <prefix>/config                 {"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0",
//                                    "SubnetMax":"10.244.255.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}
//   <prefix>/subnets/10.244.1.0-24  {"PublicIP":"192.168.1.2","PublicIPv6":null,"BackendType":"vxlan",
//                                    "BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:01:01"}}
// Semantics follow flannel's pkg/subnet/config.go (ParseConfig + CheckNetworkConfig), pkg/lease
// (LeaseAttrs JSON: PublicIP, PublicIPv6 (null when absent), BackendType, BackendData, BackendV6Data)
// and the vxlan backend's lease data (VNI, VtepMAC). The dual-stack parts (EnableIPv6, IPv6Network,
// the "&<v6>-<len>" key suffix, PublicIPv6, BackendV6Data) are flannel-ipv6.ts.
// parseNetworkConfig throws ConfigError with the reason (a config is operator input); lease values
// and keys come from other nodes, so their decoders return { ok: false, reason } instead of throwing.
import { Cidr, formatIpv4, parseIpv4, type Ipv4 } from '../addr/ipv4.js';
import { formatMac, parseMac, type Mac } from '../addr/mac.js';
import {
  anyBackendFacts,
  anyBackendNamesText,
  backendFacts,
  isAnyBackendName,
  needsVtepMac,
  type AnyBackendName,
  type BackendFacts,
  type LeaseDataField,
  isWgKeyText,
} from '../backend/table.js';
import { ConfigError, oneLine } from '../util/errors.js';
import type { Cidr6 } from '../addr/ipv6.js';
import {
  decodeLeaseV6,
  enableFlags,
  encodeBackendV6Data,
  encodePublicIpv6,
  formatIpv6ConfigFields,
  parseIpv6NetworkConfig,
  type Ipv6NetworkConfig,
  type LeaseV6Attrs,
} from './flannel-ipv6.js';
import { subnetBounds, subnetLength, type RangeFamily } from './flannel-range.js';
import { defaultBackend, type BackendConfig, type PeerInfo } from './membership.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface NetworkConfig {
  network: Cidr;
  subnetLen: number;
  /** First and last subnet (network addresses) that may be leased. */
  subnetMin: Ipv4;
  subnetMax: Ipv4;
  backend: BackendConfig;
  /** Set when EnableIPv6 is true (dual stack): the IPv6 network and its subnet range. */
  ipv6?: Ipv6NetworkConfig;
}

/** What `flannelette network init` writes; absent fields are left for flannel's defaults. */
export interface NetworkConfigInput {
  network: Cidr;
  subnetLen?: number;
  subnetMin?: Ipv4;
  subnetMax?: Ipv4;
  backend: AnyBackendName;
  vni?: number;
  port?: number;
  directRouting?: boolean;
  /** Dual stack: EnableIPv6 with this IPv6Network (and IPv6SubnetLen when given). */
  ipv6?: { network: Cidr6; subnetLen?: number };
}

const IPV4_RANGE: RangeFamily = {
  bits: 32,
  keyPrefix: '',
  defaultSubnetLen: 24,
  networkName: 'network',
  example: '10.244.1.0',
  parse: (text) => (text === '0.0.0.0' ? undefined : BigInt(parseIpv4(text))),
};

/** Parses and checks the <prefix>/config value, filling flannel's defaults. Throws ConfigError. */
export function parseNetworkConfig(text: string): NetworkConfig {
  const bad = (why: string): never => {
    throw new ConfigError(`bad flannel network config: ${why}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return bad(`not JSON (${oneLine(err)})`);
  }
  if (!isObject(raw)) return bad('not a JSON object');
  const enable = enableFlags(raw, bad);
  if (!enable.ipv4)
    bad('EnableIPv4 false (IPv6-only) is not supported: flannelette leases always carry an IPv4 subnet');

  if (raw.Network === undefined || raw.Network === '') bad('Network is missing (e.g. "10.244.0.0/16")');
  if (typeof raw.Network !== 'string') return bad('Network must be a string like "10.244.0.0/16"');
  let network: Cidr;
  try {
    network = Cidr.parse(raw.Network); // flannel masks host bits, as does Cidr
  } catch (err) {
    return bad(`Network: ${oneLine(err)}`);
  }

  const net = { text: network.toString(), network: BigInt(network.network), prefix: network.prefix };
  const subnetLen = subnetLength(IPV4_RANGE, net, optionalInt(raw.SubnetLen, 'SubnetLen', bad) ?? 0, bad);
  const bounds = subnetBounds(IPV4_RANGE, net, subnetLen, raw, bad);
  const subnetMin = Number(bounds.min);
  const subnetMax = Number(bounds.max);

  const config: NetworkConfig = { network, subnetLen, subnetMin, subnetMax, backend: parseBackend(raw.Backend, bad) };
  if (enable.ipv6) config.ipv6 = parseIpv6NetworkConfig(raw, bad);
  return config;
}

function parseBackend(value: unknown, bad: (why: string) => never): BackendConfig {
  if (value === undefined || value === null) return defaultBackend('udp'); // flannel's default when Backend is absent
  if (!isObject(value)) return bad('Backend must be an object like {"Type":"vxlan"}');
  const typeText = value.Type === undefined ? 'udp' : value.Type;
  if (typeof typeText !== 'string') return bad('Backend.Type must be a string');
  const type = typeText.toLowerCase();
  if (!isAnyBackendName(type)) return bad(`Backend.Type "${typeText}" is not supported (${anyBackendNamesText()})`);
  const out = defaultBackend(type);
  if (type === 'wireguard') return parseWireguardBackend(value, out, bad);
  if (type === 'host-gw') return out; // flannel's host-gw reads no options
  if (anyBackendFacts(type).defaultVni !== null) {
    const vni = optionalInt(value.VNI, 'Backend.VNI', bad);
    if (vni !== undefined) {
      if (vni < 0 || vni > 0xffffff) bad(`Backend.VNI ${vni} is out of range 0..16777215`);
      out.vni = vni;
    }
  }
  const port = optionalInt(value.Port, 'Backend.Port', bad);
  if (port !== undefined && port !== 0) {
    if (port < 1 || port > 65535) bad(`Backend.Port ${port} is out of range 1..65535`);
    out.port = port;
  }
  if (type === 'vxlan') parseVxlanOptions(value, out, bad);
  return out;
}

/**
 * flannel's vxlan options beyond VNI/Port (pkg/backend/vxlan VXLANConfig): DirectRouting and MTU are
 * honoured; GBP (Group Based Policy extension) is refused, flannelette does not write it; Learning
 * (the kernel device's MAC learning) has no meaning without a kernel device and is ignored, which
 * `learningIgnored` reports so the agent can say so.
 */
function parseVxlanOptions(value: Record<string, unknown>, out: BackendConfig, bad: (why: string) => never): void {
  const flag = (key: string): boolean | undefined => {
    const v = value[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return bad(`Backend.${key} must be true or false`);
    return v;
  };
  if (flag('GBP') === true)
    bad('Backend.GBP: the VXLAN Group Based Policy extension is not supported by flannelette (drop it or set false)');
  const direct = flag('DirectRouting');
  if (direct !== undefined) out.directRouting = direct;
  flag('Learning');
  const mtu = optionalInt(value.MTU, 'Backend.MTU', bad);
  if (mtu !== undefined && mtu !== 0) {
    if (mtu < 576 || mtu > 65535) bad(`Backend.MTU ${mtu} is out of range 576..65535`);
    out.mtu = mtu;
  }
}

/** flannel's vxlan Learning was set: flannelette has no kernel device whose learning it could switch. */
export function learningIgnored(configText: string): boolean {
  try {
    const raw = JSON.parse(configText) as { Backend?: { Learning?: unknown } };
    return raw.Backend?.Learning === true;
  } catch {
    return false;
  }
}

/** flannel's wireguard options: ListenPort, PSK (base64, 32 bytes), PersistentKeepaliveInterval (s). */
function parseWireguardBackend(
  value: Record<string, unknown>,
  out: BackendConfig,
  bad: (why: string) => never,
): BackendConfig {
  const port = optionalInt(value.ListenPort, 'Backend.ListenPort', bad);
  if (port !== undefined && port !== 0) {
    if (port < 1 || port > 65535) bad(`Backend.ListenPort ${port} is out of range 1..65535`);
    out.port = port;
  }
  if (value.PSK !== undefined && value.PSK !== null && value.PSK !== '') {
    if (typeof value.PSK !== 'string' || !isWgKeyText(value.PSK))
      bad('Backend.PSK must be a base64 32-byte key (wg genpsk)');
    out.psk = Buffer.from(value.PSK, 'base64');
  }
  const keepalive = optionalInt(value.PersistentKeepaliveInterval, 'Backend.PersistentKeepaliveInterval', bad);
  if (keepalive !== undefined) {
    if (keepalive < 0 || keepalive > 65535)
      bad(`Backend.PersistentKeepaliveInterval ${keepalive} is out of range 0..65535`);
    out.persistentKeepaliveS = keepalive;
  }
  return out;
}

/** The JSON for <prefix>/config, in flannel's field order. Throws ConfigError if it would not parse back. */
export function formatNetworkConfig(input: NetworkConfigInput): string {
  const obj: Record<string, unknown> = { Network: input.network.toString() };
  if (input.subnetLen !== undefined) obj.SubnetLen = input.subnetLen;
  if (input.subnetMin !== undefined) obj.SubnetMin = formatIpv4(input.subnetMin);
  if (input.subnetMax !== undefined) obj.SubnetMax = formatIpv4(input.subnetMax);
  if (input.ipv6 !== undefined) Object.assign(obj, formatIpv6ConfigFields(input.ipv6));
  const backend: Record<string, unknown> = { Type: input.backend };
  const defaults = defaultBackend(input.backend);
  if (anyBackendFacts(input.backend).defaultVni !== null) backend.VNI = input.vni ?? defaults.vni;
  else if (input.vni !== undefined) throw new ConfigError('a VNI applies to the vxlan backend only');
  if (input.backend === 'host-gw') {
    if (input.port !== undefined) throw new ConfigError('the host-gw backend has no port');
  } else backend[input.backend === 'wireguard' ? 'ListenPort' : 'Port'] = input.port ?? defaults.port;
  if (input.directRouting !== undefined) {
    if (input.backend !== 'vxlan') throw new ConfigError('DirectRouting applies to the vxlan backend only');
    backend.DirectRouting = input.directRouting;
  }
  obj.Backend = backend;
  const text = JSON.stringify(obj);
  parseNetworkConfig(text);
  return text;
}

// ---- subnet keys: subnet-key.ts (re-exported here) ----------------------------------------------

export { formatSubnetKey, parseSubnetKey, parseSubnetKeys } from './subnet-key.js';

// ---- lease values -------------------------------------------------------------------------------

export interface LeaseAttrs extends LeaseV6Attrs {
  publicIp: Ipv4;
  /** As written by the lease owner ("vxlan", "udp", or anything flannel supports). */
  backendType: string;
  /** BackendData.VNI, when present (vxlan). */
  vni?: number;
  /** BackendData.VtepMAC (vxlan). */
  vtepMac?: Mac;
  /** BackendData.PublicKey, base64 (wireguard). */
  publicKey?: string;
}

/** The JSON value of a subnet lease, byte-compatible with flannel's json.Marshal of LeaseAttrs. */
export function encodeLeaseAttrs(attrs: LeaseAttrs): string {
  const obj: Record<string, unknown> = {
    PublicIP: formatIpv4(attrs.publicIp),
    PublicIPv6: encodePublicIpv6(attrs.publicIpv6),
  };
  if (attrs.backendType !== '') obj.BackendType = attrs.backendType;
  const facts = isAnyBackendName(attrs.backendType) ? anyBackendFacts(attrs.backendType) : undefined;
  const data: Record<string, unknown> = {};
  let any = false;
  // The table's order is flannel's struct field order (vxlan: VNI, then VtepMAC).
  for (const field of facts?.leaseData ?? LEGACY_FIELDS) {
    const value = leaseFieldValue(attrs, field.kind);
    if (value === undefined) continue;
    data[field.key] = value;
    any = true;
  }
  if (any) obj.BackendData = data;
  const v6Data = encodeBackendV6Data(attrs);
  if (v6Data !== undefined) obj.BackendV6Data = v6Data;
  return JSON.stringify(obj);
}

/** Lease data written for a backend type flannelette has no row for (kept as it always was). */
const LEGACY_FIELDS = backendFacts('vxlan').leaseData;

function leaseFieldValue(attrs: LeaseAttrs, kind: LeaseDataField['kind']): unknown {
  switch (kind) {
    case 'vni':
      return attrs.vni;
    case 'mac':
      return attrs.vtepMac === undefined ? undefined : formatMac(attrs.vtepMac);
    case 'public-key':
      return attrs.publicKey;
  }
}

export function decodeLeaseAttrs(text: string): Decoded<LeaseAttrs> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `lease value is not JSON (${oneLine(err)})` };
  }
  if (!isObject(raw)) return { ok: false, reason: 'lease value is not a JSON object' };
  if (typeof raw.PublicIP !== 'string') return { ok: false, reason: 'lease has no PublicIP string' };
  let publicIp: Ipv4;
  try {
    publicIp = parseIpv4(raw.PublicIP);
  } catch (err) {
    return { ok: false, reason: `lease PublicIP: ${oneLine(err)}` };
  }
  if (raw.BackendType !== undefined && typeof raw.BackendType !== 'string')
    return { ok: false, reason: 'lease BackendType is not a string' };
  const attrs: LeaseAttrs = { publicIp, backendType: (raw.BackendType ?? '').toLowerCase() };
  const v6Problem = decodeLeaseV6(raw, attrs);
  if (v6Problem !== undefined) return { ok: false, reason: v6Problem };
  if (!isAnyBackendName(attrs.backendType)) return { ok: true, value: attrs };
  const problem = decodeBackendData(anyBackendFacts(attrs.backendType), raw.BackendData, attrs);
  return problem === undefined ? { ok: true, value: attrs } : { ok: false, reason: problem };
}

/**
 * Reads a lease's BackendData as the backend's row describes it into `attrs`; returns the reason
 * when a field is missing or malformed. A backend whose leases carry no data ignores BackendData.
 */
export function decodeBackendData(facts: BackendFacts, data: unknown, attrs: LeaseAttrs): string | undefined {
  if (facts.leaseData.length === 0) return undefined;
  const name = facts.name;
  if (!isObject(data)) return `${name} lease has no BackendData object`;
  for (const field of facts.leaseData) {
    const value = data[field.key];
    const at = `${name} lease BackendData.${field.key}`;
    if (value === undefined) {
      if (field.required) return `${name} lease has no BackendData.${field.key} string`;
      continue;
    }
    switch (field.kind) {
      case 'vni':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffff) {
          return `${at} is not an integer 0..16777215`;
        }
        attrs.vni = value;
        break;
      case 'mac':
        if (typeof value !== 'string') return `${name} lease has no BackendData.${field.key} string`;
        try {
          attrs.vtepMac = parseMac(value);
        } catch (err) {
          return `${name} lease ${field.key}: ${oneLine(err)}`;
        }
        break;
      case 'public-key':
        if (typeof value !== 'string' || !isWgKeyText(value)) return `${at} is not a base64 32-byte key`;
        attrs.publicKey = value;
        break;
    }
  }
  return undefined;
}

/** A peer from a decoded lease, if its backend matches ours (with its IPv6 subnet when the key has one). */
export function leaseToPeer(
  subnet: Cidr,
  attrs: LeaseAttrs,
  backend: AnyBackendName,
  subnet6?: Cidr6,
): Decoded<PeerInfo> {
  if (attrs.backendType !== backend) {
    return {
      ok: false,
      reason: `lease backend "${attrs.backendType || '(none)'}" does not match the network's "${backend}"`,
    };
  }
  const peer: PeerInfo = { subnet, publicIp: attrs.publicIp };
  if (needsVtepMac(anyBackendFacts(backend))) peer.vtepMac = attrs.vtepMac;
  if (attrs.publicKey !== undefined) peer.publicKey = Buffer.from(attrs.publicKey, 'base64');
  if (subnet6 !== undefined) peer.subnet6 = subnet6;
  if (attrs.publicIpv6 !== undefined) peer.publicIpv6 = attrs.publicIpv6;
  if (attrs.vtepMacV6 !== undefined) peer.vtepMacV6 = attrs.vtepMacV6;
  return { ok: true, value: peer };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalInt(v: unknown, name: string, bad: (why: string) => never): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return bad(`${name} must be an integer`);
  return v;
}
