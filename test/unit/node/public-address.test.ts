// flanneld's external interface selection (src/node/public-address.ts) on an injected interface
// list: --iface by name and by address (repeatable, first match wins), --iface-regex (addresses
// first, then names; repeatable; checked after --iface), --iface-can-reach (the route's device and
// source), --public-ip, the default-route interface, flannel's address preference and its messages.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../../../src/addr/ipv4.js';
import {
  selectExternalInterface,
  usableAddresses,
  type AddressSelection,
  type HostInterfaces,
  type NetInterface,
} from '../../../src/node/public-address.js';
import { ConfigError, InterfaceSelectionError } from '../../../src/util/errors.js';

const a = (text: string, extra: { dynamic?: boolean; deprecated?: boolean } = {}) => ({
  address: parseIpv4(text),
  ...extra,
});

const IFACES: NetInterface[] = [
  { name: 'lo', mtu: 65536, addresses: [a('127.0.0.1')] },
  { name: 'eth0', mtu: 1500, addresses: [a('192.168.1.2')] },
  { name: 'eth1', mtu: 9000, addresses: [a('169.254.3.3'), a('10.0.5.2', { dynamic: true }), a('10.0.6.2')] },
  { name: 'wg0', mtu: 1420, addresses: [] },
];

function host(over: Partial<HostInterfaces> = {}): HostInterfaces {
  return {
    list: () => Promise.resolve(IFACES),
    defaultRouteDevice: () => Promise.resolve('eth0'),
    routeGet: (addr) =>
      formatIpv4(addr).startsWith('10.0.')
        ? Promise.resolve({ device: 'eth1', source: parseIpv4('10.0.5.2') })
        : Promise.reject(new Error('network is unreachable')),
    ...over,
  };
}

function pick(sel: Partial<AddressSelection>, h = host()) {
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void logs.push((JSON.parse(l) as { msg: string }).msg) });
  const run = selectExternalInterface({ iface: [], ifaceRegex: [], ...sel }, h, log).then((e) => ({
    name: e.name,
    mtu: e.mtu,
    iface: formatIpv4(e.ifaceAddress),
    publicIp: formatIpv4(e.publicIp),
  }));
  return { run, logs };
}

