// What one key under <prefix>/subnets/ means to this node: our own lease, a usable peer, or
// something to skip (a key that is not a subnet, a malformed value, a lease for another backend,
// a subnet overlapping ours), with a one-line reason and a key for logging each case once. Pure;
// never throws.
import { formatIpv4, type Cidr, type Ipv4 } from '../addr/ipv4.js';
import { decodeLeaseAttrs, leaseToPeer, parseSubnetKeys } from './flannel-format.js';
import type { AnyBackendName } from '../backend/table.js';
import type { PeerInfo } from './membership.js';
import type { SubnetKv } from './subnet-registry.js';

export type LeaseKv =
  | {
      kind: 'own';
      /** The value names our PublicIP (false: another node wrote our key, or it is malformed). */
      ours: boolean;
      /** Another node's PublicIP is in our key (logged once). */
      foreign?: { logKey: string; message: string; publicIp: string };
    }
  | { kind: 'peer'; peer: PeerInfo }
  | {
      kind: 'skip';
      /** The subnet, when the key is one (a skipped lease is no peer any more). */
      subnet?: Cidr;
      logKey: string;
      message: string;
    };

export interface LeaseKvContext {
  /** Our subnet, once we hold a lease. */
  own?: Cidr;
  publicIp: Ipv4;
  backend: AnyBackendName;
}

export function classifyLeaseKv(kv: SubnetKv, ctx: LeaseKvContext): LeaseKv {
  const key = parseSubnetKeys(kv.key);
  if (!key.ok) return { kind: 'skip', logKey: `key:${kv.key}`, message: `skipping etcd key: ${key.reason}` };
  const { subnet, subnet6 } = key.value;
  const attrs = decodeLeaseAttrs(kv.value);
  if (ctx.own && subnet.equals(ctx.own)) {
    const ours = attrs.ok && attrs.value.publicIp === ctx.publicIp;
    if (attrs.ok && !ours) {
      return {
        kind: 'own',
        ours,
        foreign: {
          logKey: `foreign-own:${kv.key}:${kv.value}`,
          message: 'another node wrote our subnet key',
          publicIp: formatIpv4(attrs.value.publicIp),
        },
      };
    }
    return { kind: 'own', ours };
  }
  if (!attrs.ok) {
    return {
      kind: 'skip',
      subnet,
      logKey: `value:${kv.key}:${kv.value}`,
      message: `skipping malformed lease: ${attrs.reason}`,
    };
  }
  const peer = leaseToPeer(subnet, attrs.value, ctx.backend, subnet6);
  if (!peer.ok)
    return { kind: 'skip', subnet, logKey: `backend:${kv.key}:${kv.value}`, message: `skipping lease: ${peer.reason}` };
  if (ctx.own && subnet.overlaps(ctx.own)) {
    return {
      kind: 'skip',
      subnet,
      logKey: `overlap:${kv.key}`,
      message: `skipping lease ${subnet}: it overlaps our subnet ${ctx.own}`,
    };
  }
  return { kind: 'peer', peer: peer.value };
}
