// Which interface and address a node uses on the underlay, chosen as flanneld chooses its external
// interface (main.go + pkg/ipmatch LookupExtIface, IPv4): with none of --iface/--iface-regex/
// --iface-can-reach, the interface holding --public-ip, or else the default-route interface; with
// them, each --iface in order (an address: the interface holding it; a name: that interface), then
// each --iface-regex in order (first an interface with an IPv4 address the regex matches, then an
// interface whose name it matches), then --iface-can-reach (the interface `ip route get ADDR` names,
// and its preferred source); the first match wins. The public address is --public-ip when given,
// else the matched address, else the interface's first IPv4 address (global before link-local,
// permanent before dynamic, as flannel sorts them).
// Every failure is flannel's text: a failed candidate is logged at info level ("Could not find valid
// interface matching …"); nothing matching throws InterfaceSelectionError (exit 1) with flannel's final
// line; a --public-ip that is no IPv4 address is a ConfigError.
// --iface-regex is Go regexp syntax (util/go-regexp.ts translates it; what it refuses is flannel's compile error).
// The host is injected (HostInterfaces; node/host-interfaces.ts reads the kernel's), so this is pure.
import { formatIpv4, isIpv4, parseIpv4, type Ipv4 } from '../addr/ipv4.js';
import { ConfigError, InterfaceSelectionError } from '../util/errors.js';
import { compileGoRegexp } from '../util/go-regexp.js';
import type { Logger } from '../util/logger.js';

/** One IPv4 address of an interface. */
export interface InterfaceAddress {
  address: Ipv4;
  /** Not IFA_F_PERMANENT (DHCP and the like): flannel prefers permanent ones. */
  dynamic?: boolean;
  /** IFA_F_DEPRECATED: never used. */
  deprecated?: boolean;
}

export interface NetInterface {
  name: string;
  mtu: number;
  /** IPv4 addresses in the kernel's order. */
  addresses: InterfaceAddress[];
}

/** What the kernel says; every call may reject (the command failed): the reason becomes flannel's text. */
export interface HostInterfaces {
  /** Every interface in index order (Go's net.Interfaces). */
  list(): Promise<NetInterface[]>;
  /** The device of the main table's first default route, undefined when there is none. */
  defaultRouteDevice(): Promise<string | undefined>;
  /** `ip route get ADDR`: the device and preferred source; rejects when there is no route. */
  routeGet(addr: Ipv4): Promise<{ device: string; source?: Ipv4 }>;
}

export interface AddressSelection {
  /** --iface, repeatable: names or IPv4 addresses. */
  iface: readonly string[];
  /** --iface-regex, repeatable. */
  ifaceRegex: readonly string[];
  ifaceCanReach?: string;
  publicIp?: string;
}

export interface ExternalInterface {
  name: string;
  mtu: number;
  /** The interface's address the node uses (flannel's IfaceAddr). */
  ifaceAddress: Ipv4;
  /** The address peers reach this node at (flannel's ExtAddr: --public-ip, else ifaceAddress). */
  publicIp: Ipv4;
}

const NO_MATCH = 'Failed to find interface to use that matches the interfaces and/or regexes provided';

/** flannel's order of preference among an interface's usable IPv4 addresses. */
export function usableAddresses(iface: NetInterface): Ipv4[] {
  const usable = iface.addresses.filter((a) => !a.deprecated && isGlobalOrLinkLocal(a.address));
  const rank = (a: InterfaceAddress): number => (isLinkLocal(a.address) ? 2 : 0) + (a.dynamic ? 1 : 0);
  return usable
    .map((a, i) => ({ a, i }))
    .sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i)
    .map(({ a }) => a.address);
}

/** Chooses the external interface as flanneld does; throws InterfaceSelectionError with its message. */
export async function selectExternalInterface(
  sel: AddressSelection,
  host: HostInterfaces,
  log: Logger,
): Promise<ExternalInterface> {
  const publicIp = parsePublicIp(sel.publicIp);
  if (sel.iface.length === 0 && sel.ifaceRegex.length === 0 && !sel.ifaceCanReach) {
    try {
      return await lookup(sel.publicIp ? { byName: sel.publicIp } : { byDefaultRoute: true }, host, log, publicIp);
    } catch (err) {
      throw new InterfaceSelectionError(`Failed to find any valid interface to use: ${(err as Error).message}`);
    }
  }
  const attempts: Array<{ what: string; how: Lookup }> = [
    ...sel.iface.map((i) => ({ what: i, how: { byName: i } })),
    ...sel.ifaceRegex.map((r) => ({ what: r, how: { byRegex: r } })),
    ...(sel.ifaceCanReach
      ? [{ what: `ifaceCanReach: ${sel.ifaceCanReach}`, how: { canReach: sel.ifaceCanReach } }]
      : []),
  ];
  for (const { what, how } of attempts) {
    try {
      return await lookup(how, host, log, publicIp);
    } catch (err) {
      log.info(`Could not find valid interface matching ${what}: ${(err as Error).message}`);
    }
  }
  throw new InterfaceSelectionError(NO_MATCH);
}

