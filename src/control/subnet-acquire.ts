// One subnet acquisition as flanneld's etcd subnet manager does it, over a SubnetRegistry:
// reuse a lease that already carries our PublicIP (if it fits the config); else the subnet from a
// previous subnet.env if it is free; else a random free subnet (subnet-alloc.ts). New keys are
// created in a transaction that fails if the key exists: a lost race is tried again, up to
// RACE_RETRIES times. With `only`, accept that subnet and no other (re-acquiring after our lease
// was lost, while the data path is built around it).
// Rejects with SubnetExhaustedError (no free subnet), SubnetTakenError (`only` is taken),
// StoppedError (stopped meanwhile), FlanError ERACE (too many lost races), or whatever the
// registry rejects with (unreachable).
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import { FlanError, StoppedError, SubnetExhaustedError, SubnetTakenError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { decodeLeaseAttrs, formatSubnetKey, parseSubnetKey, type NetworkConfig } from './flannel-format.js';
import { chooseSubnet, isSubnetCompatible } from './subnet-alloc.js';
import type { SubnetRegistry } from './subnet-registry.js';

export const RACE_RETRIES = 10;

export interface OwnLease {
  subnet: Cidr;
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
  /** The subnet of a previous subnet.env, when there is a readable one. */
  previousSubnet: () => Cidr | undefined;
}

/** Acquires a subnet lease whose value is `value` (our encoded lease attributes). */
export async function acquireSubnet(
  ctx: AcquireContext,
  cfg: NetworkConfig,
  value: string,
  only?: Cidr,
): Promise<OwnLease> {
  const reg = ctx.registry;
  const lease = (subnet: Cidr, key: string, leaseId: string): OwnLease => ({
    subnet,
    key,
    leaseId,
    expiresAt: ctx.wallMs() + ctx.ttlSeconds * 1000,
  });
  for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
    if (ctx.isStopped()) throw new StoppedError('etcd membership stopped');
    const { kvs } = await reg.listSubnets();
    const taken: Cidr[] = [];
    let mine: Cidr | undefined;
    for (const kv of kvs) {
      const key = parseSubnetKey(kv.key);
      if (!key.ok) continue;
      const attrs = decodeLeaseAttrs(kv.value);
      if (attrs.ok && attrs.value.publicIp === ctx.publicIp && !mine) mine = key.value;
      else taken.push(key.value);
    }
    if (mine) {
      if (isSubnetCompatible(cfg, mine) && (!only || only.equals(mine))) {
        ctx.log.info({ subnet: mine.toString() }, 'found a lease for this node in etcd; reusing it');
        const leaseId = await reg.grant(ctx.ttlSeconds);
        const key = reg.subnetKey(formatSubnetKey(mine));
        await reg.put(key, value, leaseId);
        return lease(mine, key, leaseId);
      }
      ctx.log.warn({ subnet: mine.toString() }, 'a lease for this node does not fit the network config; deleting it');
      await reg.delete(reg.subnetKey(formatSubnetKey(mine)));
    }
    const isFree = (s: Cidr): boolean => isSubnetCompatible(cfg, s) && !taken.some((t) => t.overlaps(s));
    let subnet: Cidr | undefined;
    if (only) {
      if (!isFree(only))
        throw new SubnetTakenError(`subnet ${only} is no longer free; restart the node to get a new one`);
      subnet = only;
    } else {
      const previous = ctx.previousSubnet();
      if (previous && isFree(previous)) {
        ctx.log.info({ subnet: previous.toString() }, 'reusing the subnet from subnet.env');
        subnet = previous;
      } else {
        subnet = chooseSubnet(cfg, taken, ctx.rng);
      }
    }
    if (!subnet) throw new SubnetExhaustedError(`out of subnets in ${cfg.network} (SubnetLen ${cfg.subnetLen})`);
    const key = reg.subnetKey(formatSubnetKey(subnet));
    const leaseId = await reg.grant(ctx.ttlSeconds);
    if (await reg.createIfAbsent(key, value, leaseId)) return lease(subnet, key, leaseId);
    await reg.revoke(leaseId).catch(() => undefined);
    ctx.log.debug({ subnet: subnet.toString() }, 'lost a race for a subnet; trying again');
  }
  throw new FlanError('ERACE', `gave up acquiring a subnet after ${RACE_RETRIES} races`);
}
