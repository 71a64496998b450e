// etcd membership, compatible with flanneld's etcd subnet manager (same keys, same JSON, same
// acquisition order), so flannelette nodes and flanneld nodes can share one etcd:
//   1. read <prefix>/config (flannel's network config; missing or invalid: wait and retry);
//   2. reuse a lease that already carries our PublicIP; else the subnet from a previous subnet.env
//      if it is free; else a random free subnet in SubnetMin..SubnetMax (first 100 free, as flannel);
//      new keys are created in a transaction that fails if the key exists (a race: try again);
//   3. attach the key to an etcd lease (TTL default 24 h) and keep it alive every TTL/3;
//   4. list <prefix>/subnets/ and watch it from the listed revision: puts become peer-added or
//      peer-updated, deletes and expiries become peer-removed.
// Failure handling: while etcd is unreachable the last view is kept (the data path keeps
// forwarding), calls are retried with capped exponential backoff, and each state change is logged
// once. After a broken watch (disconnect, compaction) the subnets are re-listed and the difference
// is emitted. If our own key disappears (lease expired while we were away, or deleted), the same
// subnet is acquired again; nothing is emitted for ourselves. A malformed config or lease value is
// logged once and skipped. If our subnet was taken meanwhile, the state is "subnet-taken" and we
// keep retrying (a restart picks a new subnet). The subnet.env file is read here (to reuse a
// subnet) but written by the node, which knows the MTU (subnet-env.ts writeSubnetEnv).
// Throws: createEtcdMembership throws ConfigError for a bad TTL or no endpoints; start() rejects
// only if stop() comes first; nothing throws after start() has resolved.
import { Cidr, type Ipv4 } from '../addr/ipv4.js';
import type { Mac } from '../addr/mac.js';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';
import { ConfigError, DeviceError, FlanError, oneLine } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { randomRng, type Rng } from '../util/rng.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { EtcdRegistry, type SubnetKv, type SubnetWatch } from './etcd-registry.js';
import {
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  formatNetworkConfig,
  formatSubnetKey,
  leaseToPeer,
  parseNetworkConfig,
  parseSubnetKey,
  type LeaseAttrs,
  type NetworkConfig,
} from './flannel-format.js';
import type { BackendName } from '../backend/table.js';
import type { LocalLease, Membership, MembershipEvent, MembershipStatus, PeerInfo } from './membership.js';
import { PeerView } from './peer-view.js';
import { chooseSubnet, isSubnetCompatible } from './subnet-alloc.js';
import { readSubnetEnv } from './subnet-env.js';
import { loadOrCreateVtepMac } from './vtep-state.js';

export const DEFAULT_LEASE_TTL_SECONDS = 24 * 60 * 60;
const RACE_RETRIES = 10;

export interface EtcdMembershipOptions {
  endpoints: string[];
  /** Key prefix (default /coreos.com/network). */
  prefix?: string;
  /** This node's underlay address, written as the lease's PublicIP. */
  publicIp: Ipv4;
  logger: Logger;
  /** TTL of the subnet lease (default 24 h); renewed every TTL/3. */
  leaseTtlSeconds?: number;
  /** A previous subnet.env whose FLANNEL_SUBNET is reused when free. */
  subnetEnvPath?: string;
  /** This node's WireGuard public key, asked for when the network's backend is wireguard. */
  wireguardPublicKey?: () => Buffer;
  /** Where the VTEP MAC is kept across restarts (vxlan). Without it the MAC changes per start. */
  stateFile?: string;
  rng?: Rng;
  clock?: Clock;
  /** Backoff between retries while etcd is unreachable (default 250 ms doubling to 10 s). */
  retry?: BackoffOptions;
  /** Deadline of each etcd call (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Revoke the lease on stop() so peers drop us at once (default false: like flanneld, keep it
   *  so a restarted node gets the same subnet back). */
  revokeOnStop?: boolean;
}

interface OwnLease {
  subnet: Cidr;
  key: string;
  leaseId: string;
  expiresAt: number;
}

class StoppedError extends FlanError {
  constructor() {
    super('ESTOPPED', 'etcd membership stopped');
  }
}

