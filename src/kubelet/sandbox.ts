// A pod's sandbox: its network namespace with eth0 and an address from the pod network (pod-network.ts:
// CNI's bridge + host-local, or the built-in veth onto cni0 and IPAM), and its UTS namespace, held by a tiny "pause" process (`sleep infinity` after `hostname <pod>`) that
// the containers join. The sandbox is recorded in `<podDir>/sandbox.json` so a restarted kubelet adopts it.
// A pod with the annotation flannelette.io/netns (`lab attach`) gets no new namespace: the given one (a name,
// /proc/PID/ns/net or a bind mount) is bind-mounted as /run/netns/<netns>, wired like any other, and on removal
// only our eth0, address, bind mount and the processes carrying the pod's mark (process-mark.ts) go; the
// namespace and the user's processes in it stay.
// createSandbox removes what it created when a step fails and rethrows (DeviceError, CapacityError);
// removeSandbox is idempotent and never throws for parts already gone (a failing CNI DEL is rethrown).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { requireNetworkNamespace } from '../sys/netns-check.js';
import { DeviceError } from '../util/errors.js';
import type { KubeletConfig } from './config.js';
import { createDockerSandbox, POD_LABEL, removeDockerContainers } from './docker-runtime.js';
import type { PodNetwork, PodRef } from './pod-network.js';
import { isPodProcess, processMark } from './process-mark.js';
import { run } from './run.js';

export interface Sandbox {
  uid: string;
  namespace: string;
  name: string;
  netns: string;
  hostVeth: string;
  ip: string;
  /** Dual stack: the pod's IPv6 address (status.podIPs[1]). */
  ip6?: string;
  pausePid: number;
  createdAt: string;
  /** The namespace is a Docker sandbox container's (docker-runtime.ts). */
  docker?: boolean;
  /** The user's namespace file this sandbox's namespace is a bind mount of (never deleted by us). */
  attached?: string;
}

/** The pod annotation naming an existing network namespace to use instead of a new one. */
export const NETNS_ANNOTATION = 'flannelette.io/netns';

const hash = (s: string): string => createHash('sha256').update(s).digest('hex');

/** `<prefix>pod-<name≤20>-<uid hash 6>`: readable and unique even when a pod is recreated. */
export function podNetnsName(prefix: string, name: string, uid: string): string {
  return `${prefix}pod-${name.slice(0, 20).replace(/-+$/, '')}-${hash(uid).slice(0, 6)}`;
}

export function hostVethName(uid: string): string {
  return `veth${hash(uid).slice(0, 8)}`;
}

export function sandboxFile(podDir: string): string {
  return path.join(podDir, 'sandbox.json');
}

export function readSandbox(podDir: string): Sandbox | undefined {
  try {
    return JSON.parse(fs.readFileSync(sandboxFile(podDir), 'utf8')) as Sandbox;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/ Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return false;
  }
}

/** True when the pause process is alive and lives in the sandbox's network namespace. */
export function sandboxHealthy(s: Sandbox): boolean {
  try {
    return (
      processAlive(s.pausePid) &&
      fs.statSync(`/proc/${s.pausePid}/ns/net`).ino === fs.statSync(`/run/netns/${s.netns}`).ino
    );
  } catch {
    return false;
  }
}

