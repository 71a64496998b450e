// A whole emulated cluster on one host. `labUp` builds it from a resolved topology:
//   underlay namespace with bridge br0 (the switch) ← veth → one namespace per node (eth0 with the
//   node's publicIp, ip_forward on, rp_filter off, bridge cni0 with the subnet's first address)
//   ← veth → one namespace per pod (eth0 with the next address of the node subnet, default route
//   via cni0); then a node agent per node (the TUN device and routes to the other nodes' subnets);
//   then each pod's containers as processes in the pod's namespace.
// `labDown` removes everything of a lab, found by the namespace prefix `flt-<lab>-` and the state
// directory, so it also cleans up after a crash or a killed `lab up`. If `labUp` fails or is
// aborted (Ctrl-C), it removes what it created before rethrowing.
// Throws ConfigError (bad name, lab exists / not running), PermissionError (not root), DeviceError
// (an ip command or a process failed); an abort rejects with the signal's reason.
import fs from 'node:fs';
import path from 'node:path';
import { generateKeys } from '../wireguard/crypto.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import { packageRoot } from '../sys/package-root.js';
import { ipBatch } from '../sys/run.js';
import { sleep } from '../util/clock.js';
import { rpcCall } from '../util/rpc.js';
import { agentArgs, agentCommand, programCommand, waitForAgent } from './agent.js';
import { createInternet } from './internet.js';
import { clusterFileText } from './cluster-file.js';
import { nodeBatch, podBatch } from './ip-batches.js';
import { nodeBatch6, podBatch6 } from './ip-batches6.js';
import { containerEnv, LAB_ENV, nodeEnv } from './env.js';
import { LAB_NAME_RE, labPrefix, UNDERLAY_BRIDGE, underlayNetns } from './names.js';
import { silentProgress, type Progress } from './progress.js';
import { pidAlive, spawnInNetns, stopProcessesIn } from './procs.js';
import {
  containerLogFile,
  controlSocket,
  labDirs,
  labPaths,
  labRoot,
  nodeLogFile,
  readState,
  readyFile,
  writeState,
  type LabPaths,
  type LabState,
} from './state.js';
import { addNetns, deleteNetns, listNetns, NO_DAD, requireLabPrivileges, sysctlIn } from './sys.js';
import { createRouter } from './router.js';
import { segmentOf } from './topology-router.js';
import type { CapturePoint, LabContainer, LabTopology } from './topology.js';
import { labHasIpv6 } from './topology-ipv6.js';

export interface LabUpOptions {
  topology: LabTopology;
  /** The topology file's text, kept as a copy in the lab directory. */
  topologyText?: string;
  /** Start node agents (default true); without them pods reach only pods on their own node. */
  agents?: boolean;
  /** Directory for pcap files of nodes that capture. Default `<cwd>/pcaps`. */
  pcapDir?: string;
  /** Capture these points on these nodes in addition to the topology's own `capture` fields. */
  extraCapture?: Record<string, CapturePoint[]>;
  logLevel?: string;
  signal?: AbortSignal;
  progress?: Progress;
  root?: string;
  /** How long to wait for each agent and each server container. Default 20 s. */
  readyTimeoutMs?: number;
}

