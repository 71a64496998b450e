// src/node/rpc-handlers.ts over a real data path (in-memory TUN and underlay, the real impairment
// stage) and a fake membership and capture: the reply of each method, parameter checks with their
// one-line messages, and impairments set, partitioned, healed and cleared through the handlers.
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import type { LocalLease, MembershipStatus } from '../../../src/control/membership.js';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { tracePacket } from '../../../src/dataplane/trace.js';
import {
  rpcHandlers,
  type RpcNode,
  type StatusReply,
  type RouteReply,
  type StatsReply,
  type ImpairmentsReply,
} from '../../../src/node/rpc-handlers.js';
import { MemoryTun } from '../../../src/tun/memory.js';
import { ImpairedUnderlay } from '../../../src/impair/impair.js';
import { MemoryNetwork } from '../../../src/underlay/memory.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { ConfigError } from '../../../src/util/errors.js';
import { seededRng } from '../../../src/util/rng.js';
import { StreamReply } from '../../../src/util/rpc.js';

function makeNode() {
  const backend = BACKENDS.vxlan;
  const clock = new VirtualClock();
  const net = new MemoryNetwork();
  const mac = parseMac('0e:00:00:00:01:01');
  const lease: LocalLease = {
    subnet: Cidr.parse('10.244.1.0/24'),
    network: Cidr.parse('10.244.0.0/16'),
    backend: { type: 'vxlan', vni: 1, port: 8472 },
    publicIp: ip('192.168.1.2'),
    vtepMac: mac,
  };
  const tun = new MemoryTun({ name: 'flannel.1', mtu: 1450 });
  const impairments = new ImpairedUnderlay({ inner: net.attach(lease.publicIp, 8472), clock, rng: seededRng(1) });
  const dataplane = new Dataplane({
    tun,
    underlay: impairments,
    backend,
    now: () => clock.now(),
    local: {
      name: 'node1',
      subnet: lease.subnet,
      publicIp: lease.publicIp,
      port: 8472,
      vni: 1,
      vtepMac: mac,
      underlayMtu: 1500,
    },
  });
  dataplane.apply({
    type: 'add-peer',
    peer: {
      name: 'node2',
      subnet: Cidr.parse('10.244.2.0/24'),
      publicIp: ip('192.168.1.3'),
      port: 8472,
      vtepMac: parseMac('0e:00:00:00:02:01'),
    },
  });
  dataplane.applyPending();
  const membership: MembershipStatus = { source: 'static', state: 'running' };
  const captureStats = { files: { inner: null, outer: null }, live: [] };
  const node: RpcNode = {
    name: 'node1',
    lease,
    backend,
    tun,
    mtu: 1450,
    startedAt: 1_000_000,
    membership: { status: () => membership },
    dataplane,
    capture: {
      stats: () => captureStats,
      startLive: (params) => new StreamReply({ point: params.point ?? 'inner' }, () => {}),
    },
    impairments,
    trace: (q) => tracePacket(dataplane, dataplane.local, backend, q),
  };
  const handlers = rpcHandlers(node, { monotonic: () => 5_000, wall: () => 1_042_000, pid: 4242 });
  const call = (method: string, params: Record<string, unknown> = {}) => handlers[method](params);
  return { call, impairments, dataplane };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('rpcHandlers', () => {
  it('ping answers with the node name', () => {
    expect(makeNode().call('ping')).toEqual({ ok: true, name: 'node1' });
  });

  it('status: lease, backend, TUN, peers with "never" times, counters, uptime from the wall clock', () => {
    const s = makeNode().call('status') as StatusReply;
    expect(s).toMatchObject({
      name: 'node1',
      subnet: '10.244.1.0/24',
      network: '10.244.0.0/16',
      publicIp: '192.168.1.2',
      backend: 'vxlan',
      port: 8472,
      vni: 1,
      vtepMac: '0e:00:00:00:01:01',
      tun: 'flannel.1',
      mtu: 1450,
      pathMtu: 1450,
      membership: { source: 'static', state: 'running' },
      uptimeSeconds: 42,
      pid: 4242,
    });
    expect(s.peers).toEqual([
      {
        name: 'node2',
        publicIp: '192.168.1.3',
        subnet: '10.244.2.0/24',
        vtepMac: '0e:00:00:00:02:01',
        txPackets: 0,
        txBytes: 0,
        rxPackets: 0,
        rxBytes: 0,
        lastTxAgo: null,
        lastRxAgo: null,
      },
    ]);
    expect(s.counters.txPackets).toBe(0);
    expect(Object.keys(s.counters.drops).length).toBeGreaterThan(5);
  });

  it('routes: one entry per peer subnet, through the TUN device', () => {
    expect(makeNode().call('routes') as RouteReply[]).toEqual([
      {
        subnet: '10.244.2.0/24',
        peer: 'node2',
        publicIp: '192.168.1.3',
        port: 8472,
        vtepMac: '0e:00:00:00:02:01',
        device: 'flannel.1',
      },
    ]);
  });

  it('stats: wall-clock time, counters, peers, capture and impairment counters', () => {
    const s = makeNode().call('stats') as StatsReply;
    expect(s.at).toBe(1_042_000);
    expect(Object.keys(s)).toEqual(['at', 'counters', 'peers', 'capture', 'impairments', 'underlay', 'tunDevice']);
    expect(s.tunDevice).toBeNull(); // nor a TUN device
    expect(s.underlay).toBeNull(); // the fake node has no native socket
    expect(s.capture).toEqual({ files: { inner: null, outer: null }, live: [] });
    expect(s.impairments.total.sent).toBe(0);
  });

  it('impair: sets a default and a per-peer impairment, partitions, heals and clears', () => {
    const n = makeNode();
    let r = n.call('impair', { fields: { delay: '20ms' } }) as ImpairmentsReply;
    expect(r.default).toMatch(/delay 20ms/);
    r = n.call('impair', { to: 'node2', fields: { loss: '5%' } }) as ImpairmentsReply;
    expect(r.peers).toEqual([{ peer: 'node2', impairment: expect.stringMatching(/loss 5%/) as unknown }]);
    r = n.call('impair', { to: '192.168.1.3', partition: true }) as ImpairmentsReply;
    expect(r.partitioned).toEqual(['node2']);
    r = n.call('impair', { to: 'node2', heal: true }) as ImpairmentsReply;
    expect(r.partitioned).toEqual([]);
    r = n.call('impair', { to: 'node2', clear: true }) as ImpairmentsReply;
    expect(r.peers).toEqual([]);
    expect(r.default).toMatch(/delay 20ms/);
    r = n.call('impair', { clear: true }) as ImpairmentsReply;
    expect(r.default).toBeNull();
    expect(n.call('impairments')).toEqual(r);
  });

  it('impair: an unknown peer or no impairment at all is a ConfigError naming what was wrong', () => {
    const n = makeNode();
    const unknown = thrown(() => n.call('impair', { to: 'node9', partition: true }));
    expect(unknown).toBeInstanceOf(ConfigError);
    expect(unknown.message).toBe('--to node9: not a peer of node1 (peers: node2)');
    expect(thrown(() => n.call('impair', {})).message).toMatch(/^give impairments/);
  });

  it("trace: forwards to the peer with the data path's own answer", () => {
    const r = makeNode().call('trace', {
      from: '10.244.1.2',
      to: '10.244.2.2',
      proto: 'udp',
      port: '53',
      size: '100',
      ttl: '64',
    }) as { verdict: string };
    expect(r.verdict).toBe('forward');
  });

  it.each([
    [{ to: '10.244.2.2' }, 'missing --from'],
    [{ from: '10.244.1.2', to: '10.244.2.x' }, '--to 10.244.2.x: not an IPv4 address'],
    [{ from: '10.244.1.2', to: '10.244.2.2', proto: 'sctp' }, '--proto sctp: expected icmp, tcp or udp'],
    [{ from: '10.244.1.2', to: '10.244.2.2', port: '70000' }, '--port 70000: expected a whole number from 0 to 65535'],
    [{ from: '10.244.1.2', to: '10.244.2.2', ttl: '1.5' }, '--ttl 1.5: expected a whole number from 0 to 255'],
    [{ from: '10.244.1.2', to: '10.244.2.2', size: '19' }, '--size 19: expected a whole number from 20 to 65535'],
  ])('trace rejects %j: %s', (params, message) => {
    const err = thrown(() => makeNode().call('trace', params));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(message);
  });

  it('capture hands back the live capture stream reply', () => {
    expect(makeNode().call('capture', { point: 'outer' })).toBeInstanceOf(StreamReply);
  });
});
