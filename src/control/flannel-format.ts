// flannel's etcd data formats, so flanneld, etcdctl users and flannelette read each other's keys:
//   <prefix>/config                 {"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0",
//                                    "SubnetMax":"10.244.255.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}
//   <prefix>/subnets/10.244.1.0-24  {"PublicIP":"192.168.1.2","PublicIPv6":null,"BackendType":"vxlan",
//                                    "BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:01:01"}}
// Semantics follow flannel's pkg/subnet/config.go (ParseConfig + CheckNetworkConfig), pkg/lease
// (LeaseAttrs JSON: PublicIP, PublicIPv6 (a nil pointer, written as null), BackendType, BackendData)
// and the vxlan backend's lease data (VNI, VtepMAC). The IPv6 parts are read past, never used.
// parseNetworkConfig throws ConfigError with the reason (a config is operator input); lease values
// and keys come from other nodes, so their decoders return { ok: false, reason } instead of throwing.
import { Cidr, formatIpv4, parseIpv4, type Ipv4 } from '../addr/ipv4.js';
import { formatMac, parseMac, type Mac } from '../addr/mac.js';
import { ConfigError, oneLine } from '../util/errors.js';
import { defaultBackend, type BackendConfig, type BackendType, type PeerInfo } from './membership.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface NetworkConfig {
  network: Cidr;
  subnetLen: number;
  /** First and last subnet (network addresses) that may be leased. */
  subnetMin: Ipv4;
  subnetMax: Ipv4;
  backend: BackendConfig;
}

/** What `flannelette network init` writes; absent fields are left for flannel's defaults. */
export interface NetworkConfigInput {
  network: Cidr;
  subnetLen?: number;
  subnetMin?: Ipv4;
  subnetMax?: Ipv4;
  backend: BackendType;
  vni?: number;
  port?: number;
}

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

  if (raw.Network === undefined || raw.Network === '') bad('Network is missing (e.g. "10.244.0.0/16")');
  if (typeof raw.Network !== 'string') return bad('Network must be a string like "10.244.0.0/16"');
  let network: Cidr;
  try {
    network = Cidr.parse(raw.Network); // flannel masks host bits, as does Cidr
  } catch (err) {
    return bad(`Network: ${oneLine(err)}`);
  }

  let subnetLen = optionalInt(raw.SubnetLen, 'SubnetLen', bad) ?? 0;
  if (subnetLen > 0) {
    if (subnetLen > 30) bad('SubnetLen must be less than /31');
    if (subnetLen < network.prefix + 2) bad(`network ${network} must be able to hold at least four /${subnetLen} subnets`);
  } else if (network.prefix > 28) {
    bad(`network ${network} is too small; the smallest useful network is a /28`);
  } else {
    subnetLen = network.prefix <= 22 ? 24 : network.prefix + 2;
  }
  const subnetSize = 2 ** (32 - subnetLen);
  const mask = new Cidr(0, subnetLen).mask;

  const bound = (value: unknown, name: string, fallback: Ipv4): Ipv4 => {
    if (value === undefined || value === null || value === '' || value === '0.0.0.0') return fallback;
    if (typeof value !== 'string') return bad(`${name} must be a string like "10.244.1.0"`);
    let ip: Ipv4;
    try {
      ip = parseIpv4(value);
    } catch (err) {
      return bad(`${name}: ${oneLine(err)}`);
    }
    if (!network.contains(ip)) bad(`${name} ${value} is not in the range of the Network ${network}`);
    if (((ip & mask) >>> 0) !== ip) bad(`${name} ${value} is not on a /${subnetLen} boundary`);
    return ip;
  };
  // The first subnet is skipped: its first address would be the network address of the overlay.
  const subnetMin = bound(raw.SubnetMin, 'SubnetMin', (network.network + subnetSize) >>> 0);
  const subnetMax = bound(raw.SubnetMax, 'SubnetMax', (network.broadcast + 1 - subnetSize) >>> 0);

  return { network, subnetLen, subnetMin, subnetMax, backend: parseBackend(raw.Backend, bad) };
}