export interface LabUpResult {
  state: LabState;
  seconds: number;
  warnings: string[];
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first error. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

export async function labExists(name: string, root = labRoot()): Promise<boolean> {
  if (fs.existsSync(labPaths(name, root).dir)) return true;
  const prefix = labPrefix(name);
  return (await listNetns()).some((ns) => ns.startsWith(prefix));
}

export async function labUp(opts: LabUpOptions): Promise<LabUpResult> {
  requireLabPrivileges();
  const t = opts.topology;
  const root = opts.root ?? labRoot();
  const progress = opts.progress ?? silentProgress;
  const started = Date.now();
  const warnings: string[] = [];
  if (await labExists(t.name, root)) {
    throw new ConfigError(`lab "${t.name}" already exists; remove it with: flannelette lab down --name ${t.name}`);
  }

  const pkgRoot = packageRoot();
  const agents = opts.agents ?? true;
  const capture = new Map<string, CapturePoint[]>();
  for (const n of t.nodes) {
    const points = new Set([...n.capture, ...(opts.extraCapture?.[n.name] ?? [])]);
    if (points.size > 0) capture.set(n.name, [...points].sort());
  }
  const pcapDir = opts.pcapDir ?? `${process.cwd()}/pcaps`;
  const programs = t.pods.some((p) => p.containers.some((c) => c.kind === 'program')) ? programCommand(pkgRoot) : [];

  const paths = labPaths(t.name, root);
  fs.mkdirSync(paths.logDir, { recursive: true });
  fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  const state: LabState = {
    version: 1,
    topology: t,
    createdAt: started,
    phase: 'starting',
    agents,
    pcapDir: capture.size > 0 && agents ? pcapDir : undefined,
    nodePids: {},
    containerPids: {},
  };

  progress.total(5 + (agents ? 1 : 0));
  try {
    fs.writeFileSync(paths.topology, opts.topologyText ?? JSON.stringify(t, null, 2));
    fs.writeFileSync(
      paths.cluster,
      clusterFileText(t, t.backend.type === 'wireguard' ? writeNodeKeys(t, paths.runDir) : undefined),
    );
    writeState(state, root);
    const check = (): void => opts.signal?.throwIfAborted();

    progress.step(`creating ${1 + t.nodes.length + t.pods.length} network namespaces`);
    const namespaces = [...t.nodes.map((n) => n.netns), ...t.pods.map((p) => p.netns)];
    const v6 = labHasIpv6(t);
    const nodeNamespaces = new Set(t.nodes.map((n) => n.netns)); // their sysctls are set below, NO_DAD with them
    await addNetns(t.underlayNetns, v6);
    let made = 1;
    progress.items?.(made, namespaces.length + 1);
    await mapLimit(namespaces, 4, async (ns) => {
      await addNetns(ns, v6 && !nodeNamespaces.has(ns));
      progress.items?.(++made, namespaces.length + 1);
    });
    check();

    progress.step(`wiring ${t.nodes.length} nodes to the underlay switch ${t.underlay}`);
    await ipBatch(t.underlayNetns, [
      'link set lo up',
      `link add ${UNDERLAY_BRIDGE} type bridge`,
      `link set ${UNDERLAY_BRIDGE} up`,
    ]);
    await mapLimit(t.nodes, 4, (n) =>
      sysctlIn(n.netns, {
        'net.ipv4.ip_forward': 1,
        'net.ipv4.conf.all.rp_filter': 0,
        'net.ipv4.conf.default.rp_filter': 0,
        ...(t.ipv6Network ? { 'net.ipv6.conf.all.forwarding': 1 } : {}),
        ...(v6 ? NO_DAD : {}),
      }),
    );
    check();

    progress.step(`creating cni0 bridges and attaching ${t.pods.length} pods`);
    await mapLimit(t.nodes, 4, (n) => ipBatch(n.netns, [...nodeBatch(t, n), ...nodeBatch6(t, n)]));
    await ipBatch(
      t.underlayNetns,
      t.nodes.flatMap((n) => [
        `link set ${n.underlayPort} master ${segmentOf(t, n.publicIp).bridge}`,
        `link set ${n.underlayPort} up`,
      ]),
    );
    await createRouter(t);
    await createInternet(t, programCommand(pkgRoot), paths.logDir);
    let attached = 0;
    await mapLimit(t.pods, 4, async (p) => {
      await ipBatch(p.netns, [...podBatch(t, p), ...podBatch6(t, p)]);
      progress.items?.(++attached, t.pods.length);
    });
    check();

    if (agents) {
      progress.step(`starting ${t.nodes.length} node agents (${t.backend.type})`);
      if (capture.size > 0) fs.mkdirSync(pcapDir, { recursive: true });
      const agentCmd = agentCommand(pkgRoot);
      for (const n of t.nodes) {
        const args = agentArgs({
          clusterFile: paths.cluster,
          node: n.name,
          stateDir: paths.runDir,
          capture: capture.get(n.name) ?? [],
          pcapDir,
          logLevel: opts.logLevel,
          ipMasq: t.ipMasq,
        });
        state.nodePids[n.name] = spawnInNetns(
          n.netns,
          [...agentCmd, ...args],
          nodeLogFile(paths, n.name),
          nodeEnv(t.name, n),
        );
      }
      writeState(state, root);
      let ready = 0;
      progress.items?.(0, t.nodes.length);
      await Promise.all(
        t.nodes.map(async (n) => {
          await waitForAgent(
            n.name,
            controlSocket(paths, n.name),
            nodeLogFile(paths, n.name),
            () => pidAlive(state.nodePids[n.name]),
            // 100 agents starting at once on 2 cores take a while: 20 s plus 1 s per node
            opts.readyTimeoutMs ?? 20_000 + 1000 * t.nodes.length,
          );
          progress.items?.(++ready, t.nodes.length);
        }),
      );
      for (const link of t.links) {
        for (const [from, to] of [link.between, [link.between[1], link.between[0]]]) {
          await rpcCall(controlSocket(paths, from), 'impair', { to, fields: link.impairment });
        }
      }
      check();
    }

    progress.step(`starting ${t.pods.reduce((s, p) => s + p.containers.length, 0)} containers`);
    for (const p of t.pods) {
      for (const c of p.containers) {
        const argv = c.kind === 'program' ? [...programs, ...c.argv] : c.argv;
        state.containerPids[`${p.name}/${c.name}`] = spawnInNetns(
          p.netns,
          argv,
          containerLogFile(paths, p.name, c.name),
          containerEnv(t.name, p, c.name, c.kind === 'program' ? readyFile(paths, p.name, c.name) : undefined),
        );
      }
    }
    writeState(state, root);

    progress.step('waiting for the containers to be ready');
    await waitForContainers(t, state, paths, opts.readyTimeoutMs ?? 20_000, opts.signal);
    state.phase = 'running';
    writeState(state, root);
    progress.end();
    return { state, seconds: (Date.now() - started) / 1000, warnings };
  } catch (err) {
    progress.end();
    progress.info(`lab up failed; removing lab ${t.name}`);
    await labDown(t.name, { root }).catch((downErr: unknown) =>
      progress.info(`cleanup: ${(downErr as Error).message}`),
    );
    throw err;
  }
}

/** Programs that report readiness (servers and sleep); fetch and host commands are not waited for. */
function waitsForReady(c: LabContainer): boolean {
  return c.kind === 'program' && c.argv[0] !== 'fetch';
}

async function waitForContainers(
  t: LabTopology,
  state: LabState,
  paths: LabPaths,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const pending = t.pods.flatMap((p) => p.containers.filter(waitsForReady).map((c) => ({ p, c })));
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    signal?.throwIfAborted();
    for (let i = pending.length - 1; i >= 0; i--) {
      const { p, c } = pending[i];
      if (fs.existsSync(readyFile(paths, p.name, c.name))) {
        pending.splice(i, 1);
        continue;
      }
      // (alive, not "in the namespace": right after the spawn, ip(8) may not have switched yet)
      if (!pidAlive(state.containerPids[`${p.name}/${c.name}`])) {
        throw new DeviceError(
          `container ${c.name} of pod ${p.name} exited during start-up; see ${containerLogFile(paths, p.name, c.name)}`,
        );
      }
    }
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      const { p, c } = pending[0];
      throw new DeviceError(
        `container ${c.name} of pod ${p.name} was not ready within ${timeoutMs / 1000}s; see ${containerLogFile(paths, p.name, c.name)}`,
      );
    }
    await sleep(50);
  }
}

