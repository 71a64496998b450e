// flannel's dual-stack parts of the etcd formats (pkg/subnet/config.go CheckNetworkConfig, pkg/subnet
// MakeSubnetKey/ParseSubnetKey, pkg/lease LeaseAttrs), kept apart from flannel-format.ts:
//   config:  "EnableIPv6": true, "IPv6Network": "fc00::/48", "IPv6SubnetLen": 64,
//            "IPv6SubnetMin": "fc00:0:0:1::", "IPv6SubnetMax": "fc00:0:0:ffff::"
//   key:     <prefix>/subnets/10.244.1.0-24&fc00:0:0:1::-64
//   lease:   "PublicIPv6": "fd00::2" (null when none), "BackendV6Data": {"VNI":1,"VtepMAC":"…"}
// parseIpv6NetworkConfig throws ConfigError (through `bad`) with flannel's reasons; the key and lease
// decoders never throw (their input comes from other nodes).
import { Cidr6, formatIpv6, parseIpv6, type Ipv6 } from '../addr/ipv6.js';
import { formatMac, parseMac, type Mac } from '../addr/mac.js';
import { oneLine } from '../util/errors.js';
import { subnetBounds, subnetLength, type RangeFamily } from './flannel-range.js';

export interface Ipv6NetworkConfig {
  network: Cidr6;
  subnetLen: number;
  /** First and last subnet (network addresses) that may be leased. */
  subnetMin: Ipv6;
  subnetMax: Ipv6;
}

type Bad = (why: string) => never;

const IPV6_RANGE: RangeFamily = {
  bits: 128,
  keyPrefix: 'IPv6',
  defaultSubnetLen: 64,
  networkName: 'IPv6Network',
  example: 'fc00:0:0:1::',
  parse: (text) => {
    const ip = parseIpv6(text);
    return ip === 0n ? undefined : ip; // flannel's ip.IsEmpty: "::" means unset
  },
};

/** flannel's EnableIPv4 (default true) and EnableIPv6 (default false). */
export function enableFlags(raw: Record<string, unknown>, bad: Bad): { ipv4: boolean; ipv6: boolean } {
  const flag = (key: string, fallback: boolean): boolean => {
    const v = raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') return bad(`${key} must be true or false`);
    return v;
  };
  return { ipv4: flag('EnableIPv4', true), ipv6: flag('EnableIPv6', false) };
}

/** The IPv6 half of CheckNetworkConfig, run when EnableIPv6 is true. Calls `bad` with the reason. */
export function parseIpv6NetworkConfig(raw: Record<string, unknown>, bad: Bad): Ipv6NetworkConfig {
  if (raw.IPv6Network === undefined || raw.IPv6Network === null || raw.IPv6Network === '')
    bad('please define a correct IPv6Network parameter in the flannel config (e.g. "fc00::/48")');
  if (typeof raw.IPv6Network !== 'string') return bad('IPv6Network must be a string like "fc00::/48"');
  let network: Cidr6;
  try {
    network = Cidr6.parse(raw.IPv6Network);
  } catch (err) {
    return bad(`IPv6Network: ${oneLine(err)}`);
  }
  let subnetLen = 0;
  const lenValue = raw.IPv6SubnetLen;
  if (lenValue !== undefined && lenValue !== null) {
    if (typeof lenValue !== 'number' || !Number.isInteger(lenValue) || lenValue < 0)
      return bad('IPv6SubnetLen must be an integer');
    subnetLen = lenValue;
  }
  const net = { text: network.toString(), network: network.network, prefix: network.prefix };
  subnetLen = subnetLength(IPV6_RANGE, net, subnetLen, bad);
  const bounds = subnetBounds(IPV6_RANGE, net, subnetLen, raw, bad);
  return { network, subnetLen, subnetMin: bounds.min, subnetMax: bounds.max };
}

