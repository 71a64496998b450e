// The lab's network namespaces and its privileges: lists, adds and deletes namespaces, sets sysctls
// inside them, finds the processes inside them (commands run by sys/run.ts: every failure is a
// DeviceError whose one-line message names the command and quotes its first line of stderr), and
// checks that this process may do all that (PermissionError). Platform code (Linux, iproute2).
import fs from 'node:fs';
import { CAP_NET_ADMIN, CAP_SYS_ADMIN, hasCapabilitiesIn, isZombie, readSelfStatus } from '../sys/proc.js';
import { ip, netnsArgv, run } from '../sys/run.js';
import { PermissionError } from '../util/errors.js';

export function listNetns(): Promise<string[]> {
  // `ip netns list` prints "name (id: N)"; reading the directory is the same and cannot fail.
  try {
    return Promise.resolve(fs.readdirSync('/run/netns').sort());
  } catch {
    return Promise.resolve([]);
  }
}

/**
 * Adds a namespace. With `noDad` (labs with IPv6) its interfaces skip duplicate address detection, as
 * the CNI bridge plugin's default (enabledad false) does for a pod's eth0: a link-local address stays
 * tentative for a second or two after `link set up`, and neighbour discovery across the lab's links
 * failed the first IPv6 packets sent right after `lab up` (1 ping in 3 on this VM). The lab's own
 * addresses are unique by construction.
 */
export async function addNetns(name: string, noDad = false): Promise<void> {
  await ip(['netns', 'add', name]);
  if (noDad) await sysctlIn(name, NO_DAD);
}

/** The sysctls of addNetns's `noDad`, for callers that set a namespace's sysctls in one go anyway. */
export const NO_DAD = { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 } as const;

export async function deleteNetns(name: string): Promise<void> {
  await ip(['netns', 'delete', name]);
}

/** Pids of the processes whose network namespace is `name` ([] if it does not exist). */
export async function netnsPids(name: string): Promise<number[]> {
  try {
    const stdout = await ip(['netns', 'pids', name]);
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
  const [cmd, ...args] = netnsArgv(netns, ['sysctl', '-qw', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
  await run(cmd, args);
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

/** True when the effective capabilities in /proc/self/status text include NET_ADMIN and SYS_ADMIN. */
export function hasLabCapabilities(statusText: string): boolean {
  return hasCapabilitiesIn(statusText, [CAP_NET_ADMIN, CAP_SYS_ADMIN]);
}

/** Throws PermissionError unless this process may create namespaces and links. */
export function requireLabPrivileges(statusText?: string): void {
  if (!hasLabCapabilities(statusText ?? readSelfStatus())) {
    throw new PermissionError('the lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN): run it with sudo');
  }
}
