// One benchmark testbed per data path: two node namespaces on a veth underlay (MTU 1500,
// 192.168.77.1/.2), one pod namespace behind each node (10.244.1.2 and 10.244.2.2, veth to the node,
// default route via the node), and the overlay between the nodes:
//   kernel-vxlan             the kernel's VXLAN device on both nodes, configured as flanneld does
//   flannelette-vxlan(-dgram) `flannelette node --backend vxlan` (native underlay, or --underlay dgram)
//   flannelette-udp          `flannelette node --backend udp`
//   flannelette-wireguard    `flannelette node --backend wireguard` (encrypted, TUN MTU 1420)
//   flannelette-host-gw      `flannelette node --backend host-gw` (kernel routes via the peer, no data path)
//   openvpn                  OpenVPN point-to-point over UDP, no cipher, no auth, tun MTU 1450
//   wireguard-go             wireguard-go on both nodes, configured with wg as flanneld's wireguard
//                            backend configures its device (MTU 1420, one peer per node subnet)
// `createTestbed` resolves once a pod-to-pod ping gets through. `close()` stops the node processes
// (SIGTERM, so a --cpu-prof profile gets written) and deletes the namespaces; never throws.
// Throws: createTestbed rejects (after cleaning up what it made) when a step fails or the overlay
// never passes a ping.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { rpcCall } from '../../src/util/rpc.js';
import { generateKeys, type StaticKeys } from '../../src/wireguard/crypto.js';
import { createNetns, createVethPair, forgetTempDir, sleep, stopChild, trackTempDir, type Netns } from './sys.js';

/** The repository root (this file is dist/bench/lib/testbed.js when run). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');

export const PATHS = [
  'kernel-vxlan',
  'flannelette-vxlan',
  'flannelette-vxlan-dgram',
  'flannelette-vxlan-no-gso',
  'flannelette-vxlan-no-gro',
  'flannelette-vxlan-no-uso',
  'flannelette-vxlan-no-offload',
  'flannelette-vxlan-busy-poll',
  'flannelette-vxlan-busy-poll-200',
  'flannelette-udp',
  'flannelette-wireguard',
  'flannelette-host-gw',
  'openvpn',
  'wireguard-go',
] as const;
export type PathName = (typeof PATHS)[number];

/** The node flags that make a row (the comparison rows for the switches). */
const ROW_FLAGS: Partial<Record<PathName, string[]>> = {
  'flannelette-vxlan-dgram': ['--underlay', 'dgram'],
  'flannelette-vxlan-no-gso': ['--no-udp-gso'],
  'flannelette-vxlan-no-gro': ['--no-udp-gro'],
  'flannelette-vxlan-no-uso': ['--no-tun-uso'],
  'flannelette-vxlan-no-offload': ['--no-udp-gso', '--no-udp-gro', '--no-tun-offload'],
  'flannelette-vxlan-busy-poll': ['--busy-poll-us', '50'],
  'flannelette-vxlan-busy-poll-200': ['--busy-poll-us', '200'],
};

interface NodeSpec {
  name: string;
  publicIp: string;
  subnet: string;
  mac: string;
  podIp: string;
  /** WireGuard keys (the wireguard rows). */
  keys: StaticKeys;
}

const SPECS: [NodeSpec, NodeSpec] = [
  {
    name: 'node1',
    publicIp: '192.168.77.1',
    subnet: '10.244.1.0/24',
    mac: '0e:00:00:00:01:01',
    podIp: '10.244.1.2',
    keys: generateKeys(),
  },
  {
    name: 'node2',
    publicIp: '192.168.77.2',
    subnet: '10.244.2.0/24',
    mac: '0e:00:00:00:02:01',
    podIp: '10.244.2.2',
    keys: generateKeys(),
  },
];

export interface Testbed {
  readonly path: PathName;
  readonly nodes: [Netns, Netns];
  readonly pods: [Netns, Netns];
  readonly podIps: [string, string];
  /** The user-space node processes (flannelette or openvpn); empty for the kernel. */
  readonly procs: ChildProcess[];
  /** flannelette's `stats` RPC of each node (undefined for other paths or on failure). */
  nodeStats(): Promise<unknown[] | undefined>;
  /** Kernel drop counters of each node namespace (links' tx/rx drops, UDP socket errors). */
  kernelCounters(): Promise<KernelCounters[]>;
  close(): Promise<void>;
}

export interface TestbedOptions {
  /** Extra flags for `node` itself (e.g. --cpu-prof) in front of the CLI, flannelette only. */
  nodeFlags?: string[];
}

