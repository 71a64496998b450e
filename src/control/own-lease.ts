// What etcd membership writes and returns about itself: its own lease value (PublicIP, BackendType,
// BackendData, and for dual stack PublicIPv6 and BackendV6Data) and the IPv6 fields of its LocalLease.
// Pure. ownLeaseValue throws ConfigError when the network's backend is wireguard and there is no key.
import type { Cidr6, Ipv6 } from '../addr/ipv6.js';
import type { Mac } from '../addr/mac.js';
import { ConfigError } from '../util/errors.js';
import { encodeLeaseAttrs, type LeaseAttrs, type NetworkConfig } from './flannel-format.js';
import type { LeaseV6Attrs } from './flannel-ipv6.js';
import type { LocalLease } from './membership.js';

/**
 * The IPv6 fields of our lease value: PublicIPv6, and for vxlan BackendV6Data: the VNI and the IPv6
 * VTEP's own MAC (flanneld's flannel-v6.1 has one of its own; without one, the IPv4 VTEP's).
 */
export function dualStackLeaseAttrs(cfg: NetworkConfig, publicIpv6: Ipv6 | undefined, vtepMac?: Mac): LeaseV6Attrs {
  const out: LeaseV6Attrs = {};
  if (publicIpv6 !== undefined) out.publicIpv6 = publicIpv6;
  if (cfg.ipv6 && cfg.backend.type === 'vxlan') Object.assign(out, { vniV6: cfg.backend.vni, vtepMacV6: vtepMac });
  return out;
}

/** The IPv6 fields of the LocalLease etcd membership returns. */
export function dualStackLocalLease(
  subnet6: Cidr6 | undefined,
  cfg: NetworkConfig,
  publicIpv6: Ipv6 | undefined,
): Partial<LocalLease> {
  const out: Partial<LocalLease> = {};
  if (subnet6 && cfg.ipv6) Object.assign(out, { subnet6, network6: cfg.ipv6.network });
  if (publicIpv6 !== undefined) out.publicIpv6 = publicIpv6;
  return out;
}

/** Our own lease value as etcd.ts writes it: PublicIP, BackendType, BackendData, and the IPv6 fields. */
export function ownLeaseValue(
  cfg: NetworkConfig,
  me: { publicIp: number; publicIpv6?: Ipv6; vtepMac?: Mac; vtepMacV6?: Mac; wg?: () => Buffer },
): string {
  const attrs: LeaseAttrs = { publicIp: me.publicIp, backendType: cfg.backend.type };
  if (cfg.backend.type === 'vxlan') Object.assign(attrs, { vni: cfg.backend.vni, vtepMac: me.vtepMac });
  Object.assign(attrs, dualStackLeaseAttrs(cfg, me.publicIpv6, me.vtepMacV6 ?? me.vtepMac));
  if (cfg.backend.type === 'wireguard') {
    if (!me.wg) throw new ConfigError('the network uses the wireguard backend but this node has no WireGuard key');
    attrs.publicKey = me.wg().toString('base64');
  }
  return encodeLeaseAttrs(attrs);
}