export interface LabDownResult {
  namespaces: number;
  processes: number;
  existed: boolean;
}

/** Removes every process, namespace and file of lab `name`. Safe to repeat; safe after a crash. */
export async function labDown(name: string, opts: { root?: string; progress?: Progress } = {}): Promise<LabDownResult> {
  requireLabPrivileges();
  if (!LAB_NAME_RE.test(name)) throw new ConfigError(`"${name}" is not a valid lab name`);
  const root = opts.root ?? labRoot();
  const progress = opts.progress ?? silentProgress;
  const paths = labPaths(name, root);
  const prefix = labPrefix(name);
  const namespaces = (await listNetns()).filter((ns) => ns.startsWith(prefix));
  const state = readState(name, root);
  const existed = namespaces.length > 0 || fs.existsSync(paths.dir);

  progress.step(`stopping the processes of lab ${name}`);
  const strays = state
    ? [...Object.values(state.nodePids), ...Object.values(state.containerPids)].filter((pid) => belongsToLab(pid, name))
    : [];
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const { stopped } = await stopProcessesIn(namespaces);

  progress.step(`removing ${namespaces.length} network namespaces`);
  // Pods first, the underlay last: deleting a namespace deletes its veth ends and so their peers.
  const underlay = underlayNetns(name);
  const ordered = [...namespaces.filter((ns) => ns !== underlay), ...namespaces.filter((ns) => ns === underlay)];
  const failures: string[] = [];
  await mapLimit(ordered, 4, async (ns) => {
    await deleteNetns(ns).catch((err: Error) => failures.push(err.message));
  });
  fs.rmSync(paths.dir, { recursive: true, force: true });
  progress.end();
  if (failures.length > 0)
    throw new DeviceError(`lab ${name}: could not remove ${failures.length} namespaces: ${failures[0]}`);
  return { namespaces: namespaces.length, processes: Math.max(stopped, strays.length), existed };
}

