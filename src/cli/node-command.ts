// `flannelette node`: runs one emulated node in the foreground until SIGINT/SIGTERM. Options come
// from flags or from a YAML file given with --config (same names in camelCase; flags win).
// Membership comes from --cluster FILE (static), --etcd-endpoints (flannel's etcd layout), or the
// flags --public-ip/--subnet/--network/--peer. SIGHUP re-reads the cluster file.
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { Cidr, parseIpv4 } from '../addr/ipv4.js';
import { parseMac } from '../addr/mac.js';
import {
  ANY_BACKEND_NAMES,
  isRoutedBackendName,
  isWgKeyText,
  perBackendText,
  type AnyBackendName,
} from '../backend/table.js';
import { defaultBackend } from '../control/membership.js';
import { loadNetConf, type NetConf } from '../control/net-conf.js';
import { wgKeySource } from '../node/wg-key.js';
import { WG_TIMINGS, type WgTimings } from '../wireguard/constants.js';
import { startNode } from '../node/agent.js';
import { startMembership } from '../node/membership-start.js';
import { startRoutedNode } from '../node/routed-agent.js';
import { startHealthz } from '../node/healthz.js';
import { buildMembership, type MembershipSource } from '../node/build-membership.js';
import { parseNodeCaptureOptions } from '../node/capture.js';
import { realClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { randomRng, seededRng } from '../util/rng.js';
import { fail } from './exit.js';
import { CAP_NET_ADMIN, requireCapabilities } from './privileges.js';
import { addImpairFlags, startupImpairment } from './impair-flags.js';
import { parsePeerFlag } from './peer-flag.js';
import { flanneldEnv } from './node-env.js';
import { parseIpv6Flag } from './ipv6-flags.js';
import { runInNetnsIfAsked } from './node-netns.js';
import { registerDataPathFlags, underlaySwitches, type DataPathFlags } from './node-datapath-flags.js';
import { nodeLifecycle } from './node-lifecycle.js';
import { addFlannelNodeFlags, externalAddresses as extAddrs, renewMarginMinutes } from './node-flannel-flags.js';
import type { FlannelNodeFlags } from './node-flannel-flags.js';

export const DEFAULT_STATE_DIR = '/run/flannelette';

export interface NodeFlags extends DataPathFlags, FlannelNodeFlags {
  config?: string;
  name?: string;
  cluster?: string;
  etcdEndpoints?: string;
  etcdPrefix: string;
  leaseTtl?: string;
  publicIp?: string;
  subnet?: string;
  network?: string;
  netConfigPath?: string;
  backend: string;
  port?: string;
  vni?: string;
  vtepMac?: string;
  peer: string[];
  tun?: string;
  mtu?: string;
  underlayMtu?: string;
  subnetFile?: string;
  stateDir: string;
  underlay: string;
  antiSpoof: boolean;
  decrementTtl?: boolean;
  ipMasq?: boolean;
  ipMasqFullyRandomDisable?: boolean;
  tunOffload?: boolean;
  udpGso?: boolean;
  sourcePorts?: string;
  capture?: string;
  pcapDir?: string;
  captureSnaplen?: string;
  captureMaxMb?: string;
  captureFilter?: string;
  seed?: string;
  metricsAddr?: string;
  healthzIp: string;
  healthzPort: string;
  logLevel: string;
  logFormat?: string;
  wgPrivateKey?: string;
  psk?: string;
  persistentKeepalive?: string;
  wgRekeyAfter?: string;
  // dual stack (flannel's --public-ipv6)
  publicIpv6?: string;
  [impair: string]: unknown;
}

export function registerNodeCommand(program: Command): void {
  const cmd = program
    .command('node')
    .description('run one emulated node: a TUN device, the overlay data path and a control socket')
    .option('--config <file>', 'YAML file with any of these options (camelCase keys)')
    .option('--netns <name|path>', 'run in this network namespace: a name or a path such as /proc/PID/ns/net')
    .option('--name <name>', 'node name (required)')
    .option('--cluster <file>', 'static cluster file (YAML) listing every node; this node finds itself by name')
    .option('--etcd-endpoints <urls>', 'use etcd membership (comma-separated URLs), flannel key layout')
    .option('--etcd-prefix <prefix>', 'etcd key prefix', '/coreos.com/network')
    .option('--lease-ttl <seconds>', 'etcd subnet lease TTL in seconds (default 86400)')
    .option('--public-ip <ip>', 'underlay address of this node (and, with --peer, of the UDP socket)')
    .option('--public-ipv6 <ip>', "this node's IPv6 address, written as the etcd lease's PublicIPv6 (dual stack)")
    .option('--subnet <cidr>', "this node's pod subnet, e.g. 10.244.1.0/24 (with --peer)")
    .option('--network <cidr>', 'the whole pod network, e.g. 10.244.0.0/16 (with --peer)')
    .option(
      '--net-config-path <file>',
      "flannel's net-conf.json: Network, SubnetLen, SubnetMin/Max, Backend (with --peer, instead of --network/--backend)",
    )
    .addOption(new Option('--backend <type>', 'backend (with --peer)').choices(ANY_BACKEND_NAMES).default('vxlan'))
    .option('--port <port>', `UDP port (default ${perBackendText((b) => b.defaultPort)})`)
    .option('--vni <vni>', 'VXLAN network identifier (default 1)')
    .option('--vtep-mac <mac>', "this node's VTEP MAC (vxlan; default random)")
    .option(
      '--peer <spec>',
      'a peer: name=node2,ip=192.168.1.3,subnet=10.244.2.0/24[,mac=..][,key=<wireguard public key>] (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--wg-private-key <file>',
      "wireguard: this node's private key file, created (0600) if missing (default <state-dir>/<name>.wg-key)",
    )
    .option('--psk <base64>', 'wireguard (with --peer): pre-shared key mixed into every handshake (wg genpsk)')
    .option(
      '--persistent-keepalive <seconds>',
      'wireguard (with --peer): keepalive to each peer every N seconds (default off)',
    )
    .option(
      '--wg-rekey-after <seconds>',
      'wireguard, for tests: REKEY_AFTER_TIME N s instead of 120, and REKEY_TIMEOUT min(N, 5) s',
    )
    .option('--tun <name>', `TUN device name (default ${perBackendText((b) => b.tunName)})`)
    .option('--mtu <bytes>', `TUN MTU (default: underlay MTU minus ${perBackendText((b) => b.overhead)})`)
    .option('--underlay-mtu <bytes>', 'underlay MTU (default: MTU of the interface holding the public IP)')
    .option('--subnet-file <path>', "write flannel's subnet.env here")
    .option('--state-dir <dir>', 'directory for the control socket', DEFAULT_STATE_DIR)
    .addOption(new Option('--underlay <impl>', 'UDP implementation').choices(['native', 'dgram']).default('native'))
    .option('--no-anti-spoof', "accept inner sources outside the sending peer's subnet")
    .option('--ip-masq', "masquerade pods' traffic to destinations outside the network (flannel's nftables rules)")
    .option('--ip-masq-fully-random-disable', 'with --ip-masq: masquerade without fully-random port mapping')
    .option(
      '--decrement-ttl',
      "decrement the inner TTL in the data path too: one router hop more than flannel's (default: as flannel, the kernel's hops only)",
    )
    .option(
      '--no-tun-offload',
      'plain TUN device, one packet per read and write (default: offloads — TCP super-packets split on read, segments merged on write)',
    )
    .option(
      '--no-udp-gso',
      'one datagram per message on the underlay (default: UDP GSO trains where the kernel has it)',
    )
    .option(
      '--source-ports <n>',
      'vxlan: UDP sockets in the per-flow source-port pool, ports from the kernel range 32768-60999 (default 32)',
    )
    .option('--capture <points>', 'capture points: inner, outer or inner,outer')
    .option('--pcap-dir <dir>', 'directory for capture files (default pcaps/)')
    .option('--capture-snaplen <bytes>', 'bytes kept of each captured packet')
    .option('--capture-max-mb <mb>', 'rotate capture files at this size')
    .option('--capture-filter <expr>', 'capture filter: host A, net CIDR, proto icmp|tcp|udp, port N, joined by and')
    .option('--seed <n>', 'seed for impairment randomness (default random)')
    .option('--healthz-ip <ip>', 'the address the healthz server listens on', '0.0.0.0')
    .option('--healthz-port <port>', 'serve /healthz and /readyz on this port (0: off)', '0')
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9100)')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'json or pretty (default: pretty on a terminal)').choices(['json', 'pretty']),
    );
  addImpairFlags(cmd);
  registerDataPathFlags(cmd);
  addFlannelNodeFlags(cmd);
  cmd.action(async (flags: NodeFlags, command: Command) => {
    try {
      const merged = await mergeConfigFile(flanneldEnv(flags, command), command);
      if (!(await runInNetnsIfAsked(merged['netns']))) await runNode(merged);
    } catch (err) {
      fail(err);
    }
  });
}

