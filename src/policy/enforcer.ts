// The NetworkPolicy enforcer of one lab node, run inside its kubelet process: watches NetworkPolicies,
// Pods and Namespaces (all namespaces) through the API, and after each change (coalesced for 20 ms)
// compiles the node's ruleset (compile.ts) and applies the difference to `table inet
// kube-network-policies` in the node's network namespace as one `nft -f` transaction. Nothing is
// applied before all three lists are in (a half-known cluster would drop traffic it should allow).
// Pods and Namespaces are watched only while a NetworkPolicy exists: with none, no pod is isolated and the
// ruleset does not depend on them, and a hundred nodes each watching every pod made every pod change a
// hundred watch events (the control plane's and each kubelet's CPU, issue 16). The last policy deleted
// stops those two watches; the next one lists them afresh.
// Existing connections are never cut: established/related flows are accepted before any policy, so a
// policy added later stops new connections only (as kube-network-policies, whose verdict is cached in
// conntrack). start() never throws (API outages are retried); stop() deletes the table.
import type { ApiClient } from '../kclient/api-client.js';
import { Informer } from '../kclient/informer.js';
import type { Namespace, Pod } from '../k8s/types.js';
import type { NetworkPolicy } from '../k8s/networkpolicy-types.js';
import { netnsArgv, run } from '../sys/run.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { compileNode, type Ruleset } from './compile.js';
import { buildWorld } from './model.js';
import { deleteScript, diffScript, fullScript } from './nft-script.js';

export interface EnforcerLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface EnforcerOptions {
  api: ApiClient;
  nodeName: string;
  netns: string;
  log: EnforcerLogger;
  /** The informers' retry jitter and waits. */
  rng: Rng;
  clock: Clock;
  /** Applies an nft script in the namespace (default: `ip netns exec NS nft -f -`). */
  nft?: (netns: string, script: string) => Promise<void>;
}

const runNft = async (netns: string, script: string): Promise<void> => {
  const [cmd, ...args] = netnsArgv(netns, ['nft', '-f', '-']);
  await run(cmd, args, { input: script });
};

export class PolicyEnforcer {
  private readonly abort = new AbortController();
  private readonly policies: Informer<NetworkPolicy>;
  /** The Pod and Namespace informers, present while a policy exists. */
  private peers: { pods: Informer<Pod>; namespaces: Informer<Namespace> } | undefined;
  private readonly informer: <T extends NetworkPolicy | Pod | Namespace>(path: string) => Informer<T>;
  private readonly nft: (netns: string, script: string) => Promise<void>;
  private applied: Ruleset | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private dirty = false;
  /** Transactions applied so far (for logs and tests). */
  transactions = 0;

  constructor(private readonly o: EnforcerOptions) {
    const changed = (): void => this.schedule();
    this.informer = <T extends NetworkPolicy | Pod | Namespace>(path: string): Informer<T> =>
      new Informer<T>({ api: o.api, path, onChange: changed, rng: o.rng, clock: o.clock, log: o.log, retryMs: 1000 });
    this.policies = this.informer<NetworkPolicy>('/apis/networking.k8s.io/v1/networkpolicies');
    this.nft = o.nft ?? runNft;
  }

  start(): void {
    this.policies.start();
    this.o.log.info(`policy enforcer ${this.o.nodeName}: watching NetworkPolicies (table inet kube-network-policies)`);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await Promise.all([this.policies.stop(), this.stopPeers()]);
    await this.syncing;
    try {
      await this.nft(this.o.netns, deleteScript());
    } catch {
      // no table (never applied) or the namespace is gone: nothing to remove
    }
  }

  private schedule(): void {
    if (this.abort.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync(), 20);
  }

  private async sync(): Promise<void> {
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    if (!this.policies.hasSynced) return;
    const any = this.policies.list().length > 0;
    if (any && !this.peers) {
      this.peers = {
        pods: this.informer<Pod>('/api/v1/pods'),
        namespaces: this.informer<Namespace>('/api/v1/namespaces'),
      };
      this.peers.pods.start();
      this.peers.namespaces.start();
    }
    if (!any) void this.stopPeers();
    if (this.peers && (!this.peers.pods.hasSynced || !this.peers.namespaces.hasSynced)) return;
    this.syncing = this.applyOnce();
    await this.syncing;
    this.syncing = undefined;
    if (this.dirty) {
      this.dirty = false;
      this.schedule();
    }
  }

  /** Ends the Pod and Namespace watches (no policy left, or stop). */
  private async stopPeers(): Promise<void> {
    const peers = this.peers;
    this.peers = undefined;
    if (peers) await Promise.all([peers.pods.stop(), peers.namespaces.stop()]);
  }

  private async applyOnce(): Promise<void> {
    const policies = this.policies.list();
    // no policy: nothing is isolated, whatever the pods (compileNode gives the same ruleset)
    const world =
      policies.length > 0 && this.peers
        ? buildWorld(policies, this.peers.pods.list(), this.peers.namespaces.list())
        : buildWorld([], [], []);
    const next = compileNode(world, this.o.nodeName);
    const script = this.applied ? diffScript(this.applied, next) : fullScript(next);
    if (!script) return;
    try {
      await this.nft(this.o.netns, script);
      this.applied = next;
      this.transactions++;
      this.o.log.info(
        `policy: ${world.policies.length} policies, ${next.chains.size - 1} isolated pod directions on ` +
          `${this.o.nodeName} (transaction ${this.transactions})`,
      );
    } catch (err) {
      this.o.log.warn(`policy: nft failed: ${(err as Error).message}; rewriting the whole table next`);
      this.applied = undefined;
      if (!this.abort.signal.aborted) setTimeout(() => this.schedule(), 1000);
    }
  }
}
