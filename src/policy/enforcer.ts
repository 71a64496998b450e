// The NetworkPolicy enforcer of one lab node, run inside its kubelet process: watches NetworkPolicies,
// Pods and Namespaces (all namespaces) through the API, and after each change (coalesced for 20 ms)
// compiles the node's ruleset (compile.ts) and applies the difference to `table inet
// kube-network-policies` in the node's network namespace as one `nft -f` transaction. Nothing is
// applied before all three lists are in (a half-known cluster would drop traffic it should allow).
// Existing connections are never cut: established/related flows are accepted before any policy, so a
// policy added later stops new connections only (as kube-network-policies, whose verdict is cached in
// conntrack). start() never throws (API outages are retried); stop() deletes the table.
import type { ApiClient } from '../kclient/api-client.js';
import type { Namespace, Pod } from '../k8s/types.js';
import type { NetworkPolicy } from '../k8s/networkpolicy-types.js';
import { netnsArgv, run } from '../sys/run.js';
import { compileNode, type Ruleset } from './compile.js';
import { Informer } from './informer.js';
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
  private readonly pods: Informer<Pod>;
  private readonly namespaces: Informer<Namespace>;
  private readonly nft: (netns: string, script: string) => Promise<void>;
  private applied: Ruleset | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private dirty = false;
  private loops: Promise<void>[] = [];
  /** Transactions applied so far (for logs and tests). */
  transactions = 0;

  constructor(private readonly o: EnforcerOptions) {
    const changed = (): void => this.schedule();
    this.policies = new Informer(o.api, '/apis/networking.k8s.io/v1/networkpolicies', changed, o.log);
    this.pods = new Informer(o.api, '/api/v1/pods', changed, o.log);
    this.namespaces = new Informer(o.api, '/api/v1/namespaces', changed, o.log);
    this.nft = o.nft ?? runNft;
  }

  start(): void {
    const s = this.abort.signal;
    this.loops = [this.policies.run(s), this.pods.run(s), this.namespaces.run(s)];
    this.o.log.info(`policy enforcer ${this.o.nodeName}: watching NetworkPolicies (table inet kube-network-policies)`);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await Promise.allSettled(this.loops);
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
    if (!this.policies.hasSynced || !this.pods.hasSynced || !this.namespaces.hasSynced) return;
    this.syncing = this.applyOnce();
    await this.syncing;
    this.syncing = undefined;
    if (this.dirty) {
      this.dirty = false;
      this.schedule();
    }
  }

  private async applyOnce(): Promise<void> {
    const world = buildWorld(this.policies.list(), this.pods.list(), this.namespaces.list());
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
