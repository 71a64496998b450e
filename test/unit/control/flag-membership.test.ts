// src/control/flag-membership.ts: a fixed peer list from the command line, validated at
// construction; start() reports every peer once and returns the flags' own lease.
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import {
  createFlagMembership,
  type FlagMembershipOptions,
  type NamedPeer,
} from '../../../src/control/flag-membership.js';
import { defaultBackend, type MembershipEvent } from '../../../src/control/membership.js';
import { ConfigError } from '../../../src/util/errors.js';

const peer = (name: string, subnet: string, addr: string, mac?: string): NamedPeer => ({
  name,
  subnet: Cidr.parse(subnet),
  publicIp: ip(addr),
  vtepMac: mac ? parseMac(mac) : undefined,
});

const base: FlagMembershipOptions = {
  network: Cidr.parse('10.244.0.0/16'),
  subnet: Cidr.parse('10.244.1.0/24'),
  publicIp: ip('192.168.1.2'),
  backend: defaultBackend('vxlan'),
  vtepMac: parseMac('0e:00:00:00:01:01'),
  peers: [
    peer('node2', '10.244.2.0/24', '192.168.1.3', '0e:00:00:00:02:01'),
    peer('node3', '10.244.3.0/24', '192.168.1.4', '0e:00:00:00:03:01'),
  ],
};

describe('createFlagMembership', () => {
  it('reports each peer once on start and returns the lease from the flags', async () => {
    const m = createFlagMembership(base);
    const events: MembershipEvent[] = [];
    const lease = await m.start((e) => events.push(e));
    expect(events.map((e) => e.type === 'peer-added' && e.peer.name)).toEqual(['node2', 'node3']);
    expect(lease).toEqual({
      subnet: base.subnet,
      network: base.network,
      backend: base.backend,
      publicIp: base.publicIp,
      vtepMac: base.vtepMac,
    });
    expect(m.peers().map((p) => p.name)).toEqual(['node2', 'node3']);
    expect(m.status()).toEqual({ source: 'static', state: 'running' });
    await m.stop();
    expect(m.status().state).toBe('stopped');
  });

  it.each([
    [
      'our subnet outside the network',
      { subnet: Cidr.parse('10.245.1.0/24') },
      '--subnet 10.245.1.0/24 is outside --network 10.244.0.0/16',
    ],
    [
      'a peer outside the network',
      { peers: [peer('node2', '10.9.2.0/24', '192.168.1.3', '0e:00:00:00:02:01')] },
      '--peer node2: subnet 10.9.2.0/24 is outside --network 10.244.0.0/16',
    ],
    [
      'a peer overlapping ours',
      { peers: [peer('node2', '10.244.1.0/25', '192.168.1.3', '0e:00:00:00:02:01')] },
      '--peer node2: subnet 10.244.1.0/25 overlaps 10.244.1.0/24',
    ],
    [
      'a vxlan peer without a MAC',
      { peers: [peer('node2', '10.244.2.0/24', '192.168.1.3')] },
      "--peer node2: the vxlan backend needs the peer's VTEP MAC (mac=..)",
    ],
  ])('rejects %s', (_what, change, message) => {
    expect(() => createFlagMembership({ ...base, ...change })).toThrow(ConfigError);
    expect(() => createFlagMembership({ ...base, ...change })).toThrow(message);
  });

  it('the udp backend takes peers without MACs', () => {
    expect(() =>
      createFlagMembership({
        ...base,
        backend: defaultBackend('udp'),
        peers: [peer('node2', '10.244.2.0/24', '192.168.1.3')],
      }),
    ).not.toThrow();
  });
});
