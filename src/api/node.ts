// The library's `Node`: one node agent (`flannelette node`) of its own, for tests without a lab —
// started in a network namespace given by name (`ip netns exec`) or by path (`/proc/PID/ns/net`, a
// bind mount: any namespace, made by podman, systemd-nspawn or `unshare`), or attached to an agent
// that is already running. It has the agent's requests (AgentClient: status, routes, stats,
// impair, partition, heal, trace, capture) and stop(); it is AsyncDisposable. start() throws
// ConfigError (bad options, before anything starts) or DeviceError naming the agent's log file when
// the agent exits or does not answer; nothing is left running then.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentCommand, waitForAgent } from '../lab/agent.js';
import { pidAlive } from '../sys/proc.js';
import { spawnDetached } from '../sys/run.js';
import { ConfigError } from '../util/errors.js';
import { AgentClient, impairFieldsOf, type ImpairSpec } from './agent-client.js';

/** A peer given by hand (`--peer name=..,ip=..,subnet=..`). */
export interface NodePeer {
  name: string;
  publicIp: string;
  subnet: string;
  /** The peer's VTEP MAC (required by the vxlan backend). */
  vtepMac?: string;
  /** The peer's WireGuard public key (wireguard backend). */
  publicKey?: string;
}

/** Options of `Node.start()`: the flags of `flannelette node` (README "Running a node by hand"). */
export interface NodeStartOptions {
  name: string;
  /** The network namespace to run in: a name under /run/netns, or a path such as /proc/PID/ns/net. */
  netns?: string;
  /** A static cluster file listing every node (instead of publicIp/subnet/network/peers). */
  cluster?: string;
  publicIp?: string;
  subnet?: string;
  network?: string;
  peers?: NodePeer[];
  backend?: 'vxlan' | 'udp' | 'wireguard';
  port?: number;
  vni?: number;
  vtepMac?: string;
  /** Directory of the control socket (default a new temporary directory). */
  stateDir?: string;
  /** Capture points written to pcap files in `pcapDir`. */
  capture?: ('inner' | 'outer')[];
  pcapDir?: string;
  /** Impairments towards every peer from the start. */
  impair?: ImpairSpec;
  seed?: number;
  logLevel?: string;
  /** Further `flannelette node` flags, as given on the command line. */
  extraArgs?: string[];
  /** How long to wait for the agent to answer (default 15 s). */
  readyTimeoutMs?: number;
}

function flag(args: string[], name: string, value: string | number | undefined): void {
  if (value !== undefined) args.push(`--${name}`, String(value));
}

/** The `flannelette node` arguments for these options. Throws ConfigError when they cannot work. */
export function nodeArgs(o: NodeStartOptions, stateDir: string): string[] {
  if (!o.cluster && (!o.publicIp || !o.subnet || !o.network))
    throw new ConfigError(`node ${o.name}: give either cluster (a cluster file) or publicIp, subnet and network`);
  const args = ['--name', o.name, '--state-dir', stateDir, '--log-level', o.logLevel ?? 'info'];
  flag(args, 'cluster', o.cluster);
  flag(args, 'public-ip', o.publicIp);
  flag(args, 'subnet', o.subnet);
  flag(args, 'network', o.network);
  flag(args, 'backend', o.backend);
  flag(args, 'port', o.port);
  flag(args, 'vni', o.vni);
  flag(args, 'vtep-mac', o.vtepMac);
  flag(args, 'seed', o.seed);
  for (const p of o.peers ?? []) {
    const extra = `${p.vtepMac ? `,mac=${p.vtepMac}` : ''}${p.publicKey ? `,key=${p.publicKey}` : ''}`;
    args.push('--peer', `name=${p.name},ip=${p.publicIp},subnet=${p.subnet}${extra}`);
  }
  if (o.capture?.length) {
    args.push('--capture', o.capture.join(','));
    flag(args, 'pcap-dir', o.pcapDir);
  }
  for (const [k, v] of Object.entries(impairFieldsOf(o.impair ?? {})))
    args.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, v);
  return [...args, ...(o.extraArgs ?? [])];
}

/** How to run argv inside `netns` (a name under /run/netns, or a namespace file's path). */
export function inNetns(netns: string | undefined, argv: string[]): string[] {
  if (netns === undefined) return argv;
  if (netns.includes('/')) {
    if (!fs.existsSync(netns)) throw new ConfigError(`netns ${netns}: no such file`);
    return ['nsenter', `--net=${netns}`, '--', ...argv];
  }
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/** One node agent: its control-socket requests, and stop(). */
export class Node extends AgentClient implements AsyncDisposable {
  private constructor(
    name: string,
    socketPath: string,
    /** The agent's pid (undefined for an attached agent, which stop() leaves running). */
    readonly pid: number | undefined,
    /** The agent's log file (undefined for an attached agent). */
    readonly logFile: string | undefined,
  ) {
    super(name, socketPath);
  }

  /** Starts `flannelette node` with these options and waits until its control socket answers. */
  static async start(o: NodeStartOptions): Promise<Node> {
    const stateDir = o.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'flt-node-'));
    fs.mkdirSync(stateDir, { recursive: true });
    const argv = inNetns(o.netns, [...agentCommand(), ...nodeArgs(o, stateDir)]);
    const logFile = path.join(stateDir, `${o.name}.log`);
    const socket = path.join(stateDir, `${o.name}.sock`);
    const pid = spawnDetached(argv, logFile);
    const node = new Node(o.name, socket, pid, logFile);
    try {
      await waitForAgent(o.name, socket, logFile, () => pidAlive(pid), o.readyTimeoutMs ?? 15_000);
    } catch (err) {
      await node.stop();
      let tail = '';
      try {
        tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-1)[0] ?? '';
      } catch {
        // no log
      }
      throw tail ? Object.assign(err as Error, { message: `${(err as Error).message}: ${tail}` }) : err;
    }
    return node;
  }

  /** A Node for an agent that is already running, by its control socket. stop() does not stop it. */
  static attach(name: string, socketPath: string): Node {
    return new Node(name, socketPath, undefined, undefined);
  }

  /** Stops the agent (SIGTERM; SIGKILL after 5 s): it removes its TUN device and routes. Idempotent. */
  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || !pidAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  }

  /** `await using node = await Node.start(...)` stops it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