/** The config fields flannelette network init writes for IPv6 (absent: flannel's defaults). */
export function formatIpv6ConfigFields(v6: { network: Cidr6; subnetLen?: number }): Record<string, unknown> {
  const out: Record<string, unknown> = { EnableIPv6: true, IPv6Network: v6.network.toString() };
  if (v6.subnetLen !== undefined) out.IPv6SubnetLen = v6.subnetLen;
  return out;
}

// ---- subnet keys ------------------------------------------------------------------------------

/** The "&fc00:0:0:1::-64" suffix of a dual-stack key (empty without an IPv6 subnet). */
export function formatSubnetKeySuffix(subnet6: Cidr6 | undefined): string {
  return subnet6 === undefined ? '' : `&${formatIpv6(subnet6.network)}-${subnet6.prefix}`;
}

/** Decodes the IPv6 part of a key's "&<v6>-<len>" suffix (the text after '&'). */
export function parseSubnetKeyV6(
  addr: string,
  len: string,
): { ok: true; value: Cidr6 } | { ok: false; reason: string } {
  const prefix = Number(len);
  if (!Number.isInteger(prefix) || prefix > 128)
    return { ok: false, reason: `IPv6 prefix length over 128 in subnet key "…&${addr}-${len}"` };
  try {
    return { ok: true, value: Cidr6.parse(`${addr}/${prefix}`, { strict: true }) };
  } catch (err) {
    return { ok: false, reason: `subnet key IPv6 part "${addr}-${len}": ${oneLine(err)}` };
  }
}

// ---- lease values -------------------------------------------------------------------------------

export interface LeaseV6Attrs {
  /** PublicIPv6 (null in the JSON when absent). */
  publicIpv6?: Ipv6;
  /** BackendV6Data.VNI and .VtepMAC (vxlan's IPv6 device). */
  vniV6?: number;
  vtepMacV6?: Mac;
}

export function encodePublicIpv6(ip: Ipv6 | undefined): string | null {
  return ip === undefined ? null : formatIpv6(ip);
}

/** BackendV6Data for a vxlan lease, or undefined when there is none to write. */
export function encodeBackendV6Data(attrs: LeaseV6Attrs): Record<string, unknown> | undefined {
  if (attrs.vniV6 === undefined && attrs.vtepMacV6 === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (attrs.vniV6 !== undefined) out.VNI = attrs.vniV6;
  if (attrs.vtepMacV6 !== undefined) out.VtepMAC = formatMac(attrs.vtepMacV6);
  return out;
}

/** Reads PublicIPv6 and BackendV6Data of a lease into `attrs`; returns the reason when malformed. */
export function decodeLeaseV6(raw: Record<string, unknown>, attrs: LeaseV6Attrs): string | undefined {
  const pub = raw.PublicIPv6;
  if (pub !== undefined && pub !== null) {
    if (typeof pub !== 'string') return 'lease PublicIPv6 is not a string';
    try {
      attrs.publicIpv6 = parseIpv6(pub);
    } catch (err) {
      return `lease PublicIPv6: ${oneLine(err)}`;
    }
  }
  const data = raw.BackendV6Data;
  if (data === undefined || data === null) return undefined;
  if (typeof data !== 'object' || Array.isArray(data)) return 'lease BackendV6Data is not a JSON object';
  const d = data as Record<string, unknown>;
  if (d.VNI !== undefined) {
    if (typeof d.VNI !== 'number' || !Number.isInteger(d.VNI) || d.VNI < 0 || d.VNI > 0xffffff)
      return 'lease BackendV6Data.VNI is not an integer 0..16777215';
    attrs.vniV6 = d.VNI;
  }
  if (d.VtepMAC !== undefined) {
    if (typeof d.VtepMAC !== 'string') return 'lease BackendV6Data.VtepMAC is not a string';
    try {
      attrs.vtepMacV6 = parseMac(d.VtepMAC);
    } catch (err) {
      return `lease BackendV6Data.VtepMAC: ${oneLine(err)}`;
    }
  }
  return undefined;
}
