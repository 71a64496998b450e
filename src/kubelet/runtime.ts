// The pod runtime (what a CRI runtime and CNI do for the real kubelet), without any API: for a v1 Pod
// it creates the sandbox (sandbox.ts), the pod's shared files (/etc/hosts, /etc/hostname, resolv.conf,
// emptyDir volumes), and starts containers under shims (containers.ts) with the image's command and
// the spec's env; it removes all of it again. State lives under `<stateDir>/pods/<uid>/`, so a new
// PodRuntime over the same stateDir sees the pods a previous kubelet started.
// Throws DeviceError / CapacityError from the sandbox; ConfigError for a container the pod does not have.
import fs from 'node:fs';
import path from 'node:path';
import type { Container, Pod } from '../k8s/types.js';
import type { KubeletConfig } from './config.js';
import { attemptDir, containerLaunchArgv, startContainer, type AttemptInfo } from './containers.js';
import { containerArgv, type HostFacts, type ResolvedImage } from './images.js';
import type { HostLocalIpam } from './ipam.js';
import { BuiltinPodNetwork, podNetworkFor, type PodNetwork, type PodRef } from './pod-network.js';
import { podFiles, prepareContainerFiles, startScript, writePodFiles } from './rootfs.js';
import { hostResolvConf, podResolvConf, resolvConfText } from './resolv-conf.js';
import {
  createSandbox,
  NETNS_ANNOTATION,
  readSandbox,
  removeSandbox,
  sandboxHealthy,
  type Sandbox,
} from './sandbox.js';
import { dockerClientEnv, dockerContainerName, dockerRunArgv, isDockerPod } from './docker-runtime.js';
import { processMark } from './process-mark.js';

export interface PodMeta {
  uid: string;
  namespace: string;
  name: string;
}

/** Expands $(VAR) references as Kubernetes does ($$ escapes; unknown references stay as written). */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : m;
  });
}

/** The value of a downward-API fieldRef, or undefined for a field this kubelet does not provide. */
export function fieldRefValue(pod: Pod, fieldPath: string, podIp: string, hostIp: string): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? '';
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace ?? 'default',
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': 'default',
    'status.podIP': podIp,
    'status.podIPs': podIp,
    'status.hostIP': hostIp,
    'status.hostIPs': hostIp,
  };
  return fields[fieldPath];
}

export function containerEnv(
  pod: Pod,
  c: Container,
  img: ResolvedImage,
  podIp: string,
  hostIp: string,
  serviceEnv: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    ...img.env,
    ...serviceEnv,
    HOSTNAME: pod.spec.hostname ?? pod.metadata.name ?? '',
  };
  if (img.name.startsWith('flannelette/')) {
    Object.assign(env, {
      POD_NAME: pod.metadata.name ?? '',
      POD_IP: podIp,
      NODE_NAME: pod.spec.nodeName ?? '',
      CONTAINER_NAME: c.name,
    });
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) {
      const v = fieldRefValue(pod, e.valueFrom.fieldRef.fieldPath, podIp, hostIp);
      if (v !== undefined) env[e.name] = v;
    } else env[e.name] = expandVars(e.value ?? '', env);
  }
  return env;
}

/** hostPort mappings of a pod (portmap's portMappings capability). */
export function podPortMappings(pod: Pod): NonNullable<PodRef['portMappings']> {
  return pod.spec.containers.flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.hostPort !== undefined && p.hostPort > 0)
      .map((p) => ({
        hostPort: p.hostPort!,
        containerPort: p.containerPort,
        protocol: (p.protocol ?? 'TCP').toLowerCase(),
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      })),
  );
}

export class PodRuntime {
  readonly network: PodNetwork;
  /** The built-in IPAM when the pods are not wired through CNI. */
  readonly ipam: HostLocalIpam | undefined;
  readonly podsDir: string;

  constructor(
    readonly cfg: KubeletConfig,
    readonly host: HostFacts,
    readonly shim: readonly string[],
    readonly clusterDNS: readonly string[] = [],
    readonly clusterDomain = 'cluster.local',
    onCniLog?: (text: string) => void,
  ) {
    this.network = podNetworkFor(cfg, onCniLog);
    this.ipam = this.network instanceof BuiltinPodNetwork ? this.network.ipam : undefined;
    this.podsDir = path.join(cfg.stateDir, 'pods');
    fs.mkdirSync(this.podsDir, { recursive: true });
  }

  podDir(uid: string): string {
    return path.join(this.podsDir, uid);
  }