function parseBackend(value: unknown, bad: (why: string) => never): BackendConfig {
  if (value === undefined || value === null) return defaultBackend('udp'); // flannel's default when Backend is absent
  if (!isObject(value)) return bad('Backend must be an object like {"Type":"vxlan"}');
  const typeText = value.Type === undefined ? 'udp' : value.Type;
  if (typeof typeText !== 'string') return bad('Backend.Type must be a string');
  const type = typeText.toLowerCase();
  if (type !== 'vxlan' && type !== 'udp') return bad(`backend type "${typeText}" is not supported (vxlan or udp)`);
  const out = defaultBackend(type);
  if (type === 'vxlan') {
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
  return out;
}

/** The JSON for <prefix>/config, in flannel's field order. Throws ConfigError if it would not parse back. */
export function formatNetworkConfig(input: NetworkConfigInput): string {
  const obj: Record<string, unknown> = { Network: input.network.toString() };
  if (input.subnetLen !== undefined) obj.SubnetLen = input.subnetLen;
  if (input.subnetMin !== undefined) obj.SubnetMin = formatIpv4(input.subnetMin);
  if (input.subnetMax !== undefined) obj.SubnetMax = formatIpv4(input.subnetMax);
  const backend: Record<string, unknown> = { Type: input.backend };
  const defaults = defaultBackend(input.backend);
  if (input.backend === 'vxlan') backend.VNI = input.vni ?? defaults.vni;
  else if (input.vni !== undefined) throw new ConfigError('a VNI applies to the vxlan backend only');
  backend.Port = input.port ?? defaults.port;
  obj.Backend = backend;
  const text = JSON.stringify(obj);
  parseNetworkConfig(text);
  return text;
}

// ---- subnet keys ------------------------------------------------------------------------------

/** "10.244.1.0/24" → "10.244.1.0-24" (the last segment of <prefix>/subnets/<key>). */
export function formatSubnetKey(subnet: Cidr): string {
  return `${formatIpv4(subnet.network)}-${subnet.prefix}`;
}

const SUBNET_KEY = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})-(\d{1,2})(?:&([0-9a-f:]+)-(\d{1,3}))?$/;

/** Parses the last path segment of a subnet key; a dual-stack "&<v6>-<len>" suffix is accepted and ignored. */
export function parseSubnetKey(key: string): Decoded<Cidr> {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const m = SUBNET_KEY.exec(name);
  if (!m) return { ok: false, reason: `not a subnet key (a.b.c.d-len): "${name}"` };
  const prefix = Number(m[2]);
  if (prefix > 32) return { ok: false, reason: `prefix length over 32 in subnet key "${name}"` };
  try {
    return { ok: true, value: Cidr.parse(`${m[1]}/${prefix}`, { strict: true }) };
  } catch (err) {
    return { ok: false, reason: `subnet key "${name}": ${oneLine(err)}` };
  }
}

// ---- lease values -------------------------------------------------------------------------------

export interface LeaseAttrs {
  publicIp: Ipv4;
  /** As written by the lease owner ("vxlan", "udp", or anything flannel supports). */
  backendType: string;
  /** vxlan BackendData.VNI, when present. */
  vni?: number;
  /** vxlan BackendData.VtepMAC. */
  vtepMac?: Mac;
}

/** The JSON value of a subnet lease, byte-compatible with flannel's json.Marshal of LeaseAttrs. */
export function encodeLeaseAttrs(attrs: LeaseAttrs): string {
  const obj: Record<string, unknown> = { PublicIP: formatIpv4(attrs.publicIp), PublicIPv6: null };
  if (attrs.backendType !== '') obj.BackendType = attrs.backendType;
  if (attrs.vtepMac !== undefined || attrs.vni !== undefined) {
    const data: Record<string, unknown> = {};
    if (attrs.vni !== undefined) data.VNI = attrs.vni;
    if (attrs.vtepMac !== undefined) data.VtepMAC = formatMac(attrs.vtepMac);
    obj.BackendData = data;
  }
  return JSON.stringify(obj);
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
  if (raw.BackendType !== undefined && typeof raw.BackendType !== 'string') return { ok: false, reason: 'lease BackendType is not a string' };
  const attrs: LeaseAttrs = { publicIp, backendType: ((raw.BackendType as string | undefined) ?? '').toLowerCase() };
  const data = raw.BackendData;
  if (attrs.backendType === 'vxlan') {
    if (!isObject(data)) return { ok: false, reason: 'vxlan lease has no BackendData object' };
    if (typeof data.VtepMAC !== 'string') return { ok: false, reason: 'vxlan lease has no BackendData.VtepMAC string' };
    try {
      attrs.vtepMac = parseMac(data.VtepMAC);
    } catch (err) {
      return { ok: false, reason: `vxlan lease VtepMAC: ${oneLine(err)}` };
    }
    if (data.VNI !== undefined) {
      if (typeof data.VNI !== 'number' || !Number.isInteger(data.VNI) || data.VNI < 0 || data.VNI > 0xffffff) {
        return { ok: false, reason: 'vxlan lease BackendData.VNI is not an integer 0..16777215' };
      }
      attrs.vni = data.VNI;
    }
  }
  return { ok: true, value: attrs };
}

/** A peer from a decoded lease, if its backend matches ours. */
export function leaseToPeer(subnet: Cidr, attrs: LeaseAttrs, backend: BackendType): Decoded<PeerInfo> {
  if (attrs.backendType !== backend) {
    return { ok: false, reason: `lease backend "${attrs.backendType || '(none)'}" does not match the network's "${backend}"` };
  }
  const peer: PeerInfo = { subnet, publicIp: attrs.publicIp };
  if (backend === 'vxlan') peer.vtepMac = attrs.vtepMac;
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
