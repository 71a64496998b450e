// One subnet acquisition as flanneld's etcd subnet manager does it, over a SubnetRegistry:
// reuse a lease that already carries our PublicIP (if it fits the config); else the subnet from a
// previous subnet.env if it is free; else a random free subnet (subnet-alloc.ts). New keys are
// created in a transaction that fails if the key exists: a lost race is tried again, up to
// RACE_RETRIES times. With `only`, accept that subnet and no other (re-acquiring after our lease
// was lost, while the data path is built around it). With IPv6 enabled (dual stack) the IPv6 subnet
// is chosen alongside, as flannel's LocalManager does, and the key is "<v4>-<len>&<v6>-<len>".
// Rejects with SubnetExhaustedError (no free subnet), SubnetTakenError (`only` is taken),
// StoppedError (stopped meanwhile), FlanError ERACE (too many lost races), or whatever the
// registry rejects with (unreachable).
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Cidr6 } from '../addr/ipv6.js';
import { FlanError, StoppedError, SubnetExhaustedError, SubnetTakenError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { decodeLeaseAttrs, formatSubnetKey, parseSubnetKeys, type NetworkConfig } from './flannel-format.js';
import { chooseSubnet, chooseSubnet6, isSubnet6Compatible, isSubnetCompatible } from './subnet-alloc.js';
import type { SubnetRegistry } from './subnet-registry.js';

export const RACE_RETRIES = 10;

export interface OwnLease {
  subnet: Cidr;
  /** Dual stack: the IPv6 subnet leased with it. */
  subnet6?: Cidr6;
  key: string;
  leaseId: string;
  /** Unix ms. */
  expiresAt: number;
}

export interface AcquireContext {
  registry: SubnetRegistry;
  publicIp: Ipv4;
  ttlSeconds: number;
  rng: Rng;
  log: Logger;
  /** Unix ms (from the injected clock). */
  wallMs: () => number;
  isStopped: () => boolean;
  /** The subnets of a previous subnet.env (FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET), when there is a readable one. */
  previousSubnet: () => { subnet: Cidr; subnet6?: Cidr6 } | undefined;
}

/** Acquires a subnet lease whose value is `value` (our encoded lease attributes). */
export async function acquireSubnet(
  ctx: AcquireContext,
  cfg: NetworkConfig,
  value: string,
  only?: Cidr,
  only6?: Cidr6,
): Promise<OwnLease> {
  const reg = ctx.registry;
  const lease = (subnet: Cidr, subnet6: Cidr6 | undefined, key: string, leaseId: string): OwnLease => ({
    subnet,
    ...(subnet6 ? { subnet6 } : {}),
    key,
    leaseId,
    expiresAt: ctx.wallMs() + ctx.ttlSeconds * 1000,
  });
  const v6 = cfg.ipv6;
  for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
    if (ctx.isStopped()) throw new StoppedError('etcd membership stopped');
    const { kvs } = await reg.listSubnets();
    const taken: Cidr[] = [];
    const taken6: Cidr6[] = [];
    let mine: { subnet: Cidr; subnet6?: Cidr6 } | undefined;
    for (const kv of kvs) {
      const key = parseSubnetKeys(kv.key);
      if (!key.ok) continue;
      const attrs = decodeLeaseAttrs(kv.value);
      if (attrs.ok && attrs.value.publicIp === ctx.publicIp && !mine) mine = key.value;
      else {
        taken.push(key.value.subnet);
        if (key.value.subnet6) taken6.push(key.value.subnet6);
      }
    }
    if (mine) {
      const fits = isSubnetCompatible(cfg, mine.subnet) && isSubnet6Compatible(v6, mine.subnet6);
      if (fits && (!only || only.equals(mine.subnet))) {
        ctx.log.info({ subnet: mine.subnet.toString() }, 'found a lease for this node in etcd; reusing it');
        const leaseId = await reg.grant(ctx.ttlSeconds);
        const key = reg.subnetKey(formatSubnetKey(mine.subnet, mine.subnet6));
        await reg.put(key, value, leaseId);
        return lease(mine.subnet, mine.subnet6, key, leaseId);
      }
      ctx.log.warn(
        { subnet: mine.subnet.toString() },
        'a lease for this node does not fit the network config; deleting it',
      );
      await reg.delete(reg.subnetKey(formatSubnetKey(mine.subnet, mine.subnet6)));
    }
    const isFree = (s: Cidr): boolean => isSubnetCompatible(cfg, s) && !taken.some((t) => t.overlaps(s));
    const isFree6 = (s: Cidr6 | undefined): boolean =>
      isSubnet6Compatible(v6, s) && (s === undefined || !taken6.some((t) => t.overlaps(s)));
    let subnet: Cidr | undefined;
    let subnet6: Cidr6 | undefined;
    const previousEnv = ctx.previousSubnet();
    const previous6 = previousEnv?.subnet6;
    if (only) {
      if (!isFree(only))
        throw new SubnetTakenError(`subnet ${only} is no longer free; restart the node to get a new one`);
      subnet = only;
      if (only6 && taken6.some((t) => t.overlaps(only6)))
        throw new SubnetTakenError(`IPv6 subnet ${only6} is no longer free; restart the node to get a new one`);
      subnet6 = only6 ?? (v6 ? chooseSubnet6(v6, taken6, ctx.rng) : undefined);
    } else {
      const previous = previousEnv?.subnet;
      if (previous && isFree(previous) && isFree6(v6 ? previous6 : undefined)) {
        ctx.log.info({ subnet: previous.toString() }, 'reusing the subnet from subnet.env');
        subnet = previous;
        subnet6 = v6 ? previous6 : undefined;
      } else {
        subnet = chooseSubnet(cfg, taken, ctx.rng);
        subnet6 = v6 ? chooseSubnet6(v6, taken6, ctx.rng) : undefined;
      }
    }
    if (!subnet) throw new SubnetExhaustedError(`out of subnets in ${cfg.network} (SubnetLen ${cfg.subnetLen})`);
    if (v6 && !subnet6)
      throw new SubnetExhaustedError(`out of IPv6 subnets in ${v6.network} (IPv6SubnetLen ${v6.subnetLen})`);
    const key = reg.subnetKey(formatSubnetKey(subnet, subnet6));
    const leaseId = await reg.grant(ctx.ttlSeconds);
    if (await reg.createIfAbsent(key, value, leaseId)) return lease(subnet, subnet6, key, leaseId);
    await reg.revoke(leaseId).catch(() => undefined);
    ctx.log.debug({ subnet: subnet.toString() }, 'lost a race for a subnet; trying again');
  }
  throw new FlanError('ERACE', `gave up acquiring a subnet after ${RACE_RETRIES} races`);
}
