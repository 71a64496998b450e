// A container's file system view, built in its own mount namespace by a start script (sh) that the
// shim runs through `nsenter --net --uts … unshare --mount --propagation private`:
//   - a tmpfs holding an overlay whose lower layer is the host's root: every write the container makes
//     lands in that tmpfs (its private writable layer, gone when the container exits), never on the host;
//   - /proc, /dev bound from the host, a fresh /sys (it shows the pod's interfaces);
//   - private bind mounts from the lab directory: /etc/hosts, /etc/hostname, /etc/resolv.conf (the pod's,
//     kubelet-managed), /tmp, /run and the image's writable paths (nginx's html, logs, config…, a copy per
//     container start), the image's /usr/local/bin of busybox applets, and emptyDir volumes (the pod's,
//     shared by its containers) at their mountPath;
//   - then chroot into it (cd workingDir) and exec the container's command.
// prepareContainerFiles writes the lab-directory side (throws on I/O errors); startScript is pure.
import { packageRoot } from '../sys/package-root.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedImage } from './images.js';

export interface BindMount {
  source: string;
  target: string;
  kind: 'dir' | 'file';
  readOnly?: boolean;
}

/** Files of a pod that its containers share (kubelet-managed /etc files, emptyDir volumes). */
export interface PodFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
  volumesDir: string;
}

export function podFiles(podDir: string): PodFiles {
  return {
    hosts: path.join(podDir, 'etc-hosts'),
    hostname: path.join(podDir, 'etc-hostname'),
    resolvConf: path.join(podDir, 'etc-resolv.conf'),
    volumesDir: path.join(podDir, 'volumes'),
  };
}

/** /etc/hosts as the kubelet writes it for a pod. */
export function hostsFileText(podIp: string, hostname: string): string {
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    '',
    '# Entries added by HostAliases.',
    `${podIp}\t${hostname}`,
    '',
  ].join('\n');
}

export function writePodFiles(f: PodFiles, podIp: string, hostname: string, resolvConf: string): void {
  fs.mkdirSync(f.volumesDir, { recursive: true });
  fs.writeFileSync(f.hosts, hostsFileText(podIp, hostname));
  fs.writeFileSync(f.hostname, `${hostname}\n`);
  fs.writeFileSync(f.resolvConf, resolvConf);
}

export interface VolumeMountSpec {
  volume: string;
  mountPath: string;
  readOnly?: boolean;
}

const safeName = (p: string): string => p.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'root';

/**
 * Creates the private copies of one container start under `attemptDir` and returns the bind mounts,
 * in mount order. Volumes must exist under pod.volumesDir (created by the caller from spec.volumes).
 */
