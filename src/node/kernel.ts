// Configures the kernel side of a node with iproute2 (`ip`, run by sys/run.ts): the TUN device's
// address, MTU and state, and one route per remote subnet into the TUN device. Every call throws
// DeviceError naming the command and ip's own message when it fails.
import fs from 'node:fs';
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import { formatIpv4 } from '../addr/ipv4.js';
import { ip as runIp, ipBatch } from '../sys/run.js';
import type { KernelRouteChange } from './peer-events.js';
import { DeviceError } from '../util/errors.js';

const ip = (...args: string[]): Promise<string> => runIp(args, { timeoutMs: 10_000 });

/** TUN transmit queue (packets the kernel holds for us to read); the default 500 overflows in bursts. */
export const TUN_TXQUEUELEN = 2000;

/**
 * Gives the TUN device its address (the subnet's network address /32, as flannel does), MTU, a
 * longer transmit queue (TUN_TXQUEUELEN), up.
 */
export async function configureTun(name: string, subnet: Cidr, mtu: number): Promise<void> {
  // The data path's ICMP errors (net unreachable, time exceeded, fragmentation needed) come from
  // this address; without accept_local the kernel drops them as spoofed and the pod never sees them.
  const sysctl = `/proc/sys/net/ipv4/conf/${name}/accept_local`;
  try {
    fs.writeFileSync(sysctl, '1');
  } catch (err) {
    // In a container /proc/sys is read-only: fine when the device inherited 1 from conf/default
    // (`--sysctl net.ipv4.conf.default.accept_local=1`, as examples/docker/compose.yaml sets it).
    if (readSysctl(sysctl) !== '1')
      throw new DeviceError(
        `cannot set accept_local on ${name}: ${(err as Error).message}` +
          ' (in a container: --sysctl net.ipv4.conf.default.accept_local=1)',
        { cause: err },
      );
  }
  await ip('addr', 'add', `${formatIpv4(subnet.network)}/32`, 'dev', name);
  await ip('link', 'set', 'dev', name, 'mtu', String(mtu), 'txqueuelen', String(TUN_TXQUEUELEN), 'up');
}

function readSysctl(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export async function addRoute(subnet: Cidr, tun: string): Promise<void> {
  await ip('route', 'replace', subnet.toString(), 'dev', tun);
}

/** Applies route changes in order in one `ip -batch` process; throws DeviceError at the first failure. */
export async function applyRoutes(changes: readonly KernelRouteChange[], tun: string): Promise<void> {
  await ipBatch(
    undefined,
    changes.map((c) => `route ${c.op === 'add' ? 'replace' : 'del'} ${c.subnet.toString()} dev ${tun}`),
  );
}

export async function removeRoute(subnet: Cidr, tun: string): Promise<void> {
  try {
    await ip('route', 'del', subnet.toString(), 'dev', tun);
  } catch {
    // already gone (the device went away or someone removed it): nothing to undo
  }
}

/** The MTU of the interface that holds `addr`, or undefined when no interface has it. */
export async function mtuOfAddress(addr: Ipv4): Promise<number | undefined> {
  const text = formatIpv4(addr);
  const links = JSON.parse(await ip('-j', 'addr', 'show')) as Array<{
    ifname: string;
    mtu: number;
    addr_info?: Array<{ local?: string }>;
  }>;
  for (const link of links) if (link.addr_info?.some((a) => a.local === text)) return link.mtu;
  return undefined;
}

export async function linkExists(name: string): Promise<boolean> {
  try {
    await ip('link', 'show', 'dev', name);
    return true;
  } catch {
    return false;
  }
}
