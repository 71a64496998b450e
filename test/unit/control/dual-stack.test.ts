// flannel's dual stack in the control layer: net-conf.json's EnableIPv4/EnableIPv6, IPv6Network,
// IPv6SubnetLen, IPv6SubnetMin/Max with flannel's defaults (pkg/subnet/config.go) and its errors;
// the "&<v6>-<len>" subnet key; PublicIPv6 and BackendV6Data in lease values; FLANNEL_IPV6_* in
// subnet.env; the static cluster file's ipv6Network/ipv6Subnet/publicIpv6; per-node IPv6 subnets
// acquired through the etcd membership (in-memory etcd on a virtual clock).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { Cidr6, formatIpv6, parseIpv6 } from '../../../src/addr/ipv6.js';
import { Cidr } from '../../../src/addr/ipv4.js';
import { parseClusterFile } from '../../../src/control/cluster-file.js';
import { createEtcdMembership } from '../../../src/control/etcd.js';
import {
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  formatNetworkConfig,
  formatSubnetKey,
  parseSubnetKey,
  parseSubnetKeys,
} from '../../../src/control/flannel-format.js';
import { MemoryEtcd } from '../../../src/control/memory-registry.js';
import { parseNetConf } from '../../../src/control/net-conf.js';
import { storeNetworkConfig } from '../../../src/control/network-init.js';
import { formatSubnetEnv, parseSubnetEnv, writeSubnetEnv } from '../../../src/control/subnet-env.js';
import { freeSubnets6 } from '../../../src/control/subnet-alloc.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { ConfigError } from '../../../src/util/errors.js';
import { seededRng } from '../../../src/util/rng.js';

// flannel's Documentation/configuration.md, "Dual-stack" example
const DUAL_STACK_DOC = `{
  "EnableIPv6": true,
  "Network": "10.244.0.0/16",
  "IPv6Network": "2001:cafe:42:0::/56",
  "Backend": { "Type": "vxlan" }
}`;

const conf = (extra: Record<string, unknown>): string =>
  JSON.stringify({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', ...extra });

describe('net-conf.json dual stack', () => {
  it("fills flannel's IPv6 defaults: /64 subnets, the first one skipped, the last one the network's last", () => {
    const c = parseNetConf(DUAL_STACK_DOC, 'net-conf.json').config;
    expect(c.ipv6!.network.toString()).toBe('2001:cafe:42::/56');
    expect(c.ipv6!.subnetLen).toBe(64);
    expect(formatIpv6(c.ipv6!.subnetMin)).toBe('2001:cafe:42:1::');
    expect(formatIpv6(c.ipv6!.subnetMax)).toBe('2001:cafe:42:ff::');
    // a network smaller than /62 is split in four, as for IPv4
    const small = parseNetConf(conf({ IPv6Network: 'fc00::/100' }), 'x').config.ipv6!;
    expect(small.subnetLen).toBe(102);
    // IPv6Network without EnableIPv6 is ignored, as flannel does
    expect(parseNetConf('{"Network":"10.244.0.0/16","IPv6Network":"fc00::/48"}', 'x').config.ipv6).toBeUndefined();
    const explicit = parseNetConf(
      conf({ IPv6SubnetLen: 80, IPv6SubnetMin: 'fc00:0:0:5::', IPv6SubnetMax: 'fc00:0:0:9::' }),
      'x',
    ).config.ipv6!;
    expect([explicit.subnetLen, formatIpv6(explicit.subnetMin), formatIpv6(explicit.subnetMax)]).toEqual([
      80,
      'fc00:0:0:5::',
      'fc00:0:0:9::',
    ]);
  });

  it("refuses flannel's bad IPv6 values with a message naming the file and the key", () => {
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ IPv6Network: undefined }, 'IPv6Network'],
      [{ IPv6Network: 'fc00::zz/48' }, 'IPv6Network'],
      [{ IPv6Network: 42 }, 'IPv6Network must be a string'],
      [{ IPv6SubnetLen: 127 }, 'IPv6SubnetLen must be less than /127'],
      [{ IPv6SubnetLen: 49 }, 'at least four /49 subnets'],
      [{ IPv6Network: 'fc00::/125' }, 'the smallest useful network is a /124'],
      [{ IPv6SubnetMin: 'fd00::' }, 'IPv6SubnetMin fd00:: is not in the range of the IPv6Network'],
      [{ IPv6SubnetMax: 'fc00:0:0:1::8' }, 'IPv6SubnetMax fc00:0:0:1::8 is not on a /64 boundary'],
      [{ EnableIPv6: 'yes' }, 'EnableIPv6 must be true or false'],
      [{ EnableIPv4: false }, 'EnableIPv4 false (IPv6-only) is not supported'],
    ];
    for (const [extra, message] of refused) {
      const text = conf(extra);
      expect(() => parseNetConf(text, 'net-conf.json'), text).toThrow(ConfigError);
      expect(() => parseNetConf(text, 'net-conf.json'), text).toThrow(`net-conf.json: bad flannel network config:`);
      expect(() => parseNetConf(text, 'net-conf.json'), text).toThrow(message);
    }
  });

  it('network init writes EnableIPv6/IPv6Network that parse back', () => {
    const text = formatNetworkConfig({
      network: Cidr.parse('10.244.0.0/16'),
      backend: 'vxlan',
      ipv6: { network: Cidr6.parse('fc00::/48') },
    });
    expect(JSON.parse(text)).toMatchObject({ EnableIPv6: true, IPv6Network: 'fc00::/48' });
    expect(parseNetConf(text, 'x').config.ipv6!.subnetLen).toBe(64);
  });
});