/** Fills options not given on the command line from the --config YAML file. */
async function mergeConfigFile(flags: NodeFlags, command: Command): Promise<NodeFlags> {
  if (!flags.config) return flags;
  let doc: unknown;
  try {
    // loaded only with --config: the YAML parser costs every node ~8 MB RSS
    const YAML = (await import('yaml')).default;
    doc = YAML.parse(fs.readFileSync(flags.config, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--config ${flags.config}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`--config ${flags.config}: expected a YAML mapping of options`);
  const known = new Set(command.options.map((o) => o.attributeName()));
  const merged: NodeFlags = { ...flags };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!known.has(key)) throw new ConfigError(`--config ${flags.config}: unknown option "${key}"`);
    if (command.getOptionValueSource(key) === 'cli') continue;
    if (key === 'peer') merged.peer = (Array.isArray(value) ? value : [value]).map(String);
    else if (typeof value === 'boolean') (merged as Record<string, unknown>)[key] = value;
    else (merged as Record<string, unknown>)[key] = String(value);
  }
  return merged;
}

function intFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`--${name} ${value}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** Where the node's peers come from, from the flags (one of --cluster, --etcd-endpoints, --peer…). */
function membershipSource(flags: NodeFlags): MembershipSource {
  if (flags.cluster) {
    if (flags.peer.length > 0 || flags.subnet)
      throw new ConfigError('--cluster takes the peers and subnets from the file: drop --peer/--subnet');
    return { kind: 'cluster', file: flags.cluster };
  }
  if (flags.etcdEndpoints) {
    if (flags.peer.length > 0 || flags.subnet)
      throw new ConfigError('--etcd-endpoints leases the subnet and learns the peers from etcd: drop --peer/--subnet');
    if (!flags.publicIp)
      throw new ConfigError('--etcd-endpoints needs --public-ip (the address written into the lease)');
    return {
      kind: 'etcd',
      endpoints: parseEndpoints(flags.etcdEndpoints),
      prefix: flags.etcdPrefix,
      publicIp: parseIpv4(flags.publicIp),
      leaseTtlSeconds: intFlag('lease-ttl', flags.leaseTtl, 5, 10 * 365 * 86400),
      renewMarginMinutes: renewMarginMinutes(flags),
      subnetEnvPath: flags.subnetFile,
      ...(flags.publicIpv6 !== undefined ? { publicIpv6: parseIpv6Flag('public-ipv6', flags.publicIpv6) } : {}),
    };
  }
  const netConf = flags.netConfigPath ? loadNetConf(flags.netConfigPath) : undefined;
  if (!flags.publicIp || !flags.subnet || (!flags.network && !netConf)) {
    throw new ConfigError(
      'give --cluster FILE, --etcd-endpoints URLS, or --public-ip, --subnet and --network or --net-config-path ' +
        '(with --peer for each other node)',
    );
  }
  if (netConf) return netConfSource(flags, netConf);
  const type = flags.backend as AnyBackendName;
  const backend = defaultBackend(type);
  backend.port = intFlag('port', flags.port, 1, 65535) ?? backend.port;
  if (type === 'vxlan') backend.vni = intFlag('vni', flags.vni, 0, 0xffffff) ?? backend.vni;
  if ((flags.psk !== undefined || flags.persistentKeepalive !== undefined) && type !== 'wireguard') {
    throw new ConfigError('--psk and --persistent-keepalive apply to --backend wireguard only');
  }
  if (flags.psk !== undefined) {
    if (!isWgKeyText(flags.psk)) throw new ConfigError('--psk: expected a base64 32-byte key (wg genpsk)');
    backend.psk = Buffer.from(flags.psk, 'base64');
  }
  backend.persistentKeepaliveS = intFlag('persistent-keepalive', flags.persistentKeepalive, 0, 65535);
  return {
    kind: 'peers',
    network: Cidr.parse(flags.network!, { strict: true }),
    subnet: Cidr.parse(flags.subnet, { strict: true }),
    publicIp: parseIpv4(flags.publicIp),
    backend,
    vtepMac: type === 'vxlan' && flags.vtepMac ? parseMac(flags.vtepMac) : undefined,
    peers: flags.peer.map(parsePeerFlag),
  };
}

/** --public-ip/--subnet/--peer with the network and backend of flannel's net-conf.json. */
function netConfSource(flags: NodeFlags, netConf: NetConf): MembershipSource {
  const { network, backend } = netConf.config;
  if (flags.network && !Cidr.parse(flags.network).equals(network))
    throw new ConfigError(`--network ${flags.network} differs from ${flags.netConfigPath}'s Network ${network}`);
  for (const note of netConf.notes) process.stderr.write(`${flags.netConfigPath}: ${note}\n`);
  return {
    kind: 'peers',
    network,
    subnet: Cidr.parse(flags.subnet!, { strict: true }),
    publicIp: parseIpv4(flags.publicIp!),
    backend,
    vtepMac: backend.type === 'vxlan' && flags.vtepMac ? parseMac(flags.vtepMac) : undefined,
    peers: flags.peer.map(parsePeerFlag),
  };
}

