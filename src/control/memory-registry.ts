// An in-memory etcd for flannel's key layout, on an injected clock, so that etcd membership can be
// tested on virtual time (as flannel tests its subnet manager with pkg/subnet/etcd/mock_registry.go).
// MemoryEtcd is the server: keys with revisions, TTL leases that expire on the clock (and take
// their keys with them), a bounded history for watches, and compaction. MemoryRegistry is one
// node's SubnetRegistry connection to it; each connection can be cut (setReachable(false): every
// call rejects with DeviceError and its watches break as 'disconnected') while the server and the
// other connections go on, as when one node loses its network path to etcd.
//
// Test-side controls on MemoryEtcd act like etcdctl: put/delete a key (no lease), compact, expire
// or look up a lease. Watch events are delivered in order from a microtask, never re-entrantly.
// Nothing throws synchronously; registry calls reject with DeviceError while cut off and for a
// put with an unknown lease (as etcd does: "requested lease not found").
import type { Clock, TimerHandle } from '../util/clock.js';
import { DeviceError } from '../util/errors.js';
import {
  normalizePrefix,
  type SubnetKv,
  type SubnetRegistry,
  type SubnetWatch,
  type SubnetWatchHandlers,
} from './subnet-registry.js';
import { settleNow } from '../util/promise.js';

interface StoredKey {
  value: string;
  modRevision: number;
  lease?: string;
}

interface Lease {
  ttlSeconds: number;
  timer: TimerHandle;
}

interface HistoryEvent {
  type: 'put' | 'delete';
  kv: SubnetKv;
}

interface Watcher {
  prefix: string;
  handlers: SubnetWatchHandlers;
  owner: MemoryRegistry;
}

/** How many past events a watch can start from (older ones are compacted away). */
const HISTORY_LIMIT = 10_000;

export class MemoryEtcd {
  private readonly keys = new Map<string, StoredKey>();
  private readonly leases = new Map<string, Lease>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private nextLeaseId = 0x1000;
  private compactedRevision = 0;
  revision = 1;

  constructor(readonly clock: Clock) {}

  /** A node's connection, with flannel's keys under `prefix` (default /coreos.com/network). */
  connect(prefix?: string): MemoryRegistry {
    return new MemoryRegistry(this, normalizePrefix(prefix));
  }

  // ---- etcdctl-like controls -------------------------------------------------------------------

  get(key: string): { value: string; lease?: string } | undefined {
    const k = this.keys.get(key);
    return k && { value: k.value, lease: k.lease };
  }