export function prepareContainerFiles(
  attemptDir: string,
  pod: PodFiles,
  img: ResolvedImage,
  volumeMounts: readonly VolumeMountSpec[],
): BindMount[] {
  const rw = path.join(attemptDir, 'rw');
  fs.mkdirSync(rw, { recursive: true });
  fs.mkdirSync(path.join(attemptDir, 'layer'), { recursive: true });
  const binds: BindMount[] = [
    { source: pod.hosts, target: '/etc/hosts', kind: 'file' },
    { source: pod.hostname, target: '/etc/hostname', kind: 'file' },
    { source: pod.resolvConf, target: '/etc/resolv.conf', kind: 'file' },
  ];
  const tmp = path.join(rw, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  fs.chmodSync(tmp, 0o1777);
  binds.push({ source: tmp, target: '/tmp', kind: 'dir' });
  const run = path.join(rw, 'run');
  fs.mkdirSync(run, { recursive: true });
  binds.push({ source: run, target: '/run', kind: 'dir' });
  // A checkout under /tmp or /run (a CI clone in a mktemp directory) would vanish behind the private
  // /tmp and /run: the built-in programs (flannelette/*, agnhost) run from it, so it stays visible, read-only.
  const installed = packageRoot();
  if (['/tmp', '/run'].some((hidden) => installed === hidden || installed.startsWith(`${hidden}/`)))
    binds.push({ source: installed, target: installed, kind: 'dir', readOnly: true });
  for (const w of img.writable) {
    const source = path.join(rw, safeName(w.path));
    if (w.kind === 'dir') {
      fs.mkdirSync(source, { recursive: true });
      if (w.seedFrom && fs.existsSync(w.seedFrom))
        fs.cpSync(w.seedFrom, source, { recursive: true, dereference: true });
    } else {
      fs.writeFileSync(source, w.content ?? '', { mode: w.mode ?? 0o644 });
      fs.chmodSync(source, w.mode ?? 0o644);
    }
    binds.push({ source, target: w.path, kind: w.kind });
  }
  for (const h of img.hostBinds ?? []) binds.push(h);
  const links = Object.entries(img.binLinks);
  if (links.length > 0) {
    const bin = path.join(rw, 'usr-local-bin');
    fs.mkdirSync(bin, { recursive: true });
    for (const [name, target] of links) linkForce(target, path.join(bin, name));
    if (img.binLinks['busybox']) {
      for (const applet of busyboxApplets(img.binLinks['busybox'])) {
        if (!img.binLinks[applet]) linkForce(img.binLinks['busybox'], path.join(bin, applet));
      }
    }
    binds.push({ source: bin, target: '/usr/local/bin', kind: 'dir' });
  }
  for (const vm of volumeMounts) {
    binds.push({
      source: path.join(pod.volumesDir, vm.volume),
      target: vm.mountPath,
      kind: 'dir',
      readOnly: vm.readOnly,
    });
  }
  return binds;
}

function linkForce(target: string, link: string): void {
  fs.rmSync(link, { force: true });
  fs.symlinkSync(target, link);
}

const appletCache = new Map<string, string[]>();

/** The applets a busybox binary provides (`busybox --list`), cached per binary. */
function busyboxApplets(busybox: string): string[] {
  let list = appletCache.get(busybox);
  if (!list) {
    try {
      list = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => /^[A-Za-z0-9._[-]+$/.test(s) && s !== 'busybox');
    } catch {
      list = [];
    }
    appletCache.set(busybox, list);
  }
  return list;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The start script: `sh -c SCRIPT sh ARGV...` builds the file system view described at the top of
 * this module under `<attemptDir>/layer` (only inside the container's mount namespace) and execs ARGV.
 */
export function startScript(attemptDir: string, binds: readonly BindMount[], workingDir?: string): string {
  const layer = path.join(attemptDir, 'layer');
  const root = `${layer}/root`;
  const lines = [
    'set -e',
    `L=${q(layer)}; R=${q(root)}`,
    'mount -t tmpfs -o mode=755 flt-layer "$L"',
    'mkdir "$L/upper" "$L/work" "$R"',
    'mount -t overlay flt-root -o lowerdir=/,upperdir="$L/upper",workdir="$L/work" "$R"',
    'mount --rbind /proc "$R/proc"',
    'mount --rbind /dev "$R/dev"',
    'mount -t sysfs sysfs "$R/sys" 2>/dev/null || mount --rbind /sys "$R/sys"',
  ];
  for (const b of binds) {
    const t = `"$R"${q(b.target)}`;
    lines.push(b.kind === 'dir' ? `mkdir -p ${t}` : `mkdir -p "$(dirname ${t})"; [ -e ${t} ] || : > ${t}`);
    lines.push(`mount --bind ${q(b.source)} ${t}`);
    if (b.readOnly) lines.push(`mount -o remount,bind,ro ${t}`);
  }
  if (workingDir) {
    lines.push(`mkdir -p "$R"${q(workingDir)}`);
    lines.push(`exec chroot "$R" /bin/sh -c 'cd "$0" && exec "$@"' ${q(workingDir)} "$@"`);
  } else {
    lines.push('exec chroot "$R" "$@"');
  }
  return lines.join('\n');
}