/** True when `pid` is alive and was started by lab `name` (its environment carries FLT_LAB=name). */
function belongsToLab(pid: number, name: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${LAB_ENV}=${name}`);
  } catch {
    return false;
  }
}

/** Labs with a state directory or an underlay namespace on this host. */
export async function listLabs(root = labRoot()): Promise<string[]> {
  const names = new Set(labDirs(root).filter((d) => LAB_NAME_RE.test(d)));
  for (const ns of await listNetns()) {
    const m = /^flt-([a-z][a-z0-9]{0,15})-underlay$/.exec(ns);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

/** The lab a command means: the given name, or the only lab running. */
export async function resolveLabName(given: string | undefined, root = labRoot()): Promise<string> {
  if (given !== undefined) {
    if (!LAB_NAME_RE.test(given))
      throw new ConfigError(
        `"${given}" is not a valid lab name (a lowercase letter, then up to 15 lowercase letters or digits)`,
      );
    return given;
  }
  const labs = await listLabs(root);
  if (labs.length === 0) throw new ConfigError('no lab is running (start one with: flannelette lab up)');
  if (labs.length > 1) throw new ConfigError(`several labs are running (${labs.join(', ')}): choose one with --name`);
  return labs[0];
}

/** The state of a running lab, or a ConfigError saying it is not running. */
export function requireState(name: string, root = labRoot()): LabState {
  const state = readState(name, root);
  if (!state) throw new ConfigError(`lab "${name}" is not running (no state in ${labPaths(name, root).dir})`);
  return state;
}

/**
 * wireguard labs: a key file per node where its agent looks by default (<run dir>/<node>.wg-key,
 * mode 0600); returns the public keys for the cluster file.
 */
function writeNodeKeys(t: LabTopology, runDir: string): Map<string, string> {
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const keys = new Map<string, string>();
  for (const n of t.nodes) {
    const k = generateKeys();
    fs.writeFileSync(path.join(runDir, `${n.name}.wg-key`), `${k.privateKey.toString('base64')}\n`, { mode: 0o600 });
    keys.set(n.name, k.publicKey.toString('base64'));
  }
  return keys;
}
