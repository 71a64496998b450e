import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Cidr, formatIpv4, parseIpv4 } from '../../../src/addr/ipv4.js';
import { gatewayOf, nextFreeHost, nextFreeSubnet, podAddress, podCapacity } from '../../../src/lab/ipam.js';
import {
  IFNAME_MAX,
  hostVethName,
  labOfNetns,
  nodeNetns,
  podNetns,
  replicaName,
  templateHash,
  tunDeviceName,
  underlayNetns,
  underlayPortName,
  vtepMac,
} from '../../../src/lab/names.js';

describe('names', () => {
  it('interface names never exceed 15 characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/), fc.nat(10_000), (name, i) => {
        expect(underlayPortName(name, i).length).toBeLessThanOrEqual(IFNAME_MAX);
        expect(hostVethName(name).length).toBeLessThanOrEqual(IFNAME_MAX);
        expect(hostVethName(name, i).length).toBeLessThanOrEqual(IFNAME_MAX);
      }),
    );
    expect(underlayPortName('node1', 0)).toBe('to-node1');
    expect(underlayPortName('a-very-long-node-name', 6)).toBe('to-n7');
    expect(hostVethName('busybox')).toMatch(/^veth[0-9a-f]{8}$/);
    expect(hostVethName('busybox', 1)).not.toBe(hostVethName('busybox'));
    expect(tunDeviceName('vxlan')).toBe('flannel.1');
    expect(tunDeviceName('udp')).toBe('flannel0');
  });

  it('namespaces carry the lab prefix and map back to their lab', () => {
    expect(nodeNetns('demo', 'node1')).toBe('flt-demo-node1');
    expect(podNetns('demo', 'busybox')).toBe('flt-demo-pod-busybox');
    expect(underlayNetns('demo')).toBe('flt-demo-underlay');
    expect(labOfNetns('flt-demo-pod-busybox')).toBe('demo');
    expect(labOfNetns('flt-demo')).toBeUndefined();
    expect(labOfNetns('other-demo-node1')).toBeUndefined();
  });

  it('VTEP MACs follow the node index and stay unicast, locally administered', () => {
    expect(vtepMac(0)).toBe('0e:00:00:00:01:01');
    expect(vtepMac(1)).toBe('0e:00:00:00:02:01');
    expect(vtepMac(299)).toBe('0e:00:00:01:2c:01');
  });

  it("replica names look like a Deployment's and are stable", () => {
    const hash = templateHash('lab', 'nginx', '[]');
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{9,10}$/);
    expect(templateHash('lab', 'nginx', '[]')).toBe(hash);
    const names = Array.from({ length: 50 }, (_, i) => replicaName('lab', 'nginx', hash, i));
    for (const n of names) expect(n).toMatch(new RegExp(`^nginx-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    expect(new Set(names).size).toBe(50);
    expect(replicaName('other', 'nginx', hash, 0)).not.toBe(names[0]);
  });
});

describe('ipam', () => {
  const net = Cidr.parse('10.244.0.0/16');

  it('allocates node subnets in order, skipping the first and taken ones', () => {
    expect(nextFreeSubnet(net, 24, [])!.toString()).toBe('10.244.1.0/24');
    expect(nextFreeSubnet(net, 24, [Cidr.parse('10.244.1.0/24'), Cidr.parse('10.244.2.0/23')])!.toString()).toBe(
      '10.244.4.0/24',
    );
    const taken: Cidr[] = [];
    for (let i = 0; i < 255; i++) taken.push(nextFreeSubnet(net, 24, taken)!);
    expect(nextFreeSubnet(net, 24, taken)).toBeUndefined();
  });

  it('host-local pod addresses: gateway .1, pods .2, .3, … up to the broadcast', () => {
    const s = Cidr.parse('10.244.1.0/24');
    expect(formatIpv4(gatewayOf(s))).toBe('10.244.1.1');
    expect(formatIpv4(podAddress(s, 0)!)).toBe('10.244.1.2');
    expect(formatIpv4(podAddress(s, 1)!)).toBe('10.244.1.3');
    expect(podCapacity(s)).toBe(253);
    expect(formatIpv4(podAddress(s, 252)!)).toBe('10.244.1.254');
    expect(podAddress(s, 253)).toBeUndefined();
    expect(podCapacity(Cidr.parse('10.0.0.0/30'))).toBe(1);
  });

  it('underlay hosts start at .2 and skip taken addresses', () => {
    const u = Cidr.parse('192.168.1.0/24');
    expect(formatIpv4(nextFreeHost(u, new Set())!)).toBe('192.168.1.2');
    expect(formatIpv4(nextFreeHost(u, new Set([parseIpv4('192.168.1.2')]))!)).toBe('192.168.1.3');
    const small = Cidr.parse('192.168.1.0/30');
    expect(nextFreeHost(small, new Set([parseIpv4('192.168.1.2')]))).toBeUndefined();
  });
});