  /** Pods with state on disk (from a previous kubelet or this one). */
  listPods(): PodMeta[] {
    const out: PodMeta[] = [];
    for (const uid of fs.readdirSync(this.podsDir)) {
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(this.podDir(uid), 'pod.json'), 'utf8')) as PodMeta);
      } catch {
        out.push({ uid, namespace: '', name: '' });
      }
    }
    return out;
  }

  /** The pod's sandbox: the existing one when healthy, else a new one (a broken one is removed first). */
  async ensureSandbox(pod: Pod): Promise<{ sandbox: Sandbox; created: boolean }> {
    const uid = pod.metadata.uid!;
    const dir = this.podDir(uid);
    const existing = readSandbox(dir);
    if (existing && sandboxHealthy(existing)) return { sandbox: existing, created: false };
    if (existing) await removeSandbox(this.cfg, this.network, existing);
    fs.mkdirSync(dir, { recursive: true });
    const meta: PodMeta = { uid, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' };
    fs.writeFileSync(path.join(dir, 'pod.json'), JSON.stringify(meta));
    const hostname = pod.spec.hostname ?? meta.name;
    const sandbox = await createSandbox(this.cfg, this.network, dir, {
      ...meta,
      hostname,
      portMappings: podPortMappings(pod),
      docker: isDockerPod(pod, this.cfg.defaultRuntime),
      attach: pod.metadata.annotations?.[NETNS_ANNOTATION],
    });
    const files = podFiles(dir);
    const resolv = resolvConfText(podResolvConf(pod, this.clusterDNS, this.clusterDomain, hostResolvConf));
    writePodFiles(files, sandbox.ip, hostname, resolv);
    for (const v of pod.spec.volumes ?? []) fs.mkdirSync(path.join(files.volumesDir, v.name), { recursive: true });
    return { sandbox, created: true };
  }

  /** Starts attempt `attempt` of container `c` (its restart count) in the pod's sandbox. */
  async startContainer(
    pod: Pod,
    c: Container,
    img: ResolvedImage,
    sandbox: Sandbox,
    attempt: number,
    serviceEnv: Record<string, string> = {},
  ): Promise<AttemptInfo> {
    const dir = this.podDir(pod.metadata.uid!);
    const adir = attemptDir(dir, c.name, attempt);
    fs.rmSync(adir, { recursive: true, force: true });
    fs.mkdirSync(adir, { recursive: true });
    // last, so that no spec can drop it: the lab's mark (process-mark.ts), which lab down and node stop kill by
    const env = {
      ...containerEnv(pod, c, img, sandbox.ip, this.cfg.publicIp, serviceEnv),
      ...processMark(this.cfg.lab, pod.metadata.uid!),
    };
    const expand = (list?: string[]): string[] | undefined => list?.map((s) => expandVars(s, env));
    if (isDockerPod(pod, this.cfg.defaultRuntime)) {
      const docker = dockerContainerName(sandbox.netns, c.name);
      fs.writeFileSync(
        path.join(adir, 'container.json'),
        JSON.stringify({ name: c.name, image: img.image, env, docker }),
      );
      const argv = dockerRunArgv(
        sandbox.netns,
        pod.metadata.uid!,
        this.cfg.netnsPrefix,
        c,
        img.image,
        env,
        expand(c.command),
        expand(c.args),
      );
      // the docker CLI under the shim: its daemon's address (DOCKER_HOST) and the pod's mark
      const cliEnv = { ...dockerClientEnv(process.env), ...processMark(this.cfg.lab, pod.metadata.uid!) };
      return startContainer([...this.shim], adir, { argv, env: cliEnv });
    }
    const argv = containerArgv(img, expand(c.command), expand(c.args));
    const known = new Set((pod.spec.volumes ?? []).map((v) => v.name));
    const mounts = (c.volumeMounts ?? [])
      .filter((m) => known.has(m.name))
      .map((m) => ({ volume: m.name, mountPath: m.mountPath, readOnly: m.readOnly }));
    const binds = prepareContainerFiles(adir, podFiles(dir), img, mounts);
    const script = startScript(adir, binds, c.workingDir);
    fs.writeFileSync(path.join(adir, 'container.json'), JSON.stringify({ name: c.name, image: img.image, argv, env }));
    return startContainer([...this.shim], adir, {
      argv: containerLaunchArgv(sandbox.netns, sandbox.pausePid, script, argv.length > 0 ? argv : ['true']),
      env,
    });
  }

  /** Removes the pod's sandbox, address and files. Containers must be stopped first. */
  async removePod(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    const s = readSandbox(dir);
    if (s) await removeSandbox(this.cfg, this.network, s);
    else await this.network.detach({ uid, namespace: '', name: '' }, '', ''); // an attach cut short
    this.ipam?.release(uid);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
