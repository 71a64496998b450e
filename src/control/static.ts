// Static membership: the cluster file is the whole truth, no server. start() reads the file, finds
// this node by name and emits peer-added for every other node. reload() (the node agent calls it on
// SIGHUP) and a debounced directory watch (which survives editors that replace the file by rename)
// re-read it and emit the difference. A reload whose file is invalid is logged and ignored (the last
// good view stays); so is a change of network or backend, which needs a restart. If this node is
// removed from the file, or its own entry changes, the error is logged and the last lease is kept.
// Throws: start() rejects with ConfigError for a bad file or a node name that is not in it.
import fs from 'node:fs';
import path from 'node:path';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';
import { ConfigError, oneLine } from '../util/errors.js';
import { settleNow } from '../util/promise.js';
import type { Logger } from '../util/logger.js';
import { loadClusterFile, nodeToPeer, type ClusterConfig } from './cluster-file.js';
import type {
  BackendConfig,
  LocalLease,
  Membership,
  MembershipEvent,
  MembershipStatus,
  PeerInfo,
} from './membership.js';
import { PeerView } from './peer-view.js';

export interface StaticMembershipOptions {
  file: string;
  nodeName: string;
  logger: Logger;
  clock?: Clock;
  /** Watch the file for changes (default true). */
  watch?: boolean;
  /** Quiet time after the last change before re-reading (default 200 ms). */
  debounceMs?: number;
}

export interface StaticMembership extends Membership {
  /** Re-reads the file and emits the difference. Returns false when the file was not applied. */
  reload(): boolean;
}

export function createStaticMembership(opts: StaticMembershipOptions): StaticMembership {
  const clock = opts.clock ?? realClock;
  const log = opts.logger;
  const debounceMs = opts.debounceMs ?? 200;
  const view = new PeerView();
  let config: ClusterConfig | undefined;
  let lease: LocalLease | undefined;
  let onEvent: ((e: MembershipEvent) => void) | undefined;
  let state = 'new';
  let lastError: string | undefined;
  let watcher: fs.FSWatcher | undefined;
  let debounce: TimerHandle | undefined;

  const emit = (events: MembershipEvent[]): void => {
    for (const e of events) {
      try {
        onEvent?.(e);
      } catch (err) {
        log.error({ err }, 'membership event handler failed');
      }
    }
  };

  /** The other nodes of `cfg`, minus any that would overlap this node's subnet. */
  const peersOf = (cfg: ClusterConfig): PeerInfo[] => {
    const out: PeerInfo[] = [];
    for (const n of cfg.nodes) {
      if (n.name === opts.nodeName) continue;
      if (lease && (n.subnet.overlaps(lease.subnet) || (lease.subnet6 && n.subnet6?.overlaps(lease.subnet6)))) {
        log.error(
          { node: n.name, subnet: n.subnet.toString() },
          `node ${n.name} claims subnet ${n.subnet}, which overlaps this node's ${lease.subnet}; ignoring it`,
        );
        continue;
      }
      out.push(nodeToPeer(n));
    }
    return out;
  };

  const reload = (): boolean => {
    if (!lease || !config || state === 'stopped') return false;
    let next: ClusterConfig;
    try {
      next = loadClusterFile(opts.file);
    } catch (err) {
      lastError = oneLine(err);
      state = 'running (last reload failed)';
      log.error({ file: opts.file }, `cluster file reload ignored, keeping the last good view: ${lastError}`);
      return false;
    }
    if (!next.network.equals(config.network) || !sameBackend(next.backend, config.backend)) {
      lastError = `${opts.file}: network or backend changed; restart the node to apply`;
      state = 'running (last reload failed)';
      log.error({ file: opts.file }, `cluster file reload ignored: ${lastError}`);
      return false;
    }
    const self = next.nodes.find((n) => n.name === opts.nodeName);
    if (!self) {
      lastError = `${opts.file}: this node (${opts.nodeName}) is no longer in the cluster file; keeping its lease ${lease.subnet}`;
      log.error({ file: opts.file }, lastError);
    } else if (
      !self.subnet.equals(lease.subnet) ||
      self.publicIp !== lease.publicIp ||
      !sameMac(self.vtepMac, lease.vtepMac)
    ) {
      lastError = `${opts.file}: this node's own entry changed; restart the node to apply (keeping ${lease.subnet})`;
      log.error({ file: opts.file }, lastError);
    } else {
      lastError = undefined;
    }
    config = next;
    state = 'running';
    const events = view.replaceAll(peersOf(next));
    if (events.length > 0) log.info({ file: opts.file, changes: events.length }, 'cluster file reloaded');
    emit(events);
    return true;
  };

  const scheduleReload = (): void => {
    if (debounce) clock.clearTimeout(debounce);
    debounce = clock.setTimeout(() => {
      debounce = undefined;
      reload();
    }, debounceMs);
  };

  const startWatch = (): void => {
    const dir = path.dirname(path.resolve(opts.file));
    const base = path.basename(opts.file);
    try {
      // Watch the directory, not the file: an editor that writes a new file and renames it over
      // the old one would leave a file watch pointing at the deleted inode.
      watcher = fs.watch(dir, { persistent: false }, (_event, filename) => {
        if (filename === null || filename === base || filename.toString() === base) scheduleReload();
      });
      watcher.on('error', (err) => log.warn({ err, dir }, 'cluster file watch failed; use SIGHUP to reload'));
    } catch (err) {
      log.warn({ err, dir }, 'cannot watch the cluster file; use SIGHUP to reload');
    }
  };

  /** Reads the cluster file, takes this node's lease and announces its peers; throws ConfigError. */
  const startNow = (handler: (e: MembershipEvent) => void): LocalLease => {
    if (lease) throw new ConfigError('static membership already started');
    const cfg = loadClusterFile(opts.file);
    const self = cfg.nodes.find((n) => n.name === opts.nodeName);
    if (!self) {
      throw new ConfigError(
        `${opts.file}: node "${opts.nodeName}" is not in the cluster file (nodes: ${cfg.nodes.map((n) => n.name).join(', ')})`,
      );
    }
    config = cfg;
    lease = { subnet: self.subnet, network: cfg.network, backend: { ...cfg.backend }, publicIp: self.publicIp };
    if (self.vtepMac) lease.vtepMac = Buffer.from(self.vtepMac);
    if (self.subnet6 && cfg.network6) Object.assign(lease, { subnet6: self.subnet6, network6: cfg.network6 });
    if (self.publicIpv6 !== undefined) lease.publicIpv6 = self.publicIpv6;
    if (self.vtepMacV6) lease.vtepMacV6 = Buffer.from(self.vtepMacV6);
    onEvent = handler;
    state = 'running';
    emit(view.replaceAll(peersOf(cfg)));
    if (opts.watch !== false) startWatch();
    return { ...lease, backend: { ...lease.backend } };
  };

  return {
    start: (handler) => settleNow(() => startNow(handler)),
    reload,
    peers: () => view.list(),
    status(): MembershipStatus {
      const s: MembershipStatus = { source: 'static', state };
      if (lastError !== undefined) s.lastError = lastError;
      return s;
    },
    stop: () =>
      settleNow(() => {
        state = 'stopped';
        if (debounce) clock.clearTimeout(debounce);
        debounce = undefined;
        watcher?.close();
        watcher = undefined;
        onEvent = undefined;
      }),
  };
}

function sameBackend(a: BackendConfig, b: BackendConfig): boolean {
  return a.type === b.type && a.vni === b.vni && a.port === b.port;
}

function sameMac(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