  /** All keys under a prefix, sorted (for assertions). */
  keysUnder(prefix: string): string[] {
    return [...this.keys.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  put(key: string, value: string, lease?: string): void {
    if (lease !== undefined && !this.leases.has(lease))
      throw new DeviceError(`etcdserver: requested lease not found (${lease})`);
    this.revision++;
    this.keys.set(key, { value, modRevision: this.revision, lease });
    this.record({ type: 'put', kv: { key, value, modRevision: this.revision } });
  }

  delete(key: string): boolean {
    if (!this.keys.delete(key)) return false;
    this.revision++;
    this.record({ type: 'delete', kv: { key, value: '', modRevision: this.revision } });
    return true;
  }

  /** Drops the history up to now: a watch that must start earlier is cancelled by the server. */
  compact(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  /** Ends a lease at once, as if its TTL ran out: its keys are deleted. */
  expireLease(id: string): boolean {
    const lease = this.leases.get(id);
    if (!lease) return false;
    this.clock.clearTimeout(lease.timer);
    this.dropLease(id);
    return true;
  }

  /** The TTL lease a key is attached to, if any. */
  leaseOf(key: string): string | undefined {
    return this.keys.get(key)?.lease;
  }

  leaseTtl(id: string): number | undefined {
    return this.leases.get(id)?.ttlSeconds;
  }

  // ---- what connections call -------------------------------------------------------------------

  /** @internal */
  list(prefix: string): { kvs: SubnetKv[]; revision: number } {
    const kvs = this.keysUnder(prefix).map((key) => {
      const k = this.keys.get(key)!;
      return { key, value: k.value, modRevision: k.modRevision };
    });
    return { kvs, revision: this.revision };
  }

  /** @internal */
  grant(ttlSeconds: number): string {
    const id = String(this.nextLeaseId++);
    this.leases.set(id, { ttlSeconds, timer: this.expiryTimer(id, ttlSeconds) });
    return id;
  }

  /** @internal */
  keepAlive(id: string): number {
    const lease = this.leases.get(id);
    if (!lease) return 0;
    this.clock.clearTimeout(lease.timer);
    lease.timer = this.expiryTimer(id, lease.ttlSeconds);
    return lease.ttlSeconds;
  }

  /** @internal */
  revoke(id: string): void {
    this.expireLease(id);
  }

  /** @internal */
  watch(w: Watcher, fromRevision: number): SubnetWatch {
    if (fromRevision <= this.compactedRevision) {
      queueMicrotask(() =>
        w.handlers.onBroken(new Error(`etcdserver: mvcc: required revision has been compacted`), 'cancelled'),
      );
      return { cancel: () => Promise.resolve() };
    }
    this.watchers.add(w);
    const replay = this.history.filter((e) => e.kv.modRevision >= fromRevision && e.kv.key.startsWith(w.prefix));
    for (const e of replay) this.deliver(w, e);
    return {
      cancel: () => {
        this.watchers.delete(w);
        return Promise.resolve();
      },
    };
  }

  /** @internal Breaks every watch of one connection (it lost its path to the server). */
  disconnect(owner: MemoryRegistry): void {
    for (const w of [...this.watchers]) {
      if (w.owner !== owner) continue;
      this.watchers.delete(w);
      queueMicrotask(() => w.handlers.onBroken(new Error('in-memory etcd: connection lost'), 'disconnected'));
    }
  }

  private expiryTimer(id: string, ttlSeconds: number): TimerHandle {
    return this.clock.setTimeout(() => this.dropLease(id), ttlSeconds * 1000);
  }

  private dropLease(id: string): void {
    this.leases.delete(id);
    for (const [key, k] of [...this.keys]) if (k.lease === id) this.delete(key);
  }

  private record(e: HistoryEvent): void {
    this.history.push(e);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.compactedRevision = Math.max(this.compactedRevision, dropped[dropped.length - 1].kv.modRevision);
    }
    for (const w of this.watchers) if (e.kv.key.startsWith(w.prefix)) this.deliver(w, e);
  }

  private deliver(w: Watcher, e: HistoryEvent): void {
    queueMicrotask(() => {
      if (!this.watchers.has(w)) return;
      if (e.type === 'put') w.handlers.onPut(e.kv);
      else w.handlers.onDelete(e.kv);
    });
  }
}

export class MemoryRegistry implements SubnetRegistry {
  readonly configKey: string;
  readonly subnetsPrefix: string;
  private reachable = true;
  private closed = false;
  /** Calls made, by method name (for assertions on retries). */
  readonly calls = new Map<string, number>();

  constructor(
    private readonly server: MemoryEtcd,
    readonly prefix: string,
  ) {
    this.configKey = `${prefix}/config`;
    this.subnetsPrefix = `${prefix}/subnets/`;
  }

  /** Cuts (false) or restores (true) this connection's path to the server. */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (!reachable) this.server.disconnect(this);
  }

  subnetKey(name: string): string {
    return this.subnetsPrefix + name;
  }

  getConfig(): Promise<string | undefined> {
    return this.call('getConfig', () => this.server.get(this.configKey)?.value);
  }

  createConfig(value: string, overwrite: boolean): Promise<{ created: boolean; stored: string }> {
    return this.call('createConfig', () => {
      const existing = this.server.get(this.configKey);
      if (existing && !overwrite) return { created: false, stored: existing.value };
      this.server.put(this.configKey, value);
      return { created: true, stored: value };
    });
  }

  listSubnets(): Promise<{ kvs: SubnetKv[]; revision: number }> {
    return this.call('listSubnets', () => this.server.list(this.subnetsPrefix));
  }

  grant(ttlSeconds: number): Promise<string> {
    return this.call('grant', () => this.server.grant(ttlSeconds));
  }

  revoke(leaseId: string): Promise<void> {
    return this.call('revoke', () => this.server.revoke(leaseId));
  }

  createIfAbsent(key: string, value: string, leaseId: string): Promise<boolean> {
    return this.call('createIfAbsent', () => {
      if (this.server.get(key)) return false;
      this.server.put(key, value, leaseId);
      return true;
    });
  }

  put(key: string, value: string, leaseId: string): Promise<void> {
    return this.call('put', () => this.server.put(key, value, leaseId));
  }

  delete(key: string): Promise<void> {
    return this.call('delete', () => void this.server.delete(key));
  }

  keepAlive(leaseId: string): Promise<number> {
    return this.call('keepAlive', () => this.server.keepAlive(leaseId));
  }

  watchSubnets(fromRevision: number, handlers: SubnetWatchHandlers): SubnetWatch {
    this.count('watchSubnets');
    if (!this.reachable || this.closed) {
      queueMicrotask(() => handlers.onBroken(new DeviceError('in-memory etcd: unreachable'), 'disconnected'));
      return { cancel: () => Promise.resolve() };
    }
    return this.server.watch({ prefix: this.subnetsPrefix, handlers, owner: this }, fromRevision);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.disconnect(this);
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private call<T>(method: string, fn: () => T): Promise<T> {
    this.count(method);
    if (this.closed) return Promise.reject(new DeviceError('in-memory etcd: connection closed'));
    if (!this.reachable) return Promise.reject(new DeviceError('in-memory etcd: unreachable'));
    return settleNow(fn);
  }
}
