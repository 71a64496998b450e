// The library's `Lab`: a live lab (src/lab/live-lab.ts) driven from a test, with what the CLI does as
// typed methods: up, apply, get, exec, logs, waitFor, impair/partition/heal, node(name).stop/start,
// capture, stats, check, attach/detach (an existing network namespace as a pod), down. Every method talks to the lab's API (its unix socket, the lab's
// token) or to a node agent's control socket, exactly as the `flannelette lab` verbs do.
// A Lab is AsyncDisposable: `await using lab = await Lab.up(...)` removes it when the block ends,
// also when a test throws. Throws the project's errors (util/errors.ts): ConfigError (bad topology
// or manifest, unknown pod or node: file:line where there is one), PermissionError (not root),
// DeviceError (a part did not come up), KubeApiError (the API refused), TimeoutError (waitFor).
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import YAML from 'yaml';
import { parseManifests } from '../k8s/manifest.js';
import { attachPod, detachPod, type AttachedPod } from '../lab/attach-pod.js';
import type { KubeList, KubeObject } from '../k8s/types.js';
import { runCheck, type CheckResult } from '../lab/check.js';
import { KubeClient } from '../lab/kube-client.js';
import { applyObjects, readManifestSources, parseAll } from '../lab/kubectl-apply.js';
import { podExec, podLogs } from '../lab/kubectl-pod-io.js';
import { collectionPath, objectPath, query, resolveResource } from '../lab/kube-resources.js';
import { requireState } from '../lab/lab.js';
import { labClient, liveLabUp } from '../lab/live-lab.js';
import { livePaths } from '../lab/live-paths.js';
import { startNode, stopNode } from '../lab/node-ops.js';
import { controlSocket, labPaths, labRoot, type LabState } from '../lab/state.js';
import { teardownLab } from '../lab/teardown.js';
import { parseTopology, type LabTopology } from '../lab/topology.js';
import { netnsArgv, runExit } from '../sys/run.js';
import { ConfigError, TimeoutError } from '../util/errors.js';
import { AgentClient, type ImpairSpec, type ImpairmentsReply, type StatsReply } from './agent-client.js';
import type { Capture, CaptureOptions, CapturePoint } from './capture.js';
import { describeCondition, evaluateCondition, type WaitCondition } from './conditions.js';
import type { ObjectOf } from './kinds.js';

/** Options of `Lab.up()`. */
export interface LabUpOptions {
  /** The lab's name (default the topology's); lets several labs run side by side. */
  name?: string;
  /** Node agents' log level (default `info`). */
  logLevel?: string;
  /** Where nodes with `capture:` write pcap files (default `<cwd>/pcaps`). */
  pcapDir?: string;
  /** How long to wait for each stage of `up` (API, nodes, pods; default 60 s). */
  readyTimeoutMs?: number;
  /** Aborting stops `up` and removes what it had created. */
  signal?: AbortSignal;
  /** `docker`: every pod in Docker containers, as the topology's `runtime: docker` (`lab up --runtime`). */
  runtime?: 'docker' | 'host';
}

/** Options of `lab.exec()`. */
export interface ExecOptions {
  /** The pod's container (default the pod's default container). */
  container?: string;
  /** Written to the command's standard input, which is then closed. */
  stdin?: string | Buffer;
  /** Rejects with TimeoutError after this long (default 30 s). */
  timeoutMs?: number;
  /** The pod's namespace (default `default`). */
  namespace?: string;
}

/** What `lab.exec()` resolves with; a non-zero exit code is a result, not an error. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of `lab.waitFor()`. */
export interface WaitOptions {
  /** Rejects with TimeoutError after this long (default 60 s). */
  timeoutMs?: number;
  /** Between two checks (default 200 ms). */
  intervalMs?: number;
}

/** The connectivity matrix of `lab.check()`: `ok` when every pod reached every pod and node. */
export interface CheckReport extends CheckResult {
  ok: boolean;
}

/** Options of `lab.attach()`. */
export interface AttachOptions {
  /** The node to attach the namespace to (default: the scheduler picks one). */
  node?: string;
  /** The pod's namespace (default `default`). */
  namespace?: string;
  /** Rejects with DeviceError when the pod is not Ready after this long (default 60 s). */
  timeoutMs?: number;
}