/** "http://127.0.0.1:2379,http://…" → the list; each must be an http(s) URL. */
export function parseEndpoints(text: string): string[] {
  const list = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of list) {
    if (!/^https?:\/\/[^/\s]+(:\d+)?\/?$/.test(e))
      throw new ConfigError(`--etcd-endpoints: "${e}" is not an http(s)://host:port URL`);
  }
  if (list.length === 0) throw new ConfigError('--etcd-endpoints: no endpoint given');
  return list;
}

/** --wg-rekey-after: a session is renewed after `seconds`, and initiations may follow that often. */
function shortRekey(seconds: number): WgTimings {
  return { ...WG_TIMINGS, rekeyAfterTimeMs: seconds * 1000, rekeyTimeoutMs: Math.min(seconds, 5) * 1000 };
}

export async function runNode(flags: NodeFlags): Promise<void> {
  if (!flags.name) throw new ConfigError('--name is required');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(flags.name))
    throw new ConfigError(`--name ${flags.name}: use letters, digits, '.', '_' and '-'`);
  const pretty = flags.logFormat ? flags.logFormat === 'pretty' : process.stderr.isTTY;
  const log = createLogger({ level: flags.logLevel as never, pretty, name: flags.name });
  fs.mkdirSync(flags.stateDir, { recursive: true, mode: 0o700 });
  const wgKeys = wgKeySource(flags.wgPrivateKey ?? path.join(flags.stateDir, `${flags.name}.wg-key`));
  const rekeyAfter = intFlag('wg-rekey-after', flags.wgRekeyAfter, 1, 120);
  const lifecycle = nodeLifecycle(log);
  const ext = flags.cluster ? undefined : await extAddrs(flags, log); // flanneld's --iface…
  const publicIp = ext ? ext.publicIp : flags.publicIp;
  const membership = await buildMembership(membershipSource({ ...flags, publicIp }), {
    nodeName: flags.name,
    stateDir: flags.stateDir,
    logger: log,
    rng: randomRng(),
    wireguardPublicKey: () => wgKeys.publicKey(),
    onLeaseLost: (reason) => lifecycle.onLeaseLost(reason),
  });
  const capture = parseNodeCaptureOptions(flags);
  const seed = intFlag('seed', flags.seed, 0, 0xffffffff);
  const impairment = startupImpairment(flags);
  // prom-client is loaded only with --metrics-addr
  const metricsAddr =
    flags.metricsAddr === undefined
      ? undefined
      : (await import('../node/metrics.js')).parseMetricsAddr(flags.metricsAddr);
  requireCapabilities('flannelette node', [CAP_NET_ADMIN], 'CAP_NET_ADMIN');

  const ipMasq = flags.ipMasq ? { fullyRandomDisable: flags.ipMasqFullyRandomDisable ?? false } : undefined;
  const healthzPort = intFlag('healthz-port', flags.healthzPort, 0, 65535) ?? 0;
  const healthz = healthzPort > 0 ? await startHealthz({ ip: flags.healthzIp, port: healthzPort }) : undefined;
  if (healthz) log.info({ address: `${flags.healthzIp}:${healthzPort}` }, 'Start healthz server');
  // SIGINT/SIGTERM while waiting for the lease (etcd unreachable): stop waiting and exit 0
  let stopRequested = false;
  const earlyStop = (): void => {
    stopRequested = true;
    void membership.stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', earlyStop).once('SIGTERM', earlyStop);
  const started = await startMembership(membership).catch((err: unknown) => {
    if (stopRequested) return new Promise<never>(() => {}); // exiting
    throw err;
  });
  process.off('SIGINT', earlyStop).off('SIGTERM', earlyStop);
  if (isRoutedBackendName(started.lease.backend.type)) {
    const routed = await startRoutedNode(
      { name: flags.name, stateDir: flags.stateDir, subnetFile: flags.subnetFile, ipMasq, logger: log },
      started,
    );
    healthz?.setReady();
    lifecycle.running(() => routed.stop(), routed.membership);
    return;
  }
  const node = await startNode(
    {
      name: flags.name,
      membership,
      tunName: flags.tun,
      mtu: intFlag('mtu', flags.mtu, 576, 65535),
      underlayMtu: intFlag('underlay-mtu', flags.underlayMtu, 576, 65535),
      stateDir: flags.stateDir,
      subnetFile: flags.subnetFile,
      underlayKind: flags.underlay as 'native' | 'dgram',
      natBindAddr: ext?.natBindAddr,
      antiSpoof: flags.antiSpoof,
      decrementTtl: flags.decrementTtl ?? false,
      ipMasq,
      tunOffload: flags.tunOffload ?? true,
      tunUso: flags.tunUso ?? true,
      underlayTuning: { ...underlaySwitches(flags), sourcePorts: intFlag('source-ports', flags.sourcePorts, 1, 256) },
      metricsAddr,
      capture,
      logger: log,
      clock: realClock,
      rng: seed === undefined ? randomRng() : seededRng(seed),
      wireguard: { keys: wgKeys, timings: rekeyAfter === undefined ? undefined : shortRekey(rekeyAfter) },
    },
    started,
  );
  if (impairment) node.impairments.setDefault(impairment);
  healthz?.setReady();
  lifecycle.running(() => node.stop(), node.membership);
}