export async function createTestbed(kind: PathName, opts: TestbedOptions = {}): Promise<Testbed> {
  const made: Netns[] = [];
  const procs: ChildProcess[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-bench-state-'));
  trackTempDir(stateDir);
  const mk = async (): Promise<Netns> => {
    const ns = await createNetns();
    made.push(ns);
    return ns;
  };
  const close = async (): Promise<void> => {
    await Promise.all(procs.map((p) => stopChild(p).catch(() => undefined)));
    for (const ns of made) await ns.del();
    fs.rmSync(stateDir, { recursive: true, force: true });
    forgetTempDir(stateDir);
  };
  try {
    const nodes: [Netns, Netns] = [await mk(), await mk()];
    await createVethPair(nodes[0], 'under', `${SPECS[0].publicIp}/24`, nodes[1], 'under', `${SPECS[1].publicIp}/24`);
    const pods: Netns[] = [];
    for (let i = 0; i < 2; i++) {
      const s = SPECS[i];
      const pod = await mk();
      const gw = s.podIp.replace(/\.2$/, '.1');
      await createVethPair(pod, 'eth0', `${s.podIp}/24`, nodes[i], 'pod0', `${gw}/24`);
      await pod.ip('route', 'add', 'default', 'via', gw);
      await nodes[i].exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      pods.push(pod);
    }
    for (let i = 0; i < 2; i++) {
      const [self, peer] = i === 0 ? [SPECS[0], SPECS[1]] : [SPECS[1], SPECS[0]];
      if (kind === 'kernel-vxlan') await configureKernelVxlan(nodes[i], self, peer);
      else if (kind === 'openvpn') procs.push(startOpenvpn(nodes[i], self, peer, stateDir));
      else if (kind === 'wireguard-go') procs.push(await startWireguardGo(nodes[i], self, peer, stateDir));
      else procs.push(await startFlannelette(kind, nodes[i], self, peer, stateDir, opts.nodeFlags ?? []));
    }
    const bed: Testbed = {
      path: kind,
      nodes,
      pods: pods as [Netns, Netns],
      podIps: [SPECS[0].podIp, SPECS[1].podIp],
      procs,
      async nodeStats() {
        if (!kind.startsWith('flannelette')) return undefined;
        try {
          return await Promise.all(
            SPECS.map((s) => rpcCall(path.join(stateDir, `${s.name}.sock`), 'stats', {}, { timeoutMs: 3000 })),
          );
        } catch {
          return undefined;
        }
      },
      kernelCounters: () => Promise.all(nodes.map(readKernelCounters)),
      close,
    };
    await waitForPing(bed, procs, stateDir);
    return bed;
  } catch (err) {
    await close();
    throw err;
  }
}

/** flanneld's configuration of the kernel VXLAN device (as in test/helpers/cluster.ts), kernel↔kernel. */
async function configureKernelVxlan(ns: Netns, self: NodeSpec, peer: NodeSpec): Promise<void> {
  const dev = 'flannel.1';
  const self0 = self.subnet.replace(/\/\d+$/, '');
  const peer0 = peer.subnet.replace(/\/\d+$/, '');
  await ns.ip(
    'link',
    'add',
    dev,
    'type',
    'vxlan',
    'id',
    '1',
    'local',
    self.publicIp,
    'dev',
    'under',
    'dstport',
    '8472',
    'nolearning',
  );
  await ns.ip('link', 'set', dev, 'address', self.mac);
  await ns.ip('addr', 'add', `${self0}/32`, 'dev', dev);
  await ns.ip('link', 'set', dev, 'mtu', '1450', 'up');
  await ns.ip('neigh', 'replace', peer0, 'lladdr', peer.mac, 'dev', dev, 'nud', 'permanent');
  await ns.exec('bridge', ['fdb', 'append', peer.mac, 'dev', dev, 'dst', peer.publicIp]);
  await ns.ip('route', 'replace', peer.subnet, 'via', peer0, 'dev', dev, 'onlink');
}

async function startFlannelette(
  kind: PathName,
  ns: Netns,
  self: NodeSpec,
  peer: NodeSpec,
  stateDir: string,
  nodeFlags: string[],
): Promise<ChildProcess> {
  const backends: Partial<Record<PathName, string>> = {
    'flannelette-udp': 'udp',
    'flannelette-wireguard': 'wireguard',
    'flannelette-host-gw': 'host-gw',
  };
  const backend = backends[kind] ?? 'vxlan';
  const extra = [...(ROW_FLAGS[kind] ?? [])];
  let peerKey = '';
  if (backend === 'wireguard') {
    extra.push('--wg-private-key', writeKeyFile(stateDir, self));
    peerKey = `,key=${peer.keys.publicKey.toString('base64')}`;
  }
  const log = path.join(stateDir, `${self.name}.log`);
  const sock = path.join(stateDir, `${self.name}.sock`);
  const out = fs.openSync(log, 'a');
  const proc = ns.spawn(
    process.execPath,
    [
      ...nodeFlags,
      CLI,
      'node',
      '--name',
      self.name,
      '--public-ip',
      self.publicIp,
      '--subnet',
      self.subnet,
      '--network',
      '10.244.0.0/16',
      '--backend',
      backend,
      '--vtep-mac',
      self.mac,
      '--state-dir',
      stateDir,
      '--log-format',
      'json',
      '--log-level',
      'warn',
      '--peer',
      `name=${peer.name},ip=${peer.publicIp},subnet=${peer.subnet},mac=${peer.mac}${peerKey}`,
      ...extra,
    ],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${kind} ${self.name} exited (${proc.exitCode}): ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    try {
      await rpcCall(sock, 'ping', {}, { timeoutMs: 1000 });
      return proc;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`${kind} ${self.name} did not come up: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
      await sleep(100);
    }
  }
}

function writeKeyFile(stateDir: string, self: NodeSpec): string {
  const file = path.join(stateDir, `${self.name}.wg-key`);
  fs.writeFileSync(file, `${self.keys.privateKey.toString('base64')}\n`, { mode: 0o600 });
  return file;
}

/** wireguard-go as flanneld's wireguard backend sets up its device: one peer per node, MTU 1420. */
async function startWireguardGo(ns: Netns, self: NodeSpec, peer: NodeSpec, stateDir: string): Promise<ChildProcess> {
  const dev = `fltb${randomBytes(3).toString('hex')}`;
  const out = fs.openSync(path.join(stateDir, `${self.name}.log`), 'a');
  const proc = ns.spawn('env', ['WG_PROCESS_FOREGROUND=1', 'wireguard-go', dev], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const deadline = Date.now() + 10_000;
  while (
    !(await ns.exec('wg', ['show', dev]).then(
      () => true,
      () => false,
    ))
  ) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`wireguard-go ${self.name} did not come up`);
    await sleep(50);
  }
  const key = writeKeyFile(stateDir, self);
  await ns.exec('wg', [
    'set',
    dev,
    'private-key',
    key,
    'listen-port',
    '51820',
    'peer',
    peer.keys.publicKey.toString('base64'),
    'endpoint',
    `${peer.publicIp}:51820`,
    'allowed-ips',
    peer.subnet,
  ]);
  await ns.ip('addr', 'add', `${self.subnet.replace(/\/\d+$/, '')}/32`, 'dev', dev);
  await ns.ip('link', 'set', dev, 'mtu', '1420', 'up');
  await ns.ip('route', 'add', peer.subnet, 'dev', dev);
  return proc;
}

/** OpenVPN p2p over UDP without crypto; the tun MTU matches the VXLAN rows' 1450. */
function startOpenvpn(ns: Netns, self: NodeSpec, peer: NodeSpec, stateDir: string): ChildProcess {
  const [selfTun, peerTun] = self.name === 'node1' ? ['10.8.0.1', '10.8.0.2'] : ['10.8.0.2', '10.8.0.1'];
  const out = fs.openSync(path.join(stateDir, `${self.name}.log`), 'a');
  const proc = ns.spawn(
    'openvpn',
    [
      '--dev',
      'tun0',
      '--dev-type',
      'tun',
      '--proto',
      'udp',
      '--local',
      self.publicIp,
      '--remote',
      peer.publicIp,
      '--port',
      '1194',
      '--ifconfig',
      selfTun,
      peerTun,
      '--cipher',
      'none',
      '--auth',
      'none',
      '--data-ciphers',
      'none',
      '--tun-mtu',
      '1450',
      '--mssfix',
      '0',
      '--route',
      peer.subnet.replace(/\/\d+$/, ''),
      '255.255.255.0',
      '--verb',
      '1',
    ],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  return proc;
}

async function waitForPing(bed: Testbed, procs: ChildProcess[], stateDir: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await bed.pods[0].exec('ping', ['-c', '1', '-W', '1', bed.podIps[1]], { timeoutMs: 5000 });
      return;
    } catch {
      const dead = procs.find((p) => p.exitCode !== null);
      if (dead || Date.now() > deadline) {
        const logs = fs
          .readdirSync(stateDir)
          .filter((f) => f.endsWith('.log'))
          .map((f) => fs.readFileSync(path.join(stateDir, f), 'utf8').slice(-1000));
        throw new Error(
          `${bed.path}: pod-to-pod ping never got through${dead ? ` (a node process exited ${dead.exitCode})` : ''}\n${logs.join('\n')}`,
        );
      }
      await sleep(200);
    }
  }
}

export interface KernelCounters {
  links: Record<string, { txPackets: number; txDropped: number; rxPackets: number; rxDropped: number }>;
  udp: Record<string, number>;
}

async function readKernelCounters(ns: Netns): Promise<KernelCounters> {
  const out: KernelCounters = { links: {}, udp: {} };
  try {
    const links = JSON.parse((await ns.ip('-s', '-j', 'link', 'show')).stdout) as {
      ifname: string;
      stats64?: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
    }[];
    for (const l of links) {
      if (l.ifname === 'lo' || !l.stats64) continue;
      out.links[l.ifname] = {
        txPackets: l.stats64.tx.packets,
        txDropped: l.stats64.tx.dropped,
        rxPackets: l.stats64.rx.packets,
        rxDropped: l.stats64.rx.dropped,
      };
    }
    const snmp = (await ns.exec('cat', ['/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    if (snmp.length >= 2) {
      const keys = snmp[0].split(/\s+/).slice(1);
      const vals = snmp[1].split(/\s+/).slice(1).map(Number);
      keys.forEach((k, i) => (out.udp[k] = vals[i]!));
    }
  } catch {
    // counters are diagnostics only
  }
  return out;
}
