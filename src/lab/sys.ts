// The lab's only door to the OS network configuration: runs ip(8) and sysctl(8), lists and deletes
// network namespaces, finds the processes inside them. Every failure of a command becomes a
// DeviceError whose one-line message names the command and quotes its first line of stderr.
// Platform code (Linux, iproute2).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { DeviceError, PermissionError } from '../util/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell); rejects with DeviceError when it cannot start or exits non-zero. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const first = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
        reject(new DeviceError(`${cmd} ${args.join(' ')}: ${first}`, { cause: err }));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs several ip(8) commands in one process (`ip [-n NS] -batch -`); stops at the first failure. */
export async function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  await run('ip', args, { input: lines.join('\n') + '\n' });
}

export async function listNetns(): Promise<string[]> {
  // `ip netns list` prints "name (id: N)"; reading the directory is the same and cannot fail.
  try {
    return fs.readdirSync('/run/netns').sort();
  } catch {
    return [];
  }
}

export async function addNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
}

export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'delete', name]);
}

/** Pids of the processes whose network namespace is `name` ([] if it does not exist). */
export async function netnsPids(name: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', name]);
    return stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
}

/** Sets sysctls inside a namespace (`ip netns exec NS sysctl -qw k=v ...`). */
export async function sysctlIn(netns: string, settings: Record<string, string | number>): Promise<void> {
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
}

/** The inode of a namespace file: equal inodes mean the same namespace. */
export function netnsInode(name: string): number | undefined {
  try {
    return fs.statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and lives in the network namespace with inode `ino`. */
export function pidInNetns(pid: number, ino: number | undefined): boolean {
  if (ino === undefined) return false;
  try {
    return fs.statSync(`/proc/${pid}/ns/net`).ino === ino && !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}

// Capability bits (linux/capability.h).
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** True when the effective capabilities in /proc/self/status text include NET_ADMIN and SYS_ADMIN. */
export function hasLabCapabilities(statusText: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(statusText);
  if (!m) return false;
  const caps = BigInt(`0x${m[1]}`);
  return ((caps >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n && ((caps >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n;
}

/** Throws PermissionError unless this process may create namespaces and links. */
export function requireLabPrivileges(statusText?: string): void {
  let text = statusText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/status', 'utf8');
    } catch {
      text = '';
    }
  }
  if (!hasLabCapabilities(text)) {
    throw new PermissionError('the lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN): run it with sudo');
  }
}