function startPause(netns: string, hostname: string, mark: Record<string, string>): Promise<number> {
  const child = spawn(
    'nsenter',
    [
      `--net=/run/netns/${netns}`,
      '--',
      'unshare',
      '--uts',
      '--',
      '/bin/sh',
      '-c',
      'hostname "$1" && exec sleep infinity',
      'pause',
      hostname,
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...mark } },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', (e) => reject(new DeviceError(`cannot start the pause process of ${netns}: ${e.message}`)));
    child.on('exit', (code) => reject(new DeviceError(`pause process of ${netns} exited (${code}): ${err.trim()}`)));
    // Ready once its UTS namespace differs from ours (hostname set, sleep running).
    const started = Date.now();
    const poll = (): void => {
      try {
        const comm = fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
        if (comm === 'sleep') {
          child.removeAllListeners('exit');
          child.stderr.destroy();
          child.unref();
          resolve(child.pid!);
          return;
        }
      } catch {
        // not yet
      }
      if (Date.now() - started > 10_000) reject(new DeviceError(`pause process of ${netns} did not start`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

export async function createSandbox(
  cfg: KubeletConfig,
  network: PodNetwork,
  podDir: string,
  pod: PodRef & { hostname: string; docker?: boolean; attach?: string },
): Promise<Sandbox> {
  const netns = podNetnsName(cfg.netnsPrefix, pod.name, pod.uid);
  let hostVeth = hostVethName(pod.uid);
  let pausePid: number | undefined;
  let attachedFile: string | undefined;
  fs.mkdirSync(podDir, { recursive: true });
  try {
    // a Docker pod's namespace is its sandbox container's (docker-runtime.ts); the rest is the same
    if (pod.docker) pausePid = await createDockerSandbox(netns, pod.hostname, pod.uid, cfg.netnsPrefix);
    else if (pod.attach) attachedFile = await bindNetns(pod.attach, netns);
    else if (!fs.existsSync(`/run/netns/${netns}`)) await run('ip', ['netns', 'add', netns]);
    const attached = await network.attach(pod, netns, hostVeth);
    const ip = attached.ip;
    hostVeth = attached.hostVeth;
    pausePid ??= await startPause(netns, pod.hostname, processMark(cfg.lab, pod.uid));
    const s: Sandbox = {
      uid: pod.uid,
      namespace: pod.namespace,
      name: pod.name,
      netns,
      hostVeth,
      ip,
      ...(attached.ip6 ? { ip6: attached.ip6 } : {}),
      pausePid,
      createdAt: new Date().toISOString(),
      ...(pod.docker ? { docker: true } : {}),
      ...(attachedFile ? { attached: attachedFile } : {}),
    };
    fs.writeFileSync(sandboxFile(podDir), JSON.stringify(s, null, 2));
    return s;
  } catch (err) {
    await removeSandbox(cfg, network, {
      uid: pod.uid,
      namespace: pod.namespace,
      name: pod.name,
      netns,
      hostVeth,
      pausePid,
      docker: pod.docker,
      attached: attachedFile ?? pod.attach,
    });
    throw err;
  }
}

/** Makes /run/netns/<netns> a bind mount of the user's namespace file; resolves with that file. */
async function bindNetns(source: string, netns: string): Promise<string> {
  const file = await requireNetworkNamespace(source);
  const target = `/run/netns/${netns}`;
  if (fs.existsSync(target)) await run('ip', ['netns', 'delete', netns]).catch(() => undefined);
  fs.mkdirSync('/run/netns', { recursive: true });
  fs.writeFileSync(target, '');
  try {
    await run('mount', ['--bind', file, target]);
  } catch (err) {
    fs.rmSync(target, { force: true });
    throw err;
  }
  return file;
}

function isPause(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
  } catch {
    return false;
  }
}

export async function removeSandbox(
  _cfg: KubeletConfig,
  network: PodNetwork,
  s: {
    uid: string;
    namespace: string;
    name: string;
    netns: string;
    hostVeth: string;
    pausePid?: number;
    docker?: boolean;
    attached?: string;
  },
): Promise<void> {
  if (s.docker) await removeDockerContainers(POD_LABEL, s.uid); // only Docker pods run the docker command
  const pids = new Set<number>();
  if (s.pausePid !== undefined && processAlive(s.pausePid) && isPause(s.pausePid)) pids.add(s.pausePid);
  if (fs.existsSync(`/run/netns/${s.netns}`)) {
    // all of a namespace of our own; in an attached one (the user's) only what carries this pod's mark
    const { stdout } = await run('ip', ['netns', 'pids', s.netns]).catch(() => ({ stdout: '' }));
    for (const p of stdout.split(/\s+/).filter(Boolean).map(Number))
      if (p > 1 && p !== process.pid && (!s.attached || isPodProcess(p, s.uid))) pids.add(p);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  // The network first (CNI DEL wants the namespace), the namespace in any case; a failed DEL is rethrown.
  const detached = await network.detach(s, s.netns, s.hostVeth).then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  if (fs.existsSync(`/run/netns/${s.netns}`)) await run('ip', ['netns', 'delete', s.netns]).catch(() => undefined);
  if (detached !== undefined) throw detached;
}
