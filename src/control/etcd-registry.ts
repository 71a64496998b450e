// The SubnetRegistry (subnet-registry.ts) of a real etcd: a thin, failure-honest wrapper over the
// etcd3 client for flannel's key layout: read the config key, list/create/put/delete subnet keys
// attached to etcd leases, keep a lease alive, watch the subnets prefix. Every call may reject
// (etcd down, deadline passed); the caller decides how to retry. The client's own retry and circuit-breaker policies are switched off so that a restarted
// etcd is used again at once and the caller's backoff is the only one. Values are UTF-8 strings.
// The constructor throws ConfigError for an empty endpoint list.
import { Etcd3, type IOptions, type IKeyValue, type Watcher } from 'etcd3';
import { ConfigError } from '../util/errors.js';
import {
  normalizePrefix,
  type SubnetKv,
  type SubnetRegistry,
  type SubnetWatch,
  type SubnetWatchHandlers,
} from './subnet-registry.js';

export interface RegistryOptions {
  endpoints: string[];
  prefix?: string;
  /** Deadline of each unary call (default 5000 ms). */
  requestTimeoutMs?: number;
}

type FaultHandling = NonNullable<IOptions['faultHandling']>;

/** A policy that calls straight through: no retries, no circuit breaker. */
const passthrough = {
  execute: <T>(fn: (ctx: { signal: AbortSignal }) => T | Promise<T>): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as NonNullable<FaultHandling['global']>;

export function normalizeEndpoint(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`;
}

export class EtcdRegistry implements SubnetRegistry {
  readonly prefix: string;
  readonly configKey: string;
  readonly subnetsPrefix: string;
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(opts: RegistryOptions) {
    if (opts.endpoints.length === 0) throw new ConfigError('no etcd endpoints given');
    this.prefix = normalizePrefix(opts.prefix);
    this.configKey = `${this.prefix}/config`;
    this.subnetsPrefix = `${this.prefix}/subnets/`;
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    const timeoutMs = this.timeoutMs;
    this.client = new Etcd3({
      hosts: opts.endpoints.map(normalizeEndpoint),
      dialTimeout: timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
      faultHandling: { global: passthrough, host: () => passthrough },
    });
  }

  subnetKey(name: string): string {
    return this.subnetsPrefix + name;
  }

  async getConfig(): Promise<string | undefined> {
    const v = await this.client.get(this.configKey).string();
    return v ?? undefined;
  }

  /** Writes the config key only if it does not exist; returns the value now stored. */
  async createConfig(value: string, overwrite: boolean): Promise<{ created: boolean; stored: string }> {
    if (overwrite) {
      await this.client.put(this.configKey).value(value);
      return { created: true, stored: value };
    }
    const r = await this.client
      .if(this.configKey, 'Version', '==', 0)
      .then(this.client.put(this.configKey).value(value))
      .commit();
    if (r.succeeded) return { created: true, stored: value };
    return { created: false, stored: (await this.getConfig()) ?? '' };
  }

  async listSubnets(): Promise<{ kvs: SubnetKv[]; revision: number }> {
    const r = await this.client.getAll().prefix(this.subnetsPrefix).exec();
    return { kvs: r.kvs.map(toKv), revision: Number(r.header.revision) };
  }

  /** Grants an etcd lease; returns its id. */
  async grant(ttlSeconds: number): Promise<string> {
    const r = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
    return r.ID;
  }

  async revoke(leaseId: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: leaseId });
  }

  /** Creates the key with the lease, in a transaction that fails if the key exists. */
  async createIfAbsent(key: string, value: string, leaseId: string): Promise<boolean> {
    const r = await this.client
      .if(key, 'Version', '==', 0)
      .then(this.client.put(key).value(value).lease(leaseId))
      .commit();
    return r.succeeded;
  }

  async put(key: string, value: string, leaseId: string): Promise<void> {
    await this.client.put(key).value(value).lease(leaseId).exec();
  }

  async delete(key: string): Promise<void> {
    await this.client.delete().key(key).exec();
  }

  /** One keepalive for the lease; resolves to the TTL etcd granted (0 when the lease no longer exists). */
  async keepAlive(leaseId: string): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`lease keepalive timed out after ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
        stream.on('data', (res: { TTL: string }) => {
          clearTimeout(timer);
          resolve(Number(res.TTL));
        });
        stream.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.write({ ID: leaseId });
      });
    } finally {
      try {
        stream.end();
      } catch {
        // the stream may already be closed
      }
    }
  }

  /** Watches the subnets prefix from `fromRevision` (inclusive). */
  watchSubnets(fromRevision: number, handlers: SubnetWatchHandlers): SubnetWatch {
    const watcher: Watcher = this.client
      .watch()
      .prefix(this.subnetsPrefix)
      .startRevision(String(fromRevision))
      .watcher();
    let broken = false;
    const breakOff = (err: Error, kind: 'disconnected' | 'cancelled'): void => {
      if (broken) return;
      broken = true;
      watcher.removeAllListeners('put').removeAllListeners('delete');
      watcher.cancel().catch(() => undefined);
      handlers.onBroken(err, kind);
    };
    watcher.on('put', (kv) => !broken && handlers.onPut(toKv(kv)));
    watcher.on('delete', (kv) => !broken && handlers.onDelete(toKv(kv)));
    watcher.on('disconnected', (err) => breakOff(err, 'disconnected'));
    watcher.on('error', (err) => breakOff(err, 'cancelled'));
    watcher.on('end', () => breakOff(new Error('watch ended by etcd'), 'cancelled'));
    return {
      cancel: async () => {
        broken = true;
        watcher.removeAllListeners('put').removeAllListeners('delete');
        await watcher.cancel().catch(() => undefined);
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

function toKv(kv: IKeyValue): SubnetKv {
  return { key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), modRevision: Number(kv.mod_revision) };
}