type Lookup = { byName: string } | { byRegex: string } | { canReach: string } | { byDefaultRoute: true };

/** One LookupExtIface call: find the interface (and maybe its address), then the addresses. */
async function lookup(how: Lookup, host: HostInterfaces, log: Logger, publicIp?: Ipv4): Promise<ExternalInterface> {
  let iface: NetInterface | undefined;
  let address: Ipv4 | undefined;
  const all = await host.list();
  if ('byName' in how) {
    const text = how.byName;
    if (isIpv4(text)) {
      log.info(`Searching for interface using ${text}`);
      address = parseIpv4(text);
      iface = all.find((i) => i.addresses.some((a) => a.address === address));
      if (!iface) throw new Error(`error looking up interface ${text}: no interface with given IP found`);
    } else {
      iface = all.find((i) => i.name === text);
      if (!iface) throw new Error(`error looking up interface ${text}: route ip+net: no such network interface`);
    }
  } else if ('byRegex' in how) {
    let re: RegExp;
    try {
      re = compileGoRegexp(how.byRegex);
    } catch (err) {
      throw new Error(`could not compile the IP address regex '${how.byRegex}': ${(err as Error).message}`, {
        cause: err,
      });
    }
    for (const i of all) {
      const hit = usableAddresses(i).find((a) => re.test(formatIpv4(a)));
      if (hit !== undefined) {
        [iface, address] = [i, hit];
        break;
      }
    }
    iface ??= all.find((i) => re.test(i.name));
    if (!iface) {
      const available = all.map((i) => `${i.name}:[${usableAddresses(i).map(formatIpv4).join(' ')}]`);
      throw new Error(
        `could not match pattern ${how.byRegex} to any of the available network interfaces (${available.join(', ')})`,
      );
    }
  } else if ('canReach' in how) {
    log.info(`Determining interface to use based on given ifcanreach: ${how.canReach}`);
    if (!isIpv4(how.canReach))
      throw new Error(`failed to get ifcanreach based interface: couldn't lookup route to ${how.canReach}`);
    let route: { device: string; source?: Ipv4 };
    try {
      route = await host.routeGet(parseIpv4(how.canReach));
    } catch (err) {
      const reason = (err as Error).message;
      throw new Error(`failed to get ifcanreach based interface: couldn't lookup route to ${how.canReach}: ${reason}`, {
        cause: err,
      });
    }
    iface = all.find((i) => i.name === route.device);
    if (!iface) throw new Error(`failed to get ifcanreach based interface: couldn't lookup interface: ${route.device}`);
    address = route.source;
  } else {
    log.info('Determining IP address of default interface');
    const dev = await host.defaultRouteDevice();
    if (dev === undefined) throw new Error('failed to get default interface: unable to find default route');
    iface = all.find((i) => i.name === dev);
    if (!iface) throw new Error(`failed to get default interface: no interface ${dev}`);
  }
  if (address === undefined) {
    address = usableAddresses(iface)[0];
    if (address === undefined) throw new Error(`failed to find IPv4 address for interface ${iface.name}`);
  }
  log.info(`Using interface with name ${iface.name} and address ${formatIpv4(address)}`);
  if (publicIp !== undefined) log.info(`Using ${formatIpv4(publicIp)} as external address`);
  else log.info(`Defaulting external address to interface address (${formatIpv4(address)})`);
  return { name: iface.name, mtu: iface.mtu, ifaceAddress: address, publicIp: publicIp ?? address };
}

function parsePublicIp(text: string | undefined): Ipv4 | undefined {
  if (text === undefined || text === '') return undefined;
  if (!isIpv4(text)) throw new ConfigError(`invalid public IP address: ${text}`);
  return parseIpv4(text);
}

function isLinkLocal(a: Ipv4): boolean {
  return a >>> 16 === 0xa9fe; // 169.254.0.0/16
}

/** Go's IsGlobalUnicast || IsLinkLocalUnicast for IPv4: not 0/8-unspecified, loopback, multicast, broadcast. */
function isGlobalOrLinkLocal(a: Ipv4): boolean {
  const first = a >>> 24;
  return a !== 0 && first !== 127 && first < 224 && a >>> 0 !== 0xffffffff;
}