export function createEtcdMembership(opts: EtcdMembershipOptions): Membership {
  const log = opts.logger;
  const clock = opts.clock ?? realClock;
  const rng = opts.rng ?? randomRng();
  const ttl = opts.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 2) throw new ConfigError(`leaseTtlSeconds must be an integer >= 2, got ${ttl}`);
  const reg = new EtcdRegistry({ endpoints: opts.endpoints, prefix: opts.prefix, requestTimeoutMs: opts.requestTimeoutMs });
  const retry = opts.retry ?? DEFAULT_BACKOFF;
  const view = new PeerView();

  let state = 'new';
  let lastError: string | undefined;
  let stopped = false;
  let onEvent: ((e: MembershipEvent) => void) | undefined;
  let netConfig: NetworkConfig | undefined;
  let vtepMac: Mac | undefined;
  let own: OwnLease | undefined;
  let watch: SubnetWatch | undefined;
  let seenRevision = 0;
  let reacquiring = false;
  let renewTimer: TimerHandle | undefined;
  let resyncTimer: TimerHandle | undefined;
  const resyncBackoff = new Backoff(retry, rng);
  const renewBackoff = new Backoff(retry, rng);
  const sleepers = new Set<{ handle: TimerHandle; resolve: () => void }>();
  const loggedOnce = new Set<string>();

  const wallMs = (): number => Number(clock.wallNs() / 1_000_000n);

  const setState = (next: string, err?: unknown): void => {
    if (stopped && next !== 'stopped') return;
    if (err !== undefined) lastError = oneLine(err);
    if (next === state) return;
    const prev = state;
    state = next;
    if (next === 'running' || next === 'starting' || next === 'stopped') {
      log.info({ from: prev }, `etcd membership: ${next}`);
    } else {
      log.warn({ from: prev, error: lastError }, `etcd membership: ${next}`);
    }
  };

  const logOnce = (key: string, msg: string, fields: Record<string, unknown> = {}): void => {
    if (loggedOnce.has(key)) return;
    if (loggedOnce.size > 10_000) loggedOnce.clear(); // bounded
    loggedOnce.add(key);
    log.warn(fields, msg);
  };

  const emit = (events: Array<MembershipEvent | undefined>): void => {
    for (const e of events) {
      if (!e) continue;
      try {
        onEvent?.(e);
      } catch (err) {
        log.error({ err }, 'membership event handler failed');
      }
    }
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopped) return resolve();
      const entry = {
        handle: clock.setTimeout(() => {
          sleepers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(entry);
    });

  const classify = (err: unknown): string => {
    if (err instanceof ConfigError) return err.message.includes('no network config') ? 'waiting-for-config' : 'config-invalid';
    if (err instanceof FlanError && err.code === 'ENOSUBNET') return 'out-of-subnets';
    if (err instanceof FlanError && err.code === 'ESUBNETTAKEN') return 'subnet-taken';
    return 'etcd-unavailable';
  };

  // ---- acquiring ----------------------------------------------------------------------------------

  const leaseValue = (cfg: NetworkConfig): string => {
    const attrs: LeaseAttrs = { publicIp: opts.publicIp, backendType: cfg.backend.type };
    if (cfg.backend.type === 'vxlan') {
      attrs.vni = cfg.backend.vni;
      attrs.vtepMac = vtepMac;
    }
    if (cfg.backend.type === 'wireguard') {
      if (!opts.wireguardPublicKey) throw new ConfigError('the network uses the wireguard backend but this node has no WireGuard key');
      attrs.publicKey = opts.wireguardPublicKey().toString('base64');
    }
    return encodeLeaseAttrs(attrs);
  };

  const readConfig = async (): Promise<NetworkConfig> => {
    const text = await reg.getConfig();
    if (text === undefined) throw new ConfigError(`no network config at ${reg.configKey} (create it with "flannelette network init")`);
    const cfg = parseNetworkConfig(text);
    if (netConfig && (!cfg.network.equals(netConfig.network) || cfg.backend.type !== netConfig.backend.type)) {
      logOnce(`config-changed:${text}`, 'the network config in etcd changed; restart the node to apply it', { key: reg.configKey });
    }
    return netConfig ?? cfg;
  };

  /**
   * One acquisition as flanneld does it. `only`: accept this subnet and no other (re-acquiring
   * after our lease was lost, while the data path is built around it).
   */
  const acquire = async (only?: Cidr): Promise<OwnLease> => {
    const cfg = await readConfig();
    if (cfg.backend.type === 'vxlan' && !vtepMac) vtepMac = loadOrCreateVtepMac(opts.stateFile, rng, log);
    const value = leaseValue(cfg);
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      if (stopped) throw new StoppedError();
      const { kvs } = await reg.listSubnets();
      const taken: Cidr[] = [];
      let mine: Cidr | undefined;
      for (const kv of kvs) {
        const key = parseSubnetKey(kv.key);
        if (!key.ok) continue;
        const attrs = decodeLeaseAttrs(kv.value);
        if (attrs.ok && attrs.value.publicIp === opts.publicIp && !mine) mine = key.value;
        else taken.push(key.value);
      }
      if (mine) {
        if (isSubnetCompatible(cfg, mine) && (!only || only.equals(mine))) {
          log.info({ subnet: mine.toString() }, 'found a lease for this node in etcd; reusing it');
          const leaseId = await reg.grant(ttl);
          const key = reg.subnetKey(formatSubnetKey(mine));
          await reg.put(key, value, leaseId);
          netConfig = cfg;
          return { subnet: mine, key, leaseId, expiresAt: wallMs() + ttl * 1000 };
        }
        log.warn({ subnet: mine.toString() }, 'a lease for this node does not fit the network config; deleting it');
        await reg.delete(reg.subnetKey(formatSubnetKey(mine)));
      }
      const isFree = (s: Cidr): boolean => isSubnetCompatible(cfg, s) && !taken.some((t) => t.overlaps(s));
      let subnet: Cidr | undefined;
      if (only) {
        if (!isFree(only)) throw new FlanError('ESUBNETTAKEN', `subnet ${only} is no longer free; restart the node to get a new one`);
        subnet = only;
      } else {
        const previous = previousSubnet();
        if (previous && isFree(previous)) {
          log.info({ subnet: previous.toString() }, 'reusing the subnet from subnet.env');
          subnet = previous;
        } else {
          subnet = chooseSubnet(cfg, taken, rng);
        }
      }
      if (!subnet) throw new FlanError('ENOSUBNET', `out of subnets in ${cfg.network} (SubnetLen ${cfg.subnetLen})`);
      const key = reg.subnetKey(formatSubnetKey(subnet));
      const leaseId = await reg.grant(ttl);
      if (await reg.createIfAbsent(key, value, leaseId)) {
        netConfig = cfg;
        return { subnet, key, leaseId, expiresAt: wallMs() + ttl * 1000 };
      }
      await reg.revoke(leaseId).catch(() => undefined);
      log.debug({ subnet: subnet.toString() }, 'lost a race for a subnet; trying again');
    }
    throw new FlanError('ERACE', `gave up acquiring a subnet after ${RACE_RETRIES} races`);
  };

  const previousSubnet = (): Cidr | undefined => {
    if (!opts.subnetEnvPath) return undefined;
    try {
      return readSubnetEnv(opts.subnetEnvPath)?.subnet;
    } catch (err) {
      logOnce(`subnet-env:${opts.subnetEnvPath}`, `ignoring unreadable subnet.env: ${oneLine(err)}`);
      return undefined;
    }
  };

  /** Acquires until it works or we are stopped; logs once per state. */
  const acquireUntilDone = async (only?: Cidr): Promise<OwnLease> => {
    const backoff = new Backoff(retry, rng);
    for (;;) {
      if (stopped) throw new StoppedError();
      try {
        return await acquire(only);
      } catch (err) {
        if (err instanceof StoppedError || stopped) throw new StoppedError();
        setState(classify(err), err);
        await sleep(backoff.next());
      }
    }
  };

  const reacquire = async (): Promise<void> => {
    if (reacquiring || stopped || !own) return;
    reacquiring = true;
    const lost = own.subnet;
    if (renewTimer) clock.clearTimeout(renewTimer);
    renewTimer = undefined;
    log.warn({ subnet: lost.toString() }, 'our subnet lease is gone from etcd (expired or deleted); acquiring it again');
    try {
      own = await acquireUntilDone(lost);
      log.info({ subnet: own.subnet.toString() }, 'subnet lease acquired again');
      setState('running');
      scheduleRenew(renewIntervalMs());
    } catch {
      // stopped
    } finally {
      reacquiring = false;
    }
  };

  // ---- renewing ------------------------------------------------------------------------------------

  const renewIntervalMs = (): number => Math.max(500, (ttl * 1000) / 3);
  /** Retries of a failed keepalive never wait longer than a tenth of the TTL: a restarted etcd
   *  gives leases back only their TTL (plus about a second), so with a short TTL the general
   *  backoff (up to 10 s) would let our lease expire after an outage and peers drop our route. */
  const renewRetryCapMs = (): number => Math.max(100, (ttl * 1000) / 10);

  const scheduleRenew = (ms: number): void => {
    if (stopped) return;
    if (renewTimer) clock.clearTimeout(renewTimer);
    renewTimer = clock.setTimeout(() => {
      renewTimer = undefined;
      void renew();
    }, ms);
  };

  const renew = async (): Promise<void> => {
    if (!own || stopped || reacquiring) return;
    const leaseId = own.leaseId;
    try {
      const granted = await reg.keepAlive(leaseId);
      if (stopped || !own || own.leaseId !== leaseId) return;
      if (granted <= 0) {
        void reacquire();
        return;
      }
      own.expiresAt = wallMs() + granted * 1000;
      renewBackoff.reset();
      if (state === 'etcd-unavailable' && watch) setState('running');
      scheduleRenew(renewIntervalMs());
    } catch (err) {
      if (stopped) return;
      setState('etcd-unavailable', err);
      scheduleRenew(Math.min(renewBackoff.next(), renewRetryCapMs()));
    }
  };

  // ---- watching ------------------------------------------------------------------------------------

  /** The peer a subnet key describes; 'own' for our key; undefined (logged once) for bad ones. */
  const peerFromKv = (kv: SubnetKv): PeerInfo | 'own' | undefined => {
    const key = parseSubnetKey(kv.key);
    if (!key.ok) {
      logOnce(`key:${kv.key}`, `skipping etcd key: ${key.reason}`, { key: kv.key });
      return undefined;
    }
    const subnet = key.value;
    const attrs = decodeLeaseAttrs(kv.value);
    if (own && subnet.equals(own.subnet)) {
      if (attrs.ok && attrs.value.publicIp !== opts.publicIp) {
        logOnce(`foreign-own:${kv.key}:${kv.value}`, 'another node wrote our subnet key', { key: kv.key, value: kv.value });
      }
      return 'own';
    }
    if (!attrs.ok) {
      logOnce(`value:${kv.key}:${kv.value}`, `skipping malformed lease: ${attrs.reason}`, { key: kv.key, value: kv.value });
      return undefined;
    }
    const backend: BackendName = netConfig!.backend.type;
    const peer = leaseToPeer(subnet, attrs.value, backend);
    if (!peer.ok) {
      logOnce(`backend:${kv.key}:${kv.value}`, `skipping lease: ${peer.reason}`, { key: kv.key });
      return undefined;
    }
    if (own && subnet.overlaps(own.subnet)) {
      logOnce(`overlap:${kv.key}`, `skipping lease ${subnet}: it overlaps our subnet ${own.subnet}`, { key: kv.key });
      return undefined;
    }
    return peer.value;
  };

  const onPut = (kv: SubnetKv): void => {
    if (kv.modRevision <= seenRevision) return;
    seenRevision = kv.modRevision;
    const peer = peerFromKv(kv);
    if (peer === 'own') return;
    if (peer) return emit([view.set(peer)]);
    const key = parseSubnetKey(kv.key);
    if (key.ok) emit([view.remove(key.value)]); // no longer a usable lease
  };

  const onDelete = (kv: SubnetKv): void => {
    if (kv.modRevision <= seenRevision) return;
    seenRevision = kv.modRevision;
    const key = parseSubnetKey(kv.key);
    if (!key.ok) return;
    if (own && key.value.equals(own.subnet)) {
      void reacquire();
      return;
    }
    emit([view.remove(key.value)]);
  };

  /** Lists the subnets, emits the difference to our view, and watches from there. */
  const resync = async (): Promise<void> => {
    const old = watch;
    watch = undefined;
    await old?.cancel();
    const { kvs, revision } = await reg.listSubnets();
    if (stopped) return;
    const peers: PeerInfo[] = [];
    let ownPresent = false;
    for (const kv of kvs) {
      const p = peerFromKv(kv);
      if (p === 'own') {
        const attrs = decodeLeaseAttrs(kv.value);
        ownPresent ||= attrs.ok && attrs.value.publicIp === opts.publicIp;
      }
      else if (p) peers.push(p);
    }
    seenRevision = revision;
    const events = view.replaceAll(peers);
    if (events.length > 0 && state !== 'starting') log.info({ changes: events.length }, 'reconciled peers with etcd');
    emit(events);
    watch = reg.watchSubnets(revision + 1, {
      onPut,
      onDelete,
      onBroken: (err, kind) => {
        watch = undefined;
        if (stopped) return;
        setState(kind === 'disconnected' ? 'etcd-unavailable' : 'resyncing', err);
        scheduleResync();
      },
    });
    if (!ownPresent) void reacquire();
  };

  const scheduleResync = (): void => {
    if (stopped || resyncTimer) return;
    resyncTimer = clock.setTimeout(() => {
      resyncTimer = undefined;
      resync().then(
        () => {
          resyncBackoff.reset();
          if (!reacquiring) setState('running');
        },
        (err) => {
          if (stopped) return;
          setState('etcd-unavailable', err);
          scheduleResync();
        },
      );
    }, resyncBackoff.next());
  };

  const localLease = (): LocalLease => {
    const cfg = netConfig!;
    const lease: LocalLease = { subnet: own!.subnet, network: cfg.network, backend: { ...cfg.backend }, publicIp: opts.publicIp, expiresAt: own!.expiresAt };
    if (cfg.backend.type === 'vxlan' && vtepMac) lease.vtepMac = Buffer.from(vtepMac);
    return lease;
  };

  return {
    async start(handler) {
      if (state !== 'new') throw new ConfigError('etcd membership already started');
      setState('starting');
      own = await acquireUntilDone();
      log.info({ subnet: own.subnet.toString(), key: own.key, ttl }, 'subnet lease acquired');
      onEvent = handler;
      try {
        await resync();
        setState('running');
      } catch (err) {
        setState('etcd-unavailable', err);
        scheduleResync();
      }
      scheduleRenew(renewIntervalMs());
      return localLease();
    },
    peers: () => view.list(),
    status(): MembershipStatus {
      const s: MembershipStatus = { source: 'etcd', state };
      if (own) s.leaseExpiresAt = own.expiresAt;
      if (lastError !== undefined) s.lastError = lastError;
      return s;
    },
    async stop() {
      if (stopped) return;
      setState('stopped');
      stopped = true;
      onEvent = undefined;
      for (const t of [renewTimer, resyncTimer]) if (t) clock.clearTimeout(t);
      for (const s of sleepers) {
        clock.clearTimeout(s.handle);
        s.resolve();
      }
      sleepers.clear();
      await watch?.cancel();
      watch = undefined;
      if (opts.revokeOnStop && own) {
        await reg.revoke(own.leaseId).catch((err) => log.warn({ err }, 'could not revoke the subnet lease'));
      }
      reg.close();
    },
  };
}

