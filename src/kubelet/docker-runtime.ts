// Pods in Docker containers (annotation `flannelette.io/runtime: docker`): the one boundary between
// the kubelet and Docker, through the docker CLI. The sandbox is a container started with
// `docker run -d --network none` from a small local pause image (flannelette/pause:local, built on
// first use by `docker import` of a root filesystem holding the host's busybox and its libraries);
// its network namespace becomes the pod's (`ip netns attach` by the container's PID), so sandbox.ts
// moves the veth in and configures address and route as for any pod. Each container of the pod then
// runs attached under the kubelet's shim as `docker run --rm --network container:<sandbox>` (so the
// shim's CRI log and exit code are the container's), exec goes to `docker exec`, and everything
// with the pod's label is removed with `docker rm -f`. Images are never pulled: an image that is
// not present locally resolves to undefined (the pod shows ErrImagePull with its name).
// Throws DeviceError with one line naming what is missing (no docker command, no daemon).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Container, Pod } from '../k8s/types.js';
import { DeviceError } from '../util/errors.js';
import type { ResolvedImage } from './images.js';
import { DEFAULT_PATH } from './images.js';
import { run } from './run.js';

export const RUNTIME_ANNOTATION = 'flannelette.io/runtime';
export const PAUSE_IMAGE = 'flannelette/pause:local';
/** Labels on every container the kubelet creates: the pod's uid and the lab's namespace prefix. */
export const POD_LABEL = 'io.flannelette.pod-uid';
export const LAB_LABEL = 'io.flannelette.netns-prefix';

/** True for a pod the kubelet runs in Docker: its annotation says so, or it has none and the node's default is Docker. */
export function isDockerPod(pod: Pod, defaultRuntime?: 'docker'): boolean {
  const runtime = pod.metadata.annotations?.[RUNTIME_ANNOTATION] ?? defaultRuntime;
  return runtime === 'docker';
}

function docker(args: readonly string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new DeviceError('Docker is not installed: no `docker` command (install docker.io)');
  return { code: r.status ?? 1, out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

/** Throws DeviceError with one line when there is no docker command or its daemon does not answer. */
export function requireDocker(): void {
  const r = docker(['version', '--format', '{{.Server.Version}}']);
  if (r.code !== 0)
    throw new DeviceError(
      `the Docker daemon does not answer (${r.err.split('\n').pop() ?? 'docker version failed'}); start dockerd`,
    );
}

/** The image as present in the local Docker image store, or undefined (never pulled). */
export function resolveDockerImage(image: string): ResolvedImage | undefined {
  const r = docker(['image', 'inspect', '--format', '{{.Id}}', image]);
  if (r.code !== 0) return undefined;
  const [name, tag = 'latest'] = image.split(/:(?=[^/]*$)/);
  return {
    image,
    name,
    tag,
    mappedTo: `docker image ${image} (${r.out.trim().slice(0, 19)})`,
    entrypoint: [],
    cmd: [],
    env: { PATH: DEFAULT_PATH },
    writable: [],
    binLinks: {},
    aliases: {},
  };
}

/** Builds an image whose root holds the host's busybox (and the libraries it links), with /bin/sh. */
export async function importBusyboxImage(tag: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-rootfs-'));
  try {
    const busybox = fs.realpathSync('/usr/bin/busybox');
    const ldd = await run('ldd', [busybox]).catch(() => ({ stdout: '' }));
    const libs = [...ldd.stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
    for (const file of [busybox, ...libs]) {
      const to = path.join(dir, file);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(file, to);
      fs.chmodSync(to, 0o755);
    }
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    if (busybox !== '/bin/busybox') fs.copyFileSync(busybox, path.join(dir, 'bin', 'busybox'));
    fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'sleep', 'ping', 'wget', 'httpd', 'hostname', 'ip', 'cat', 'echo', 'ls', 'mkdir'])
      fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
    for (const d of ['tmp', 'etc', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    await run('sh', ['-c', `tar -C "$1" -c . | docker import - "$2" >/dev/null`, 'import', dir, tag], {
      timeoutMs: 60_000,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts the pod's sandbox container (`docker run -d --network none`) and attaches its network
 * namespace as `/run/netns/<netns>`; resolves with the PID holding it (the pod's pause process).
 */
export async function createDockerSandbox(netns: string, hostname: string, uid: string, prefix: string) {
  requireDocker();
  if (!resolveDockerImage(PAUSE_IMAGE)) await importBusyboxImage(PAUSE_IMAGE);
  await run('docker', ['rm', '-f', netns]).catch(() => undefined);
  const labels = ['--label', `${POD_LABEL}=${uid}`, '--label', `${LAB_LABEL}=${prefix}`];
  await run('docker', [
    'run',
    '-d',
    '--network',
    'none',
    '--hostname',
    hostname,
    '--name',
    netns,
    ...labels,
    PAUSE_IMAGE,
    '/bin/busybox',
    'sleep',
    '2147483647',
  ]);
  const pid = Number((await run('docker', ['inspect', '--format', '{{.State.Pid}}', netns])).stdout.trim());
  if (!(pid > 0)) throw new DeviceError(`docker: sandbox container ${netns} has no process`);
  await run('ip', ['netns', 'attach', netns, String(pid)]);
  return pid;
}

/** The container's Docker name: `<sandbox>-<container>`. */
export function dockerContainerName(netns: string, container: string): string {
  return `${netns}-${container}`;
}

/** The argv the shim runs for one container: an attached `docker run` in the sandbox's namespace. */
export function dockerRunArgv(
  netns: string,
  uid: string,
  prefix: string,
  c: Container,
  image: string,
  env: Record<string, string>,
  command?: string[],
  args?: string[],
): string[] {
  const name = dockerContainerName(netns, c.name);
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  const argv = ['docker', 'run', '--rm', '--name', name, '--network', `container:${netns}`];
  argv.push('--label', `${POD_LABEL}=${uid}`, '--label', `${LAB_LABEL}=${prefix}`);
  for (const [k, v] of Object.entries(env)) if (k !== 'PATH') argv.push('-e', `${k}=${v}`);
  if (c.workingDir) argv.push('-w', c.workingDir);
  if (command?.length) argv.push('--entrypoint', command[0]);
  argv.push(image, ...(command?.slice(1) ?? []), ...(args ?? []));
  return argv;
}

/** The docker CLI's own settings from the kubelet's environment (DOCKER_HOST etc.), for the shim's `docker run`. */
export function dockerClientEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && (k.startsWith('DOCKER_') || k === 'PATH' || k === 'HOME')) out[k] = v;
  return out;
}

/** `docker exec` for a kubelet exec session into a Docker container. */
export function dockerExecArgv(name: string, command: readonly string[], stdin: boolean, tty: boolean): string[] {
  return ['docker', 'exec', ...(stdin ? ['-i'] : []), ...(tty ? ['-t'] : []), name, ...command];
}

/** The Docker name recorded for a container attempt (container.json), if it runs in Docker. */
export function dockerNameOf(attemptDir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(attemptDir, 'container.json'), 'utf8')) as { docker?: string }).docker;
  } catch {
    return undefined;
  }
}

/** Removes every container carrying `label=value` (a pod's, or a whole lab's). Never throws. */
export async function removeDockerContainers(label: string, value: string): Promise<number> {
  let ids: string[];
  try {
    const r = docker(['ps', '-aq', '--filter', `label=${label}=${value}`]);
    ids = r.code === 0 ? r.out.split(/\s+/).filter(Boolean) : [];
  } catch {
    return 0;
  }
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]).catch(() => undefined);
  return ids.length;
}