describe("flannel's dual-stack keys and lease values", () => {
  it('formats and parses "<v4>-<len>&<v6>-<len>" as MakeSubnetKey/ParseSubnetKey', () => {
    const key = formatSubnetKey(Cidr.parse('10.244.1.0/24'), Cidr6.parse('fc00:0:0:1::/64'));
    expect(key).toBe('10.244.1.0-24&fc00:0:0:1::-64');
    const both = parseSubnetKeys(`/coreos.com/network/subnets/${key}`);
    expect(both.ok && [both.value.subnet.toString(), both.value.subnet6?.toString()]).toEqual([
      '10.244.1.0/24',
      'fc00:0:0:1::/64',
    ]);
    expect(parseSubnetKey(key).ok && parseSubnetKey(key)).toMatchObject({ ok: true });
    expect(parseSubnetKeys('10.244.1.0-24&fc00::1-64').ok).toBe(false); // host bits set
    expect(parseSubnetKeys('10.244.1.0-24&fc00::-129').ok).toBe(false);
    const plain = parseSubnetKeys('10.244.1.0-24');
    expect(plain.ok && plain.value.subnet6).toBeUndefined();
  });

  it('writes PublicIPv6 and BackendV6Data as flannel marshals LeaseAttrs, and reads them back', () => {
    const mac = Buffer.from([0x0e, 0, 0, 0, 1, 1]);
    const text = encodeLeaseAttrs({
      publicIp: parseIpv4('192.168.1.2'),
      backendType: 'vxlan',
      vni: 1,
      vtepMac: mac,
      publicIpv6: parseIpv6('fd00::2'),
      vniV6: 1,
      vtepMacV6: mac,
    });
    expect(text).toBe(
      '{"PublicIP":"192.168.1.2","PublicIPv6":"fd00::2","BackendType":"vxlan",' +
        '"BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:01:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"0e:00:00:00:01:01"}}',
    );
    const back = decodeLeaseAttrs(text);
    expect(back.ok && formatIpv6(back.value.publicIpv6!)).toBe('fd00::2');
    expect(back.ok && back.value.vtepMacV6?.equals(mac)).toBe(true);
    // an IPv4-only lease still writes PublicIPv6 null, as flannel's nil pointer
    expect(encodeLeaseAttrs({ publicIp: parseIpv4('192.168.1.2'), backendType: 'udp' })).toBe(
      '{"PublicIP":"192.168.1.2","PublicIPv6":null,"BackendType":"udp"}',
    );
    expect(decodeLeaseAttrs('{"PublicIP":"1.2.3.4","PublicIPv6":"nope","BackendType":"udp"}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('PublicIPv6') as string,
    });
  });
});