/** What `lab.attach()` resolves with: the Ready pod, the namespace file, its node and its address. */
export type AttachResult = AttachedPod;

/** What a waitFor predicate returns while its condition does not hold yet. */
export type Falsy = false | 0 | '' | null | undefined;

/** Manifests for `lab.apply()`: a file or directory path, YAML text, or objects. */
export type Manifests = string | object | readonly object[];

/** One node of a lab: its agent's control socket (AgentClient) plus stop and start of the node. */
export class LabNode extends AgentClient {
  constructor(
    private readonly lab: Lab,
    name: string,
    socketPath: string,
  ) {
    super(name, socketPath);
  }

  /** Kills the node's agent, kubelet and pods (`lab node stop`); resolves with the pod processes killed. */
  stop(): Promise<number> {
    return stopNode(this.lab.state(), this.name, { root: this.lab.root });
  }

  /** Starts a stopped node again with the same subnet and waits until it is Ready (`lab node start`). */
  start(): Promise<void> {
    return startNode(this.lab.state(), this.name, { root: this.lab.root });
  }
}

function topologyFrom(source: string | object, name: string | undefined): { topology: LabTopology; text: string } {
  if (typeof source !== 'string') {
    const text = YAML.stringify(source);
    return { topology: parseTopology(text, '<topology object>', name), text };
  }
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read topology ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  return { topology: parseTopology(text, source, name), text };
}

/** A live lab: control plane, node agents, kubelets and pods in network namespaces. */
export class Lab implements AsyncDisposable {
  private downed = false;

  private constructor(
    /** The lab's name (its namespaces are `flt-<name>-*`). */
    readonly name: string,
    /** The lab state root (default /run/flannelette/labs). */
    readonly root: string,
    /** A client of the lab's Kubernetes API (for requests the methods do not cover). */
    readonly client: KubeClient,
  ) {}

  /**
   * Brings a live lab up from a topology file or an object of the same shape (README "The lab")
   * and waits until its nodes are Ready and its pods Running. On failure nothing is left behind.
   */
  static async up(topology: string | object, opts: LabUpOptions = {}): Promise<Lab> {
    const { topology: t, text } = topologyFrom(topology, opts.name);
    if (opts.runtime) t.runtime = opts.runtime === 'docker' ? 'docker' : undefined;
    await liveLabUp({
      topology: t,
      topologyText: text,
      logLevel: opts.logLevel,
      pcapDir: opts.pcapDir,
      readyTimeoutMs: opts.readyTimeoutMs,
      signal: opts.signal,
    });
    return Lab.attach(t.name);
  }

  /** A Lab for a lab that is already running (e.g. made by `flannelette lab up`). */
  static attach(name: string, root = labRoot()): Lab {
    const state = requireState(name, root);
    if (!state.live) throw new ConfigError(`lab ${name} is a --static lab: the library drives live labs`);
    return new Lab(name, root, labClient(name, root));
  }

  /** The lab's current state (topology with its nodes and pods, as `lab up` recorded it). */
  state(): LabState {
    return requireState(this.name, this.root);
  }

  /** The lab's kubeconfig, for kubectl or @kubernetes/client-node. */
  get kubeconfig(): string {
    return livePaths(this.name, this.root).kubeconfig;
  }

  /** Creates or updates objects as `lab apply -f` does; resolves with its lines (`pod/x created`). */
  async apply(manifests: Manifests, opts: { namespace?: string } = {}): Promise<string[]> {
    let objs;
    if (typeof manifests === 'string' && !manifests.includes('\n') && fs.existsSync(manifests))
      objs = parseAll(readManifestSources([manifests], () => ''));
    else if (typeof manifests === 'string') objs = parseManifests(manifests, '<manifest text>');
    else {
      const list: readonly object[] = Array.isArray(manifests) ? manifests : [manifests];
      objs = parseManifests(list.map((o) => YAML.stringify(o)).join('---\n'), '<manifest objects>');
    }
    const lines: string[] = [];
    await applyObjects(this.client, objs, 'apply', opts.namespace, (l) => lines.push(l));
    return lines;
  }

