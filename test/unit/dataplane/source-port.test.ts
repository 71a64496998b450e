// The outer UDP source port: the vxlan backend derives it from the inner flow (as the kernel's
// VXLAN device does), so one flow keeps one port in 32768..60999 and different flows spread; the
// udp backend sends everything from its bound port. Two nodes over an in-memory underlay, which
// reports the source port the receiver sees.
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import type { BackendName } from '../../../src/backend/table.js';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { MemoryTun } from '../../../src/tun/memory.js';
import { MemoryNetwork } from '../../../src/underlay/memory.js';
import { FLOW_PORT_MAX, FLOW_PORT_MIN, flowSourcePort } from '../../../src/wire/flow-hash.js';
import { icmpEcho, udpPacket } from '../../helpers/packets.js';
import { UnderlaySpy } from '../../helpers/underlay-spy.js';

function twoNodes(backendName: BackendName) {
  const backend = BACKENDS[backendName];
  const net = new MemoryNetwork();
  const specs = [
    { name: 'node1', subnet: '10.244.1.0/24', ip: '192.168.1.2', mac: '0e:00:00:00:01:01' },
    { name: 'node2', subnet: '10.244.2.0/24', ip: '192.168.1.3', mac: '0e:00:00:00:02:01' },
  ];
  const nodes = specs.map((s) => {
    const tun = new MemoryTun({ name: backend.tunName, mtu: 1450 });
    const underlay = new UnderlaySpy(net.attach(ip(s.ip), backend.defaultPort));
    const dp = new Dataplane({
      tun,
      underlay,
      backend,
      local: { name: s.name, subnet: Cidr.parse(s.subnet), publicIp: ip(s.ip), port: backend.defaultPort, vni: 1, vtepMac: parseMac(s.mac), underlayMtu: 1500 },
    });
    const delivered: Buffer[] = [];
    tun.onWrite = (pkt: Uint8Array) => delivered.push(Buffer.from(pkt));
    dp.start();
    return { ...s, tun, underlay, dp, delivered };
  });
  for (const n of nodes) {
    for (const p of nodes) {
      if (p !== n) n.dp.apply({ type: 'add-peer', peer: { name: p.name, subnet: Cidr.parse(p.subnet), publicIp: ip(p.ip), port: backend.defaultPort, vtepMac: parseMac(p.mac) } });
    }
    n.dp.applyPending();
  }
  const settle = (): void => {
    for (let round = 0; round < 20; round++) {
      let moved = 0;
      for (const n of nodes) moved += n.tun.deliverPending();
      moved += net.deliverAll();
      if (moved === 0) return;
    }
    throw new Error('did not settle');
  };
  return { nodes: nodes as [(typeof nodes)[0], (typeof nodes)[0]], settle };
}

const payload = Buffer.from('a datagram between two pods');

describe('outer UDP source port, vxlan backend', () => {
  it('one flow keeps one port, computed from the inner packet, in 32768..60999', () => {
    const { nodes, settle } = twoNodes('vxlan');
    const [n1, n2] = nodes;
    const flowA = udpPacket('10.244.1.2', '10.244.2.3', 40001, 53, payload);
    const flowB = udpPacket('10.244.1.2', '10.244.2.3', 40002, 53, payload);
    for (let i = 0; i < 10; i++) {
      n1.tun.inject(flowA);
      n1.tun.inject(flowB);
    }
    settle();
    expect(n2.delivered).toHaveLength(20); // the receiver does not care about the source port
    expect(n2.dp.counters.totalDrops()).toBe(0);
    const portA = flowSourcePort(flowA, 0, flowA.length);
    const portB = flowSourcePort(flowB, 0, flowB.length);
    expect(portA).not.toBe(portB);
    expect(n2.underlay.seen).toEqual(Array.from({ length: 10 }, () => [portA, portB]).flat());
    for (const p of [portA, portB]) {
      expect(p).toBeGreaterThanOrEqual(FLOW_PORT_MIN);
      expect(p).toBeLessThan(FLOW_PORT_MAX);
      expect(p).toBeLessThanOrEqual(60999);
    }
  });

  it('different flows spread over many ports; the TTL hop does not change a flow\'s port', () => {
    const { nodes, settle } = twoNodes('vxlan');
    const [n1, n2] = nodes;
    for (let sport = 1000; sport < 1100; sport++) n1.tun.inject(udpPacket('10.244.1.2', '10.244.2.3', sport, 80, payload));
    for (let seq = 0; seq < 5; seq++) n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.9', seq)); // one ICMP "flow"
    settle();
    expect(n2.delivered).toHaveLength(105);
    const udpPorts = n2.underlay.seen.slice(0, 100);
    expect(new Set(udpPorts).size).toBeGreaterThan(90); // 100 flows into 28232 ports: few collisions
    expect(Math.min(...udpPorts)).toBeGreaterThanOrEqual(32768);
    expect(Math.max(...udpPorts)).toBeLessThanOrEqual(60999);
    expect(new Set(n2.underlay.seen.slice(100)).size).toBe(1);
    // and the reply direction (node2 → node1) is hashed on its own packets
    n2.tun.inject(udpPacket('10.244.2.3', '10.244.1.2', 80, 1000, payload));
    settle();
    expect(n1.delivered).toHaveLength(1);
    const reply = udpPacket('10.244.2.3', '10.244.1.2', 80, 1000, payload);
    expect(n1.underlay.seen).toEqual([flowSourcePort(reply, 0, reply.length)]);
  });
});

describe('outer UDP source port, udp backend', () => {
  it('every datagram leaves from the bound port 8285, whatever the flow', () => {
    const { nodes, settle } = twoNodes('udp');
    const [n1, n2] = nodes;
    for (let sport = 1000; sport < 1020; sport++) n1.tun.inject(udpPacket('10.244.1.2', '10.244.2.3', sport, 80, payload));
    settle();
    expect(n2.delivered).toHaveLength(20);
    expect(n2.underlay.seen).toEqual(Array.from({ length: 20 }, () => 8285));
  });
});