describe('subnet.env dual stack', () => {
  it("writes FLANNEL_IPV6_NETWORK/FLANNEL_IPV6_SUBNET in flannel's order and reads them back", () => {
    const env = {
      network: Cidr.parse('10.244.0.0/16'),
      subnet: Cidr.parse('10.244.1.0/24'),
      mtu: 1450,
      ipMasq: false,
      network6: Cidr6.parse('fc00::/48'),
      subnet6: Cidr6.parse('fc00:0:0:1::/64'),
    };
    const text = formatSubnetEnv(env);
    expect(text).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n' +
        'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64\n' +
        'FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
    );
    const back = parseSubnetEnv(text);
    expect([back.network6?.toString(), back.subnet6?.toString()]).toEqual(['fc00::/48', 'fc00:0:0:1::/64']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ipv6-env-'));
    try {
      writeSubnetEnv(path.join(dir, 'subnet.env'), env);
      expect(fs.readFileSync(path.join(dir, 'subnet.env'), 'utf8')).toBe(text);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('static cluster file dual stack', () => {
  const file = (nodes: string, top = 'ipv6Network: fc00::/48\n'): string =>
    `network: 10.244.0.0/16\n${top}backend: { type: vxlan }\nnodes:\n${nodes}`;

  it('reads ipv6Network, each node’s ipv6Subnet and publicIpv6', () => {
    const c = parseClusterFile(
      file(
        '  - { name: a, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, ipv6Subnet: "fc00:0:0:1::/64", publicIpv6: "fd00::2" }\n' +
          '  - { name: b, publicIp: 192.168.1.3, subnet: 10.244.2.0/24, ipv6Subnet: "fc00:0:0:2::/64" }\n',
      ),
    );
    expect(c.network6?.toString()).toBe('fc00::/48');
    expect(c.nodes.map((n) => n.subnet6?.toString())).toEqual(['fc00:0:0:1::/64', 'fc00:0:0:2::/64']);
    expect(formatIpv6(c.nodes[0].publicIpv6!)).toBe('fd00::2');
  });

  it('refuses a missing, outside or overlapping ipv6Subnet with file:line', () => {
    const a = '  - { name: a, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, ipv6Subnet: "fc00:0:0:1::/64" }\n';
    expect(() =>
      parseClusterFile(file(a + '  - { name: b, publicIp: 192.168.1.3, subnet: 10.244.2.0/24 }\n'), 'c.yaml'),
    ).toThrow('c.yaml:6: nodes[1].ipv6Subnet is missing (the file has ipv6Network fc00::/48)');
    expect(() =>
      parseClusterFile(
        file('  - { name: a, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, ipv6Subnet: "fd00::/64" }\n'),
        'c.yaml',
      ),
    ).toThrow('c.yaml:5: nodes[0].ipv6Subnet fd00::/64 is outside ipv6Network fc00::/48');
    expect(() =>
      parseClusterFile(
        file(a + '  - { name: b, publicIp: 192.168.1.3, subnet: 10.244.2.0/24, ipv6Subnet: "fc00:0:0:1::/80" }\n'),
        'c.yaml',
      ),
    ).toThrow('overlaps nodes[0].ipv6Subnet fc00:0:0:1::/64');
    expect(() => parseClusterFile(file(a, ''), 'c.yaml')).toThrow('nodes[0].ipv6Subnet needs ipv6Network');
  });
});

describe('etcd membership dual stack (in-memory etcd)', () => {
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('leases an IPv4 and an IPv6 subnet per node under one dual-stack key, and tells peers both', async () => {
    const clock = new VirtualClock();
    const etcd = new MemoryEtcd(clock);
    await storeNetworkConfig(etcd.connect('/coreos.com/network'), DUAL_STACK_DOC, true);
    const logger = pino({ level: 'silent' });
    const join = async (ip: string, ip6: string, seed: number) => {
      const events: unknown[] = [];
      const m = createEtcdMembership({
        registry: etcd.connect('/coreos.com/network'),
        publicIp: parseIpv4(ip),
        publicIpv6: parseIpv6(ip6),
        logger,
        clock,
        rng: seededRng(seed),
        leaseTtlSeconds: 30,
      });
      const lease = await m.start((e) => events.push(e));
      await settle();
      return { m, lease, events };
    };
    const a = await join('192.168.1.2', 'fd00::2', 1);
    const b = await join('192.168.1.3', 'fd00::3', 2);
    expect(a.lease.subnet6?.prefix).toBe(64);
    expect(a.lease.network6?.toString()).toBe('2001:cafe:42::/56');
    expect(a.lease.subnet6!.equals(b.lease.subnet6!)).toBe(false);
    const keys = etcd
      .list('/coreos.com/network/subnets/')
      .kvs.map((kv) => kv.key.slice('/coreos.com/network/subnets/'.length))
      .sort();
    expect(keys).toEqual([a, b].map((x) => formatSubnetKey(x.lease.subnet, x.lease.subnet6)).sort());
    const value = JSON.parse(etcd.get(`/coreos.com/network/subnets/${keys[0]}`)!.value) as Record<string, unknown>;
    expect(value).toMatchObject({ BackendType: 'vxlan', BackendV6Data: { VNI: 1 } });
    await settle();
    const peerOfA = a.m.peers()[0];
    expect(peerOfA.subnet6?.toString()).toBe(b.lease.subnet6!.toString());
    expect(formatIpv6(peerOfA.publicIpv6!)).toBe('fd00::3');
    await a.m.stop();
    await b.m.stop();
  });

  it('the IPv6 walk skips taken subnets and stops at IPv6SubnetMax', () => {
    const cfg = parseNetConf(conf({ IPv6Network: 'fc00::/62' }), 'x').config.ipv6!;
    expect(cfg.subnetLen).toBe(64);
    const free = freeSubnets6(cfg, [Cidr6.parse('fc00:0:0:2::/64')]);
    expect(free.map(String)).toEqual(['fc00:0:0:1::/64', 'fc00:0:0:3::/64']); // :0 is skipped, :2 taken
  });
});