describe('public address selection as flanneld does it', () => {
  it('nothing given: the default-route interface and its first address', async () => {
    const { run, logs } = pick({});
    expect(await run).toEqual({ name: 'eth0', mtu: 1500, iface: '192.168.1.2', publicIp: '192.168.1.2' });
    expect(logs).toEqual([
      'Determining IP address of default interface',
      'Using interface with name eth0 and address 192.168.1.2',
      'Defaulting external address to interface address (192.168.1.2)',
    ]);
  });

  it('no default route: "Failed to find any valid interface to use: failed to get default interface: …"', async () => {
    const { run } = pick({}, host({ defaultRouteDevice: () => Promise.resolve(undefined) }));
    await expect(run).rejects.toThrow(
      new InterfaceSelectionError(
        'Failed to find any valid interface to use: failed to get default interface: unable to find default route',
      ),
    );
    await expect(run).rejects.toMatchObject({ name: 'InterfaceSelectionError', code: 'ENOIFACE' });
  });

  it('--public-ip alone: the interface holding it; an address no interface holds is refused', async () => {
    expect(await pick({ publicIp: '10.0.6.2' }).run).toMatchObject({ name: 'eth1', iface: '10.0.6.2' });
    await expect(pick({ publicIp: '10.9.9.9' }).run).rejects.toThrow(
      'Failed to find any valid interface to use: error looking up interface 10.9.9.9: no interface with given IP found',
    );
    await expect(pick({ publicIp: 'ten' }).run).rejects.toThrow(ConfigError);
  });

  it('--iface by name: its preferred address (global before link-local, permanent before dynamic)', async () => {
    expect(await pick({ iface: ['eth1'] }).run).toEqual({
      name: 'eth1',
      mtu: 9000,
      iface: '10.0.6.2',
      publicIp: '10.0.6.2',
    });
    expect(usableAddresses(IFACES[2]).map(formatIpv4)).toEqual(['10.0.6.2', '10.0.5.2', '169.254.3.3']);
    expect(usableAddresses(IFACES[0])).toEqual([]); // loopback is no candidate
  });

  it('--iface by address: that address; --public-ip still wins as the external address', async () => {
    expect(await pick({ iface: ['10.0.5.2'] }).run).toMatchObject({ name: 'eth1', iface: '10.0.5.2' });
    const { run, logs } = pick({ iface: ['10.0.5.2'], publicIp: '203.0.113.7' });
    expect(await run).toMatchObject({ iface: '10.0.5.2', publicIp: '203.0.113.7' });
    expect(logs).toContain('Using 203.0.113.7 as external address');
  });

  it('--iface repeated: each in order, a miss logged as flannel logs it, the first match wins', async () => {
    const { run, logs } = pick({ iface: ['eth7', '10.1.1.1', 'eth1', 'eth0'] });
    expect(await run).toMatchObject({ name: 'eth1' });
    expect(logs).toContain(
      'Could not find valid interface matching eth7: error looking up interface eth7: route ip+net: no such network interface',
    );
    expect(logs).toContain(
      'Could not find valid interface matching 10.1.1.1: error looking up interface 10.1.1.1: no interface with given IP found',
    );
  });

  it('an interface without an IPv4 address is no match', async () => {
    const { run, logs } = pick({ iface: ['wg0'] });
    await expect(run).rejects.toThrow(
      'Failed to find interface to use that matches the interfaces and/or regexes provided',
    );
    expect(logs).toContain(
      'Could not find valid interface matching wg0: failed to find IPv4 address for interface wg0',
    );
  });

  it('--iface-regex: addresses first (the matched address is used), then names', async () => {
    expect(await pick({ ifaceRegex: ['^10\\.0\\.5\\.'] }).run).toMatchObject({ name: 'eth1', iface: '10.0.5.2' });
    expect(await pick({ ifaceRegex: ['^eth[0-9]$'] }).run).toMatchObject({ name: 'eth0', iface: '192.168.1.2' });
    // "1" is in eth0's address (192.168.1.2) before any name: the address match wins
    expect(await pick({ ifaceRegex: ['1'] }).run).toMatchObject({ name: 'eth0' });
  });

  it('--iface-regex after --iface, repeatable; no match names every interface as flannel does', async () => {
    expect(await pick({ iface: ['eth9'], ifaceRegex: ['^nope', 'eth1'] }).run).toMatchObject({ name: 'eth1' });
    const { run, logs } = pick({ ifaceRegex: ['^nope$', '('] });
    await expect(run).rejects.toThrow(InterfaceSelectionError);
    expect(logs).toContain(
      'Could not find valid interface matching ^nope$: could not match pattern ^nope$ to any of the available ' +
        'network interfaces (lo:[], eth0:[192.168.1.2], eth1:[10.0.6.2 10.0.5.2 169.254.3.3], wg0:[])',
    );
    expect(logs).toContain(
      "Could not find valid interface matching (: could not compile the IP address regex '(': " +
        'error parsing regexp: missing closing ): `(`',
    );
  });

  it('--iface-regex is Go syntax: (?P<name>…), \\A…\\z and POSIX classes work; lookahead is refused as Go does', async () => {
    const named = pick({ ifaceRegex: ['\\A(?P<net>10)\\.0\\.5\\.[[:digit:]]+\\z'] });
    expect(await named.run).toMatchObject({ name: 'eth1', iface: '10.0.5.2' });
    const { run, logs } = pick({ ifaceRegex: ['eth(?=1)'] });
    await expect(run).rejects.toThrow(InterfaceSelectionError);
    expect(logs).toContain(
      "Could not find valid interface matching eth(?=1): could not compile the IP address regex 'eth(?=1)': " +
        'error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    );
  });

  it("--iface-can-reach: the route's device and its source address, checked last", async () => {
    const { run, logs } = pick({ ifaceCanReach: '10.0.99.1' });
    expect(await run).toEqual({ name: 'eth1', mtu: 9000, iface: '10.0.5.2', publicIp: '10.0.5.2' });
    expect(logs[0]).toBe('Determining interface to use based on given ifcanreach: 10.0.99.1');
    expect(await pick({ iface: ['eth0'], ifaceCanReach: '10.0.99.1' }).run).toMatchObject({ name: 'eth0' });
    const miss = pick({ ifaceCanReach: '198.51.100.1' });
    await expect(miss.run).rejects.toThrow(InterfaceSelectionError);
    expect(miss.logs).toContain(
      'Could not find valid interface matching ifaceCanReach: 198.51.100.1: failed to get ifcanreach based ' +
        "interface: couldn't lookup route to 198.51.100.1: network is unreachable",
    );
  });
});