  /** The objects of a kind (`lab.get('pods')`), with a label selector and namespace if given. */
  get<K extends string>(kind: K, opts?: { namespace?: string; selector?: string }): Promise<ObjectOf<K>[]>;
  /** One object (`lab.get('pod', 'busybox')`); rejects with KubeApiError (reason NotFound) if absent. */
  get<K extends string>(kind: K, name: string, opts?: { namespace?: string }): Promise<ObjectOf<K>>;
  async get(
    kind: string,
    nameOrOpts?: string | { namespace?: string; selector?: string },
    maybe: { namespace?: string } = {},
  ): Promise<unknown> {
    const r = resolveResource(kind);
    if (typeof nameOrOpts === 'string') return this.client.get(objectPath(r, nameOrOpts, maybe.namespace ?? 'default'));
    const o = nameOrOpts ?? {};
    const list = await this.client.get<KubeList<KubeObject>>(
      `${collectionPath(r, o.namespace ?? 'default')}${query({ labelSelector: o.selector })}`,
    );
    return list.items;
  }

  /**
   * Runs `argv` in a pod's container (through the API, as `lab exec`) or, given a node's name, in
   * the node's network namespace. A non-zero exit code resolves; rejects with TimeoutError after
   * `timeoutMs`, ConfigError for an unknown container, KubeApiError for an unknown pod.
   */
  async exec(target: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const node = this.state().topology.nodes.find((n) => n.name === target);
    if (node) {
      const r = await runExit(netnsArgv(node.netns, argv), { input: opts.stdin?.toString(), timeoutMs });
      if (r.code === 124) throw new TimeoutError(`exec on node ${target}: ${argv.join(' ')} ran over ${timeoutMs} ms`);
      return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = (into: Buffer[]): Writable =>
      new Writable({ write: (chunk: Buffer, _e, done) => (into.push(Buffer.from(chunk)), done()) });
    const signal = AbortSignal.timeout(timeoutMs);
    const lp = livePaths(this.name, this.root);
    const token = fs.readFileSync(lp.token, 'utf8').trim();
    const input = opts.stdin === undefined ? undefined : Readable.from([Buffer.from(opts.stdin)]);
    try {
      const exitCode = await podExec(
        this.client,
        { socket: lp.apiSocket, token },
        target,
        argv,
        { container: opts.container, namespace: opts.namespace, stdin: input !== undefined },
        { input, output: sink(out), error: sink(err), signal },
      );
      return { exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    } catch (e) {
      if (signal.aborted) throw new TimeoutError(`exec in pod ${target}: ${argv.join(' ')} ran over ${timeoutMs} ms`);
      throw e;
    }
  }

  /** A container's log (`lab logs POD -c C`), as text. */
  async logs(pod: string, opts: { container?: string; namespace?: string; previous?: boolean } = {}): Promise<string> {
    let text = '';
    const out = new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) });
    await podLogs(this.client, pod, opts, out);
    return text;
  }

  /**
   * Waits until `what` holds: a predicate returning a truthy value (which waitFor resolves with;
   * errors it throws are retried until the deadline) or a named condition (conditions.ts: a pod
   * Ready, pods of a selector Ready, a node Ready/NotReady, a Service with endpoints, an object
   * gone). Rejects with TimeoutError naming the condition and the last error.
   */
  async waitFor<T>(
    what: ((lab: Lab) => Promise<T | Falsy> | T | Falsy) | WaitCondition,
    opts: WaitOptions = {},
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const test =
      typeof what === 'function'
        ? (): Promise<T | Falsy> | T | Falsy => what(this)
        : async (): Promise<T | Falsy> => (await evaluateCondition(this.client, what)) as T | Falsy;
    let last: unknown;
    for (;;) {
      try {
        const v = await test();
        if (v) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        const label = typeof what === 'function' ? 'the predicate to hold' : describeCondition(what);
        const why = last instanceof Error ? ` (last error: ${last.message})` : '';
        throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${label}${why}`, { cause: last });
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }

  /** A node of the lab; rejects in its methods when it has no agent. Throws ConfigError for an unknown node. */
  node(name: string): LabNode {
    const nodes = this.state().topology.nodes.map((n) => n.name);
    if (!nodes.includes(name))
      throw new ConfigError(`"${name}" is not a node of lab ${this.name} (nodes: ${nodes.join(', ')})`);
    return new LabNode(this, name, controlSocket(labPaths(this.name, this.root), name));
  }

  private async bothWays(a: string, b: string, fn: (from: LabNode, to: string) => Promise<ImpairmentsReply>) {
    if (a === b) throw new ConfigError(`give two different nodes (got ${a} twice)`);
    const [na, nb] = [this.node(a), this.node(b)];
    return { [a]: await fn(na, b), [b]: await fn(nb, a) };
  }

  /** Impairs the link between two nodes, both ways (`lab impair A B --delay 20ms`). */
  impair(a: string, b: string, spec: ImpairSpec): Promise<Record<string, ImpairmentsReply>> {
    if (Object.values(spec).every((v) => v === undefined))
      throw new ConfigError('give impairments (e.g. { delay: "20ms", loss: "1%" }) or use clear()');
    return this.bothWays(a, b, (n, to) => n.impair(to, spec));
  }

  /** Removes the impairments between two nodes, both ways (`lab impair A B --clear`). */
  clear(a: string, b: string): Promise<Record<string, ImpairmentsReply>> {
    return this.bothWays(a, b, (n, to) => n.clearImpairments(to));
  }

  /** Cuts the link between two nodes, both ways, until healed (`lab partition A B`). */
  partition(a: string, b: string): Promise<Record<string, ImpairmentsReply>> {
    return this.bothWays(a, b, (n, to) => n.partition(to));
  }

  /** Ends a partition between two nodes (`lab heal A B`). */
  heal(a: string, b: string): Promise<Record<string, ImpairmentsReply>> {
    return this.bothWays(a, b, (n, to) => n.heal(to));
  }

  /** A live capture of a node's `inner` or `outer` point; see Capture (stop, packets, path). */
  capture(node: string, point: CapturePoint, opts: CaptureOptions = {}): Promise<Capture> {
    return this.node(node).capture(point, opts);
  }

  /** A node's counters, drops and per-peer traffic (`flannelette stats lab/node --json`). */
  stats(node: string): Promise<StatsReply> {
    return this.node(node).stats();
  }

  /** Ping and TCP from every pod to every pod and node (`lab check`), as a matrix. */
  async check(): Promise<CheckReport> {
    const r = await runCheck(this.client, this.state().topology);
    return { ...r, ok: r.failures === 0 };
  }

  /**
   * Makes an existing network namespace a pod of the lab (`lab attach`): `netns` is a name from
   * `ip netns add`, /proc/PID/ns/net of a process (`unshare --net`, podman, systemd-nspawn) or a
   * bind-mounted namespace file. The node's kubelet gives it eth0, an address and a route via cni0,
   * and runs one flannelette/sleep container in it; resolves once the pod is Ready. The namespace and
   * the processes already in it stay the caller's: `detach()`, `down()` and a node's stop kill only
   * the lab's own processes there. Rejects with ConfigError (not a network namespace, no such node, the
   * pod exists; nothing is created) or DeviceError (not Ready in time; the pod is removed again).
   */
  async attach(pod: string, netns: string, opts: AttachOptions = {}): Promise<AttachResult> {
    if (opts.node !== undefined) this.node(opts.node); // ConfigError naming the lab's nodes
    return await attachPod(this.client, { pod, netns, ...opts });
  }

  /**
   * Removes an attached pod (`lab detach`) and waits until it is gone: its eth0, address and the lab's
   * processes in the namespace go; the namespace and the caller's processes in it stay. Resolves with
   * the namespace file. Rejects with ConfigError for a pod that does not exist or was not attached.
   */
  detach(pod: string, opts: { namespace?: string; timeoutMs?: number } = {}): Promise<string> {
    return detachPod(this.client, pod, opts);
  }

  /** Removes the lab: processes, containers, namespaces, veths, files (`lab down`). Idempotent. */
  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    await teardownLab(this.name, { root: this.root });
  }

  /** `await using lab = await Lab.up(...)` calls down() when the block ends, thrown or not. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
