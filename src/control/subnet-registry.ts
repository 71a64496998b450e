// The store etcd membership keeps flannel's keys in: the network config key, one key per subnet
// lease (attached to a TTL lease that is kept alive), and a watch on the subnets prefix. Two
// implementations: EtcdRegistry (etcd-registry.ts, a real etcd through the etcd3 client) and
// MemoryRegistry (memory-registry.ts, on an injected clock, with outages, compactions and lost
// leases on demand for tests). Modelled on flannel's pkg/subnet/etcd Registry and its mock.
//
// Every call may reject (store unreachable, deadline passed); the caller decides how to retry.
// Values are UTF-8 strings; lease ids are decimal strings.

export const DEFAULT_PREFIX = '/coreos.com/network';

export interface SubnetKv {
  key: string;
  value: string;
  modRevision: number;
}

export interface SubnetWatch {
  cancel(): Promise<void>;
}

export interface SubnetWatchHandlers {
  onPut(kv: SubnetKv): void;
  onDelete(kv: SubnetKv): void;
  /** The stream broke: 'disconnected' from the store, or cancelled by it (e.g. compaction).
   *  The watch is already cancelled. */
  onBroken(err: Error, kind: 'disconnected' | 'cancelled'): void;
}

export interface SubnetRegistry {
  /** `<prefix>/config`. */
  readonly configKey: string;
  /** `<prefix>/subnets/` + name. */
  subnetKey(name: string): string;
  getConfig(): Promise<string | undefined>;
  /** Writes the config key only if it does not exist (unless overwrite); returns the value now stored. */
  createConfig(value: string, overwrite: boolean): Promise<{ created: boolean; stored: string }>;
  /** Every key under the subnets prefix and the store revision they were read at. */
  listSubnets(): Promise<{ kvs: SubnetKv[]; revision: number }>;
  /** Grants a TTL lease; returns its id. */
  grant(ttlSeconds: number): Promise<string>;
  revoke(leaseId: string): Promise<void>;
  /** Creates the key with the lease, in a transaction that fails (false) if the key exists. */
  createIfAbsent(key: string, value: string, leaseId: string): Promise<boolean>;
  put(key: string, value: string, leaseId: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** One keepalive for the lease; resolves to the TTL granted (0 when the lease no longer exists). */
  keepAlive(leaseId: string): Promise<number>;
  /** Watches the subnets prefix from `fromRevision` (inclusive). */
  watchSubnets(fromRevision: number, handlers: SubnetWatchHandlers): SubnetWatch;
  /** Releases the connection. Idempotent. */
  close(): void;
}

export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? DEFAULT_PREFIX).replace(/\/+$/, '');
  return p.startsWith('/') ? p : `/${p}`;
}
