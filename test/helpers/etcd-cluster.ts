// An etcd-backed flannelette cluster for integration tests (root): an underlay namespace with a
// bridge br0 (192.168.77.254/24) where a real etcd runs, node namespaces each joined to br0 by a
// veth (node side `under`, 192.168.77.<index>/24, IP forwarding on), flannelette node processes
// started from the built CLI (dist/) with --etcd-endpoints and no subnet (they lease one), and one
// pod namespace behind a node once its lease is known (veth pod0 <.1/24> ↔ eth0 <.2/24>, default
// route). A "kernel node" is a node namespace the test programs itself (flanneld's kernel VXLAN).
// Everything (processes, etcd, namespaces, the state dir) is removed by destroy(), also on failure;
// a process 'exit' hook SIGKILLs node processes that are still running as a last resort.
// Throws: creation and startNode reject with the node's log tail when something does not come up.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rpcCall } from '../../src/util/rpc.js';
import { CLI, stopProcess } from './cluster.js';
import { startEtcd, type TestEtcd } from './etcd.js';
import { createNetns, createVethPair, run, type ExecResult, type Netns } from './netns.js';

export const ETCD_HOST = '192.168.77.254';

export interface EtcdHost {
  name: string;
  ns: Netns;
  publicIp: string;
  /** Set by startNode (from the status rpc) or by the test for a kernel node. */
  subnet?: string;
  pod?: Netns;
  podIp?: string;
  proc?: ChildProcess;
  log: string;
  socket: string;
}

export interface NodeStatus {
  subnet: string;
  publicIp: string;
  vtepMac?: string;
  vni?: number;
  membership: { source: string; state: string; lastError?: string };
}

export interface RouteEntry {
  subnet: string;
  publicIp: string;
  vtepMac?: string;
}

export interface EtcdCluster {
  underlay: Netns;
  etcd: TestEtcd;
  endpoint: string;
  stateDir: string;
  hosts: EtcdHost[];
  /** A node namespace on br0 with address 192.168.77.<index>. */
  addHost(name: string, index: number): Promise<EtcdHost>;
  /** Runs `flannelette <args>` inside the underlay namespace; resolves with its output. */
  cli(...args: string[]): Promise<ExecResult>;
  /** Starts a flannelette node with etcd membership and waits until its status answers; records the subnet. */
  startNode(h: EtcdHost, extra?: string[]): Promise<NodeStatus>;
  /** A pod namespace behind the host's subnet (pod0 gets <net>.1, the pod <net>.2). */
  addPod(h: EtcdHost): Promise<void>;
  /** Sends a signal and waits for the process to exit (SIGKILL after 10 s). */
  stopNode(h: EtcdHost, signal?: NodeJS.Signals): Promise<number | null>;
  status(h: EtcdHost): Promise<NodeStatus>;
  routes(h: EtcdHost): Promise<RouteEntry[]>;
  destroy(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

function killOnExit(proc: ChildProcess): void {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const p of running) p.kill('SIGKILL');
  });
}

export async function createEtcdCluster(prefix: string): Promise<EtcdCluster> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-etcd-state-'));
  const made: Netns[] = [];
  const mk = async (): Promise<Netns> => {
    const ns = await createNetns(prefix);
    made.push(ns);
    return ns;
  };
  let etcd: TestEtcd | undefined;
  const hosts: EtcdHost[] = [];

  const stopNode = (h: EtcdHost, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> =>
    stopProcess(h.proc, signal);

  const destroy = async (): Promise<void> => {
    for (const h of hosts) await stopNode(h, 'SIGKILL').catch(() => undefined);
    await etcd?.stop().catch(() => undefined);
    for (const ns of made) await ns.del();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    const underlay = await mk();
    await underlay.ip('link', 'add', 'br0', 'type', 'bridge');
    await underlay.ip('addr', 'add', `${ETCD_HOST}/24`, 'dev', 'br0');
    await underlay.ip('link', 'set', 'br0', 'up');
    etcd = await startEtcd({ netns: underlay.name, host: ETCD_HOST });
    const endpoint = etcd.endpoint;

    const cluster: EtcdCluster = {
      underlay,
      etcd,
      endpoint,
      stateDir,
      hosts,
      async addHost(name, index) {
        const ns = await mk();
        const port = `${name}-br`.slice(0, 15);
        await createVethPair(underlay, port, '', ns, 'under', `192.168.77.${index}/24`);
        await underlay.ip('link', 'set', port, 'master', 'br0');
        await ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
        const h: EtcdHost = {
          name,
          ns,
          publicIp: `192.168.77.${index}`,
          log: path.join(stateDir, `${name}.log`),
          socket: path.join(stateDir, `${name}.sock`),
        };
        hosts.push(h);
        return h;
      },
      cli: (...args) =>
        run('ip', ['netns', 'exec', underlay.name, process.execPath, CLI, ...args], { timeoutMs: 30_000 }),
      async startNode(h, extra = []) {
        const args = [
          'netns',
          'exec',
          h.ns.name,
          process.execPath,
          CLI,
          'node',
          '--name',
          h.name,
          '--etcd-endpoints',
          endpoint,
          '--public-ip',
          h.publicIp,
          '--state-dir',
          stateDir,
          '--log-format',
          'json',
          ...extra,
        ];
        const out = fs.openSync(h.log, 'a');
        const proc = spawn('ip', args, { stdio: ['ignore', out, out] });
        fs.closeSync(out);
        h.proc = proc;
        killOnExit(proc);
        const deadline = Date.now() + 30_000;
        for (;;) {
          if (proc.exitCode !== null) throw new Error(`node ${h.name} exited (${proc.exitCode}): ${logTail(h)}`);
          try {
            const s = (await rpcCall(h.socket, 'status', {}, { timeoutMs: 1000 })) as NodeStatus;
            h.subnet = s.subnet;
            return s;
          } catch {
            if (Date.now() > deadline) throw new Error(`node ${h.name} did not come up: ${logTail(h)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      },
      async addPod(h) {
        if (!h.subnet) throw new Error(`${h.name} has no subnet yet`);
        const base = h.subnet.replace(/\.0\/\d+$/, '');
        const pod = await mk();
        await createVethPair(pod, 'eth0', `${base}.2/24`, h.ns, 'pod0', `${base}.1/24`);
        await pod.ip('route', 'add', 'default', 'via', `${base}.1`);
        h.pod = pod;
        h.podIp = `${base}.2`;
      },
      stopNode,
      status: async (h) => (await rpcCall(h.socket, 'status', {}, { timeoutMs: 2000 })) as NodeStatus,
      routes: async (h) => (await rpcCall(h.socket, 'routes', {}, { timeoutMs: 2000 })) as RouteEntry[],
      destroy,
    };
    return cluster;
  } catch (err) {
    await destroy();
    throw err;
  }
}

export function logTail(h: EtcdHost, chars = 2000): string {
  try {
    return fs.readFileSync(h.log, 'utf8').slice(-chars);
  } catch {
    return '(no log)';
  }
}
