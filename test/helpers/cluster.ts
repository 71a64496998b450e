// A two-node overlay for integration tests (root): two node namespaces on a veth underlay, one pod
// namespace behind each node (veth, default route to the node), and flannelette node processes
// started from the built CLI (dist/) inside the node namespaces. Optionally node 2 runs the Linux
// kernel's VXLAN device configured exactly as flanneld configures it, instead of flannelette.
// Everything is removed by `destroy()`, also when the node processes already died.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rpcCall } from '../../src/util/rpc.js';
import { generateKeys } from '../../src/wireguard/crypto.js';
import { createNetns, createVethPair, type Netns } from './netns.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/flannelette.js');
export const TRANSFER = path.join(ROOT, 'test/helpers/tcp-transfer.mjs');

export interface ClusterNode {
  name: string;
  ns: Netns;
  publicIp: string;
  subnet: string;
  mac: string;
  pod: Netns;
  podIp: string;
  proc?: ChildProcess;
  log: string;
  socket: string;
  kernel: boolean;
  /** wireguard backend: the node's key file (0600) and its public key, base64. */
  keyFile: string;
  publicKey: string;
}

export interface TwoNodeCluster {
  nodes: [ClusterNode, ClusterNode];
  stateDir: string;
  startNode(n: ClusterNode, extra?: string[]): Promise<void>;
  stopNode(n: ClusterNode, signal?: NodeJS.Signals): Promise<number | null>;
  /** Makes node 2 a kernel VXLAN node (flanneld's configuration) instead of flannelette. */
  configureKernelVxlan(n: ClusterNode, peer: ClusterNode): Promise<void>;
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  prefix: string;
  backend: 'vxlan' | 'udp' | 'wireguard' | 'host-gw';
}

