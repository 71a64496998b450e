// etcd membership, compatible with flanneld's etcd subnet manager (same keys, same JSON, same
// acquisition order), so flannelette nodes and flanneld nodes can share one etcd:
//   1. read <prefix>/config (flannel's network config; missing or invalid: wait and retry);
//   2. reuse a lease that already carries our PublicIP; else the subnet from a previous subnet.env
//      if it is free; else a random free subnet in SubnetMin..SubnetMax (first 100 free, as flannel);
//      new keys are created in a transaction that fails if the key exists (a race: try again);
//   3. attach the key to an etcd lease (TTL default 24 h, flannel's) and write it again on a new
//      lease `renewMarginMinutes` before it expires (lease-keeper.ts, flannel's RenewLease);
//   4. list <prefix>/subnets/ and watch it from the listed revision: puts become peer-added or
//      peer-updated, deletes and expiries become peer-removed.
// Failure handling: while etcd is unreachable the last view is kept (the data path keeps
// forwarding), calls are retried with capped exponential backoff, and each state change is logged
// once. After a broken watch (disconnect, compaction) the subnets are re-listed and the difference
// is emitted. If our own key disappears (lease expired while we were away, or deleted) or holds
// another node's PublicIP, `onLeaseLost` is called as flanneld ends ("Lease has been revoked.
// Shutting down daemon."); without it the same subnet is acquired again; nothing is emitted for ourselves. A malformed config or lease value is
// logged once and skipped. If our subnet was taken meanwhile, the state is "subnet-taken" and we
// keep retrying (a restart picks a new subnet). The subnet.env file is read here (to reuse a
// subnet) but written by the node, which knows the MTU (subnet-env.ts writeSubnetEnv).
// The store is injected (a SubnetRegistry: EtcdRegistry for a real etcd, MemoryRegistry on a
// virtual clock in tests); the membership owns it and closes it on stop(). The acquisition itself
// is subnet-acquire.ts; states are EtcdMembershipState, chosen from errors by class, never by text.
// Throws: createEtcdMembership throws ConfigError for a bad TTL; start() rejects (StoppedError)
// only if stop() comes first; nothing throws after start() has resolved.
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Mac } from '../addr/mac.js';
import { realClock, Sleeps, type Clock, type TimerHandle } from '../util/clock.js';
import { ConfigError, NetworkConfigMissingError, oneLine, StoppedError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { randomRng, type Rng } from '../util/rng.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { stateForError, type EtcdMembershipState } from './etcd-state.js';
import { parseNetworkConfig, parseSubnetKey, type NetworkConfig } from './flannel-format.js';
import { dualStackLocalLease, ownLeaseValue } from './own-lease.js';
import { classifyLeaseKv, type LeaseKv } from './lease-kv.js';
import type { LocalLease, Membership, MembershipEvent, MembershipStatus, PeerInfo } from './membership.js';
import { PeerView } from './peer-view.js';
import { acquireSubnet, type AcquireContext, type OwnLease } from './subnet-acquire.js';
import { readSubnetEnv, type SubnetEnv } from './subnet-env.js';
import type { SubnetKv, SubnetRegistry, SubnetWatch } from './subnet-registry.js';
import { loadOrCreateVtepMac, loadOrCreateVtepMacV6 } from './vtep-state.js';
import { DEFAULT_RENEW_MARGIN_MINUTES, LeaseKeeper } from './lease-keeper.js';

export const DEFAULT_LEASE_TTL_SECONDS = 24 * 60 * 60;
export type { EtcdMembershipState } from './etcd-state.js';

export interface EtcdMembershipOptions {
  /** The store (EtcdRegistry for a real etcd); owned by the membership from now on. */
  registry: SubnetRegistry;
  /** This node's underlay address, written as the lease's PublicIP. */
  publicIp: Ipv4;
  /** Dual stack: this node's IPv6 address, written as the lease's PublicIPv6 (flannel's --public-ipv6). */
  publicIpv6?: bigint;
  logger: Logger;
  /** TTL of the subnet lease (default 24 h, flannel's subnetTTL). */
  leaseTtlSeconds?: number;
  /** Renew this long before the lease runs out (flannel's --subnet-lease-renew-margin, default 60). */
  renewMarginMinutes?: number;
  /** Our lease was deleted, expired or taken over: called once, and the membership stops renewing. */
  onLeaseLost?: (reason: string) => void;
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
  /** Revoke the lease on stop() so peers drop us at once (default false: like flanneld, keep it
   *  so a restarted node gets the same subnet back). */
  revokeOnStop?: boolean;
}

export function createEtcdMembership(opts: EtcdMembershipOptions): Membership {
  const log = opts.logger;
  const clock = opts.clock ?? realClock;
  const rng = opts.rng ?? randomRng();
  const ttl = opts.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 2) throw new ConfigError(`leaseTtlSeconds must be an integer >= 2, got ${ttl}`);
  const reg = opts.registry;
  const retry = opts.retry ?? DEFAULT_BACKOFF;
  const view = new PeerView();

  let state: EtcdMembershipState = 'new';
  let lastError: string | undefined;
  let stopped = false;
  let onEvent: ((e: MembershipEvent) => void) | undefined;
  let netConfig: NetworkConfig | undefined;
  let vtepMac: Mac | undefined;
  let vtepMacV6: Mac | undefined;
  let own: OwnLease | undefined;
  let watch: SubnetWatch | undefined;
  let seenRevision = 0;
  let reacquiring = false;
  let resyncTimer: TimerHandle | undefined;
  const resyncBackoff = new Backoff(retry, rng);
  const sleeps = new Sleeps(clock);
  const loggedOnce = new Set<string>();

  const wallMs = (): number => Number(clock.wallNs() / 1_000_000n);

  const setState = (next: EtcdMembershipState, err?: unknown): void => {
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

  const sleep = (ms: number): Promise<void> => (stopped ? Promise.resolve() : sleeps.sleep(ms));

  // ---- acquiring ----------------------------------------------------------------------------------

  const leaseValue = (cfg: NetworkConfig): string =>
    ownLeaseValue(cfg, {
      publicIp: opts.publicIp,
      publicIpv6: opts.publicIpv6,
      vtepMac,
      vtepMacV6,
      wg: opts.wireguardPublicKey,
    });

  const readConfig = async (): Promise<NetworkConfig> => {
    const text = await reg.getConfig();
    if (text === undefined) {
      throw new NetworkConfigMissingError(
        `no network config at ${reg.configKey} (create it with "flannelette network init")`,
      );
    }
    const cfg = parseNetworkConfig(text);
    if (netConfig && (!cfg.network.equals(netConfig.network) || cfg.backend.type !== netConfig.backend.type)) {
      logOnce(`config-changed:${text}`, 'the network config in etcd changed; restart the node to apply it', {
        key: reg.configKey,
      });
    }
    return netConfig ?? cfg;
  };

  const acquireContext: AcquireContext = {
    registry: reg,
    publicIp: opts.publicIp,
    ttlSeconds: ttl,
    rng,
    log,
    wallMs,
    isStopped: () => stopped,
    previousSubnet: () => previousSubnet(),
  };

  /** One acquisition (subnet-acquire.ts); `only`: this subnet and no other (re-acquiring). */
  const acquire = async (only?: Cidr): Promise<OwnLease> => {
    const cfg = await readConfig();
    if (cfg.backend.type === 'vxlan' && !vtepMac) vtepMac = loadOrCreateVtepMac(opts.stateFile, rng, log);
    if (vtepMac && cfg.ipv6 && opts.publicIpv6 !== undefined && !vtepMacV6)
      vtepMacV6 = loadOrCreateVtepMacV6(opts.stateFile, rng, log, vtepMac);
    const lease = await acquireSubnet(acquireContext, cfg, leaseValue(cfg), only, only && own?.subnet6);
    netConfig = cfg;
    return lease;
  };

  const previousSubnet = (): SubnetEnv | undefined => {
    if (!opts.subnetEnvPath) return undefined;
    try {
      return readSubnetEnv(opts.subnetEnvPath);
    } catch (err) {
      logOnce(`subnet-env:${opts.subnetEnvPath}`, `ignoring unreadable subnet.env: ${oneLine(err)}`);
      return undefined;
    }
  };

  /** Acquires until it works or we are stopped; logs once per state. */
  const acquireUntilDone = async (only?: Cidr): Promise<OwnLease> => {
    const backoff = new Backoff(retry, rng);
    for (;;) {
      if (stopped) throw new StoppedError('etcd membership stopped');
      try {
        return await acquire(only);
      } catch (err) {
        if (err instanceof StoppedError || stopped) throw new StoppedError('etcd membership stopped');
        setState(stateForError(err), err);
        await sleep(backoff.next());
      }
    }
  };

  /** Our key is gone or another node's: flannel's end (onLeaseLost), else acquire it again. */
  const lost = (reason: string): void => {
    if (reacquiring || stopped || !own) return;
    if (!opts.onLeaseLost) return void reacquire();
    keeper.stop();
    setState('lease-lost', new Error(reason));
    log.error({ subnet: own.subnet.toString(), reason }, 'Lease has been revoked. Shutting down daemon.');
    opts.onLeaseLost(reason);
  };

  const reacquire = async (): Promise<void> => {
    if (reacquiring || stopped || !own) return;
    reacquiring = true;
    const lost = own.subnet;
    keeper.pause();
    log.warn(
      { subnet: lost.toString() },
      'our subnet lease is gone from etcd (expired or deleted); acquiring it again',
    );
    try {
      own = await acquireUntilDone(lost);
      log.info({ subnet: own.subnet.toString() }, 'subnet lease acquired again');
      setState('running');
      keeper.keep(own);
    } catch {
      // stopped
    } finally {
      reacquiring = false;
    }
  };

  // ---- renewing (lease-keeper.ts) ------------------------------------------------------------------

  const keeper = new LeaseKeeper({
    registry: reg,
    clock,
    rng,
    log,
    ttlSeconds: ttl,
    renewMarginMinutes: opts.renewMarginMinutes ?? DEFAULT_RENEW_MARGIN_MINUTES,
    retry,
    wallMs,
    value: () => leaseValue(netConfig!),
    onRenewed: () => (state === 'etcd-unavailable' && watch ? setState('running') : undefined),
    onFailed: (err) => setState('etcd-unavailable', err),
  });

  // ---- watching ------------------------------------------------------------------------------------

  /** Our key, a peer, or a key to skip (logged once, with the key and value). */
  const readKv = (kv: SubnetKv): LeaseKv => {
    const r = classifyLeaseKv(kv, { own: own?.subnet, publicIp: opts.publicIp, backend: netConfig!.backend.type });
    if (r.kind === 'skip') logOnce(r.logKey, r.message, { key: kv.key, value: kv.value });
    if (r.kind === 'own' && r.foreign) logOnce(r.foreign.logKey, r.foreign.message, { key: kv.key, value: kv.value });
    return r;
  };

  const onPut = (kv: SubnetKv): void => {
    if (kv.modRevision <= seenRevision) return;
    seenRevision = kv.modRevision;
    const r = readKv(kv);
    if (r.kind === 'own' && r.foreign) lost(`another node (${r.foreign.publicIp}) wrote our subnet key`);
    if (r.kind === 'peer') emit([view.set(r.peer)]);
    else if (r.kind === 'skip' && r.subnet) emit([view.remove(r.subnet)]); // no longer a usable lease
  };

  const onDelete = (kv: SubnetKv): void => {
    if (kv.modRevision <= seenRevision) return;
    seenRevision = kv.modRevision;
    const key = parseSubnetKey(kv.key);
    if (!key.ok) return;
    if (own && key.value.equals(own.subnet)) return lost('our subnet key was deleted or its lease expired');
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
    let takenBy: string | undefined;
    for (const kv of kvs) {
      const r = readKv(kv);
      if (r.kind === 'own') [ownPresent, takenBy] = [ownPresent || r.ours, r.foreign?.publicIp];
      else if (r.kind === 'peer') peers.push(r.peer);
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
    if (takenBy) lost(`another node (${takenBy}) wrote our subnet key`);
    else if (!ownPresent) lost('our subnet key is missing from etcd');
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
    const lease: LocalLease = {
      subnet: own!.subnet,
      network: cfg.network,
      backend: { ...cfg.backend },
      publicIp: opts.publicIp,
      expiresAt: own!.expiresAt,
    };
    if (cfg.backend.type === 'vxlan' && vtepMac) lease.vtepMac = Buffer.from(vtepMac);
    if (cfg.backend.type === 'vxlan' && vtepMacV6) lease.vtepMacV6 = Buffer.from(vtepMacV6);
    Object.assign(lease, dualStackLocalLease(own!.subnet6, cfg, opts.publicIpv6));
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
      keeper.keep(own);
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
      keeper.stop();
      if (resyncTimer) clock.clearTimeout(resyncTimer);
      sleeps.wakeAll();
      await watch?.cancel();
      watch = undefined;
      if (opts.revokeOnStop && own) {
        await reg.revoke(own.leaseId).catch((err) => log.warn({ err }, 'could not revoke the subnet lease'));
      }
      reg.close();
    },
  };
}