// ---- network init -----------------------------------------------------------------------------------

export interface InitNetworkOptions {
  endpoints: string[];
  prefix?: string;
  network: Cidr | string;
  subnetLen?: number;
  subnetMin?: Ipv4;
  subnetMax?: Ipv4;
  backend: BackendName;
  vni?: number;
  port?: number;
  /** Replace a different existing config (default false: refuse). */
  overwrite?: boolean;
  requestTimeoutMs?: number;
}

export interface InitNetworkResult {
  key: string;
  value: string;
  config: NetworkConfig;
  /** False when an identical config was already there. */
  created: boolean;
}

/**
 * Writes flannel's network config key (for `flannelette network init`). Throws ConfigError for bad
 * values or a different existing config (unless overwrite), DeviceError when etcd is unreachable.
 */
export async function initNetworkConfig(opts: InitNetworkOptions): Promise<InitNetworkResult> {
  const network = typeof opts.network === 'string' ? parseCidrOption(opts.network) : opts.network;
  const value = formatNetworkConfig({
    network,
    subnetLen: opts.subnetLen,
    subnetMin: opts.subnetMin,
    subnetMax: opts.subnetMax,
    backend: opts.backend,
    vni: opts.vni,
    port: opts.port,
  });
  const config = parseNetworkConfig(value);
  const reg = new EtcdRegistry({ endpoints: opts.endpoints, prefix: opts.prefix, requestTimeoutMs: opts.requestTimeoutMs });
  try {
    let result: { created: boolean; stored: string };
    try {
      result = await reg.createConfig(value, opts.overwrite ?? false);
    } catch (err) {
      throw new DeviceError(`cannot write ${reg.configKey} to etcd at ${opts.endpoints.join(',')}: ${oneLine(err)}`, { cause: err });
    }
    if (!result.created && result.stored !== value) {
      throw new ConfigError(`${reg.configKey} already holds a different config (${result.stored}); use overwrite to replace it`);
    }
    return { key: reg.configKey, value, config, created: result.created };
  } finally {
    reg.close();
  }
}

function parseCidrOption(text: string): Cidr {
  try {
    return Cidr.parse(text, { strict: true });
  } catch (err) {
    throw new ConfigError(`network: ${oneLine(err)}`, { cause: err });
  }
}