export async function createTwoNodeCluster(opts: ClusterOptions): Promise<TwoNodeCluster> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-state-'));
  const made: Netns[] = [];
  const mk = async (): Promise<Netns> => {
    const ns = await createNetns(opts.prefix);
    made.push(ns);
    return ns;
  };
  const cluster: TwoNodeCluster = {
    nodes: [] as unknown as [ClusterNode, ClusterNode],
    stateDir,
    async startNode(n, extra = []) {
      const peer = cluster.nodes.find((p) => p !== n)!;
      await spawnNode(n, [
        '--name',
        n.name,
        '--public-ip',
        n.publicIp,
        '--subnet',
        n.subnet,
        '--network',
        '10.244.0.0/16',
        '--backend',
        opts.backend,
        '--vtep-mac',
        n.mac,
        '--state-dir',
        stateDir,
        '--log-format',
        'json',
        '--peer',
        `name=${peer.name},ip=${peer.publicIp},subnet=${peer.subnet},mac=${peer.mac}${opts.backend === 'wireguard' ? `,key=${peer.publicKey}` : ''}`,
        ...(opts.backend === 'wireguard' ? ['--wg-private-key', n.keyFile] : []),
        ...extra,
      ]);
    },
    stopNode: (n, signal = 'SIGTERM') => stopProcess(n.proc, signal),
    async configureKernelVxlan(n, peer) {
      const dev = 'flannel.1';
      const subnet0 = n.subnet.replace(/\/\d+$/, '');
      const peer0 = peer.subnet.replace(/\/\d+$/, '');
      await n.ns.ip(
        'link',
        'add',
        dev,
        'type',
        'vxlan',
        'id',
        '1',
        'local',
        n.publicIp,
        'dev',
        'under',
        'dstport',
        '8472',
        'nolearning',
      );
      await n.ns.ip('link', 'set', dev, 'address', n.mac);
      await n.ns.ip('addr', 'add', `${subnet0}/32`, 'dev', dev);
      await n.ns.ip('link', 'set', dev, 'mtu', '1450', 'up');
      await n.ns.ip('neigh', 'replace', peer0, 'lladdr', peer.mac, 'dev', dev, 'nud', 'permanent');
      await n.ns.exec('bridge', ['fdb', 'append', peer.mac, 'dev', dev, 'dst', peer.publicIp]);
      await n.ns.ip('route', 'replace', peer.subnet, 'via', peer0, 'dev', dev, 'onlink');
      // A veth never fills in checksums the kernel left to the NIC: without this, the kernel's
      // VXLAN sends inner TCP segments with partial checksums that no real wire would carry.
      await n.ns.exec('ethtool', ['-K', 'under', 'tx', 'off']);
      n.kernel = true;
    },
    async destroy() {
      for (const n of cluster.nodes) await cluster.stopNode(n).catch(() => undefined);
      for (const ns of made) await ns.del();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
  try {
    const [n1, n2] = [await mk(), await mk()];
    await createVethPair(n1, 'under', '192.168.77.1/24', n2, 'under', '192.168.77.2/24');
    const specs = [
      {
        ns: n1,
        name: 'node1',
        publicIp: '192.168.77.1',
        subnet: '10.244.1.0/24',
        mac: '0e:00:00:00:01:01',
        podIp: '10.244.1.2',
      },
      {
        ns: n2,
        name: 'node2',
        publicIp: '192.168.77.2',
        subnet: '10.244.2.0/24',
        mac: '0e:00:00:00:02:01',
        podIp: '10.244.2.2',
      },
    ];
    for (const s of specs) {
      const pod = await mk();
      const gw = s.podIp.replace(/\.2$/, '.1');
      await createVethPair(pod, 'eth0', `${s.podIp}/24`, s.ns, 'pod0', `${gw}/24`);
      await pod.ip('route', 'add', 'default', 'via', gw);
      await s.ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      const keys = generateKeys();
      const keyFile = path.join(stateDir, `${s.name}.wg-key`);
      fs.writeFileSync(keyFile, `${keys.privateKey.toString('base64')}\n`, { mode: 0o600 });
      const files = {
        log: path.join(stateDir, `${s.name}.log`),
        socket: path.join(stateDir, `${s.name}.sock`),
        keyFile,
      };
      cluster.nodes.push({
        ...s,
        ...files,
        pod,
        kernel: false,
        publicKey: keys.publicKey.toString('base64'),
      });
    }
    return cluster;
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
}

/**
 * Starts `flannelette node <nodeArgs>` from the built CLI inside n's namespace (output appended to n.log)
 * and waits up to 20 s for its control socket; throws with the log's tail when it exits or never answers.
 */
export async function spawnNode(n: ClusterNode, nodeArgs: string[]): Promise<void> {
  const out = fs.openSync(n.log, 'a');
  const proc = spawn('ip', ['netns', 'exec', n.ns.name, process.execPath, CLI, 'node', ...nodeArgs], {
    stdio: ['ignore', out, out],
  });
  n.proc = proc;
  fs.closeSync(out);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`node ${n.name} exited (${proc.exitCode}): ${fs.readFileSync(n.log, 'utf8').slice(-2000)}`);
    try {
      await rpcCall(n.socket, 'ping', {}, { timeoutMs: 1000 });
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`node ${n.name} did not come up: ${fs.readFileSync(n.log, 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Signals a node process and waits for it to exit (SIGKILL after 10 s); resolves with its exit code. */
export async function stopProcess(
  proc: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
  const done = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  const code = await done;
  clearTimeout(timer);
  return code;
}

/**
 * The drop reasons (dataplane/counters.ts) of datagrams from the underlay that never became an inner
 * packet: what a flood of junk at a node's port ends up as. (A datagram that did become one may still
 * be dropped as tun-write-failed; the TUN side's own drops, e.g. tun-not-ipv4, are not listed.)
 */
export const UNDERLAY_SIDE_DROPS = [
  'unknown-peer',
  'truncated',
  'bad-vxlan-flags',
  'wrong-vni',
  'wrong-inner-mac',
  'not-ipv4-inner',
  'inner-malformed',
  'spoofed-source',
  'not-local-destination',
] as const;

/** pings from a namespace; resolves with the number of replies. */
export async function ping(from: Netns, to: string, count = 3): Promise<number> {
  try {
    const { stdout } = await from.exec('ping', ['-c', String(count), '-i', '0.2', '-W', '2', to], {
      timeoutMs: 20_000,
    });
    const m = /(\d+) received/.exec(stdout);
    return m ? Number(m[1]) : 0;
  } catch (err) {
    const m = /(\d+) received/.exec(String((err as Error).message));
    return m ? Number(m[1]) : 0;
  }
}

export interface TransferResult {
  sent: { bytes: number; sha256: string };
  received: { remote: string; bytes: number; sha256: string };
}

/**
 * Sends `bytes` over TCP from one namespace to a server in another; both sides' sha256. The server
 * listens on `listen` (default 0.0.0.0; "::" for IPv6).
 */
export async function tcpTransfer(
  from: Netns,
  to: Netns,
  toIp: string,
  bytes: number,
  port = 5001,
  listen = '0.0.0.0',
): Promise<TransferResult> {
  const server = spawn('ip', ['netns', 'exec', to.name, process.execPath, TRANSFER, 'serve', String(port), listen], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  server.stdout.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 10_000;
    while (!out.includes('listening')) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error('transfer server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const { stdout } = await from.exec(process.execPath, [TRANSFER, 'send', toIp, String(port), String(bytes), '7'], {
      timeoutMs: 60_000,
    });
    const sent = JSON.parse(stdout.trim().split('\n').pop()!) as TransferResult['sent'];
    const end = Date.now() + 20_000;
    while (!out.includes('sha256')) {
      if (Date.now() > end) throw new Error('transfer server never reported');
      await new Promise((r) => setTimeout(r, 50));
    }
    const received = JSON.parse(out.trim().split('\n').pop()!) as TransferResult['received'];
    return { sent, received };
  } finally {
    server.kill();
  }
}

/** Sends datagrams from `srcIp` inside a namespace (python3's socket module, one datagram a line). */
export async function sendDatagramsFrom(
  nsName: string,
  srcIp: string,
  dstIp: string,
  port: number,
  payloads: Buffer[],
): Promise<void> {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    `s.bind(("${srcIp}", 0))`,
    'for line in sys.stdin:',
    `    s.sendto(bytes.fromhex(line.strip()), ("${dstIp}", ${port}))`,
  ].join('\n');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', nsName, 'python3', '-c', script], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sending datagrams failed: ${err}`))));
    child.stdin.end(payloads.map((p) => p.toString('hex')).join('\n') + '\n');
  });
}
