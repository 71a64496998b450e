// A simulated cluster of three nodes over in-memory devices and an in-memory underlay: pods on
// different nodes exchange ICMP echo and UDP, both backends; bad datagrams and bad packets end in
// the right drop counter, with an ICMP error back to the sender where one is due.
import { describe, expect, it } from 'vitest';
import { Cidr, formatIpv4, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import type { BackendName } from '../../../src/backend/table.js';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { MemoryTun } from '../../../src/tun/memory.js';
import { MemoryNetwork, type MemoryUnderlay } from '../../../src/underlay/memory.js';
import { VirtualClock } from '../../../src/util/clock.js';
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_NET,
  icmpChecksumOk,
  icmpNextHopMtu,
} from '../../../src/wire/icmp.js';
import { ipv4Dst, ipv4Protocol, ipv4Src, ipv4Ttl, IPPROTO_ICMP, IPPROTO_UDP, ipv4HeaderChecksumOk } from '../../../src/wire/ipv4.js';
import { writeVxlanHeader } from '../../../src/wire/vxlan.js';
import { icmpEcho, udpPacket } from '../../helpers/packets.js';

interface SimNode {
  name: string;
  subnet: Cidr;
  publicIp: number;
  mac: Buffer;
  tun: MemoryTun;
  underlay: MemoryUnderlay;
  dp: Dataplane;
  /** Packets the node's TUN device handed to the "kernel" (delivered to local pods), in order. */
  delivered: Buffer[];
}

const SPECS = [
  { name: 'node1', subnet: '10.244.1.0/24', ip: '192.168.1.2', mac: '0e:00:00:00:01:01' },
  { name: 'node2', subnet: '10.244.2.0/24', ip: '192.168.1.3', mac: '0e:00:00:00:02:01' },
  { name: 'node3', subnet: '10.244.3.0/24', ip: '192.168.1.4', mac: '0e:00:00:00:03:01' },
];

function buildCluster(backendName: BackendName) {
  const backend = BACKENDS[backendName];
  const clock = new VirtualClock();
  const net = new MemoryNetwork();
  const nodes: SimNode[] = SPECS.map((s) => {
    // TUN MTU above the path MTU, as a user's --mtu mistake would make it, so the data path's own
    // MTU check is exercised.
    const tun = new MemoryTun({ name: backend.tunName, mtu: 9000 });
    const underlay = net.attach(ip(s.ip), backend.defaultPort);
    const mac = parseMac(s.mac);
    const dp = new Dataplane({
      tun,
      underlay,
      backend,
      now: () => clock.now(),
      local: { name: s.name, subnet: Cidr.parse(s.subnet), publicIp: ip(s.ip), port: backend.defaultPort, vni: 1, vtepMac: mac, underlayMtu: 1500 },
    });
    const node: SimNode = { name: s.name, subnet: Cidr.parse(s.subnet), publicIp: ip(s.ip), mac, tun, underlay, dp, delivered: [] };
    tun.onWrite = (pkt: Uint8Array) => node.delivered.push(Buffer.from(pkt));
    dp.start();
    return node;
  });
  for (const n of nodes) {
    for (const p of nodes) {
      if (p === n) continue;
      n.dp.apply({ type: 'add-peer', peer: { name: p.name, subnet: p.subnet, publicIp: p.publicIp, port: backend.defaultPort, vtepMac: p.mac } });
    }
    n.dp.applyPending();
  }
  /** Moves every queued packet until the cluster is quiet. */
  const settle = (): void => {
    for (let round = 0; round < 100; round++) {
      let moved = 0;
      for (const n of nodes) moved += n.tun.deliverPending();
      moved += net.deliverAll();
      if (moved === 0) return;
    }
    throw new Error('cluster did not settle');
  };
  return { nodes, net, settle, backend, clock };
}

/** The pods' kernel: answers echo requests delivered to a node, as a pod would. */
function answerEchoes(node: SimNode): number {
  let answered = 0;
  for (const pkt of node.delivered.splice(0)) {
    if (ipv4Protocol(pkt, 0) !== IPPROTO_ICMP || pkt[20] !== ICMP_ECHO_REQUEST) continue;
    const reply = icmpEcho(formatIpv4(ipv4Dst(pkt, 0)), formatIpv4(ipv4Src(pkt, 0)), pkt.readUInt16BE(26), pkt.length - 28, { type: ICMP_ECHO_REPLY });
    node.tun.inject(reply);
    answered++;
  }
  return answered;
}

describe.each(['vxlan', 'udp'] as const)('three simulated nodes, %s backend', (backendName) => {
  it('pods on different nodes ping each other; the receiver sees the sender\'s own pod IP', () => {
    const { nodes, settle } = buildCluster(backendName);
    const [n1, n2, n3] = nodes as [SimNode, SimNode, SimNode];
    for (let seq = 1; seq <= 5; seq++) n1.tun.inject(icmpEcho('10.244.1.2', '10.244.3.7', seq));
    n2.tun.inject(icmpEcho('10.244.2.5', '10.244.1.2', 99));
    settle();
    const atN3 = n3.delivered.slice();
    expect(atN3).toHaveLength(5);
    for (const p of atN3) {
      expect(formatIpv4(ipv4Src(p, 0))).toBe('10.244.1.2'); // no NAT
      expect(formatIpv4(ipv4Dst(p, 0))).toBe('10.244.3.7');
      expect(ipv4HeaderChecksumOk(p, 0)).toBe(true);
      expect(ipv4Ttl(p, 0)).toBe(63); // one router hop
    }
    expect(answerEchoes(n3)).toBe(5);
    expect(answerEchoes(n1)).toBe(1); // the echo from node2's pod
    settle();
    const replies = n1.delivered.filter((p) => p[20] === ICMP_ECHO_REPLY);
    expect(replies.map((p) => p.readUInt16BE(26))).toEqual([1, 2, 3, 4, 5]);
    for (const p of replies) expect(icmpChecksumOk(p, 20, p.length - 20)).toBe(true);
    expect(n2.delivered.filter((p) => p[20] === ICMP_ECHO_REPLY)).toHaveLength(1);
    for (const n of nodes) expect(n.dp.counters.totalDrops()).toBe(0);
    const toN3 = n1.dp.peers().find((p) => p.name === 'node3')!;
    expect(toN3.counters.txPackets).toBe(5);
    expect(toN3.counters.rxPackets).toBe(5);
    expect(toN3.counters.txBytes).toBe(5 * 84);
  });

  it('carries UDP between pods byte for byte', () => {
    const { nodes, settle } = buildCluster(backendName);
    const [n1, n2] = nodes as [SimNode, SimNode];
    const payload = Buffer.from('hello from a pod on node2'.repeat(40));
    n2.tun.inject(udpPacket('10.244.2.9', '10.244.1.3', 40000, 5353, payload));
    settle();
    expect(n1.delivered).toHaveLength(1);
    const got = n1.delivered[0]!;
    expect(ipv4Protocol(got, 0)).toBe(IPPROTO_UDP);
    expect(got.subarray(28)).toEqual(payload);
    expect(n1.dp.counters.rxBytes).toBe(got.length);
  });

  it('drops a spoofed inner source at the receiver', () => {
    const { nodes, settle } = buildCluster(backendName);
    const [n1, n2] = nodes as [SimNode, SimNode];
    n1.tun.inject(icmpEcho('10.244.3.66', '10.244.2.2', 1)); // node3's range, sent by node1
    settle();
    expect(n2.delivered).toHaveLength(0);
    expect(n2.dp.counters.dropCount('spoofed-source')).toBe(1);
  });

  it('accepts a peer node\'s own public IP as inner source (a node answering a pod over the overlay)', () => {
    const { nodes, settle } = buildCluster(backendName);
    const [n1, n2] = nodes as [SimNode, SimNode];
    n1.tun.inject(icmpEcho('192.168.1.2', '10.244.2.2', 1)); // node1's public IP
    n1.tun.inject(icmpEcho('192.168.1.3', '10.244.2.2', 2)); // node2's public IP, sent by node1: spoofed
    settle();
    expect(n2.delivered).toHaveLength(1);
    expect(formatIpv4(ipv4Src(n2.delivered[0]!, 0))).toBe('192.168.1.2');
    expect(n2.dp.counters.dropCount('spoofed-source')).toBe(1);
  });

  it('drops datagrams from an unknown sender and truncated datagrams', () => {
    const { nodes, net, settle, backend } = buildCluster(backendName);
    const n2 = nodes[1]!;
    const rogue = net.attach(ip('192.168.1.99'), backend.defaultPort);
    rogue.start(() => {});
    const good = icmpEcho('10.244.1.2', '10.244.2.2', 1);
    const dgram = Buffer.alloc(64 + good.length);
    dgram.set(good, 64);
    const start = backend.encapsulate(dgram, 64, { name: 'node2', subnet: n2.subnet, publicIp: n2.publicIp, port: backend.defaultPort, vtepMac: n2.mac }, { vni: 1, vtepMac: parseMac(SPECS[0]!.mac) });
    rogue.send(dgram, start, dgram.length - start, n2.publicIp, backend.defaultPort);
    rogue.flush();
    const n1 = nodes[0]!;
    n1.underlay.send(dgram, start, 10, n2.publicIp, backend.defaultPort); // truncated
    n1.underlay.flush();
    settle();
    expect(n2.dp.counters.dropCount('unknown-peer')).toBe(1);
    expect(n2.dp.counters.dropCount('truncated')).toBe(1);
    expect(n2.delivered).toHaveLength(0);
    // the same well-formed datagram from the real peer goes through
    n1.underlay.send(dgram, start, dgram.length - start, n2.publicIp, backend.defaultPort);
    n1.underlay.flush();
    settle();
    expect(n2.delivered).toHaveLength(1);
  });

  it('answers an unroutable destination with ICMP network unreachable', () => {
    const { nodes, settle } = buildCluster(backendName);
    const n1 = nodes[0]!;
    n1.tun.inject(icmpEcho('10.244.1.2', '10.245.0.1', 1));
    settle();
    expect(n1.dp.counters.dropCount('no-route')).toBe(1);
    expect(n1.delivered).toHaveLength(1);
    const err = n1.delivered[0]!;
    expect(formatIpv4(ipv4Dst(err, 0))).toBe('10.244.1.2');
    expect(formatIpv4(ipv4Src(err, 0))).toBe('10.244.1.0');
    expect([err[20], err[21]]).toEqual([ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET]);
    expect(icmpChecksumOk(err, 20, err.length - 20)).toBe(true);
    // never an ICMP error about an ICMP error
    n1.tun.inject(err.subarray(0));
    const errAboutErr = Buffer.from(err);
    errAboutErr.writeUInt32BE(ip('10.245.0.9'), 16); // re-address it somewhere unroutable
    errAboutErr.writeUInt16BE(0, 10);
    n1.delivered.length = 0;
    n1.tun.inject(errAboutErr);
    settle();
    expect(n1.delivered.filter((p) => p[20] === ICMP_DEST_UNREACHABLE && formatIpv4(ipv4Dst(p, 0)) === '10.244.1.0')).toHaveLength(0);
  });

  it('answers TTL expiry with time exceeded and an oversized DF packet with fragmentation needed', () => {
    const { nodes, settle, backend } = buildCluster(backendName);
    const n1 = nodes[0]!;
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 1, 56, { ttl: 1 }));
    const pathMtu = 1500 - backend.overhead;
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 2, pathMtu - 28 + 1, { df: true }));
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 3, pathMtu - 28 + 1, { df: false }));
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 4, pathMtu - 28)); // exactly fits
    settle();
    expect(n1.dp.counters.dropCount('ttl-expired')).toBe(1);
    expect(n1.dp.counters.dropCount('too-big')).toBe(2);
    const errors = n1.delivered.filter((p) => p[20] !== ICMP_ECHO_REPLY);
    expect(errors.map((p) => p[20])).toEqual([ICMP_TIME_EXCEEDED, ICMP_DEST_UNREACHABLE]);
    expect(errors[1]![21]).toBe(ICMP_UNREACH_FRAG_NEEDED);
    expect(icmpNextHopMtu(errors[1]!, 20)).toBe(pathMtu);
    expect(nodes[1]!.delivered).toHaveLength(1);
    expect(nodes[1]!.delivered[0]!.length).toBe(pathMtu);
  });

  it('follows route commands: a removed peer becomes unroutable, a re-added one works again', () => {
    const { nodes, settle, backend } = buildCluster(backendName);
    const [n1, n2] = nodes as [SimNode, SimNode];
    n1.dp.apply({ type: 'remove-peer', subnet: n2.subnet });
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 1));
    settle();
    expect(n1.dp.counters.dropCount('no-route')).toBe(1);
    n1.dp.apply({ type: 'add-peer', peer: { name: 'node2', subnet: n2.subnet, publicIp: n2.publicIp, port: backend.defaultPort, vtepMac: n2.mac } });
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 2));
    settle();
    expect(n2.delivered).toHaveLength(1);
  });

  it('never throws on garbage from the TUN device or the underlay', () => {
    const { nodes, settle, backend } = buildCluster(backendName);
    const [n1, n2] = nodes as [SimNode, SimNode];
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    for (let i = 0; i < 300; i++) {
      const junk = Buffer.alloc(1 + (rand() % 120));
      for (let j = 0; j < junk.length; j++) junk[j] = rand() & 255;
      if (i % 3 === 0) junk[0] = 0x45;
      n1.tun.inject(junk);
      n1.underlay.send(junk, 0, junk.length, n2.publicIp, backend.defaultPort);
    }
    n1.underlay.flush();
    expect(() => settle()).not.toThrow();
    expect(n1.dp.counters.totalDrops() + n2.dp.counters.totalDrops()).toBeGreaterThan(0);
  });
});

describe('vxlan-only checks', () => {
  it('drops a wrong VNI and a wrong inner destination MAC', () => {
    const { nodes, settle, backend } = buildCluster('vxlan');
    const [n1, n2] = nodes as [SimNode, SimNode];
    const inner = icmpEcho('10.244.1.2', '10.244.2.2', 1);
    const dgram = Buffer.alloc(64 + inner.length);
    dgram.set(inner, 64);
    const peer = { name: 'node2', subnet: n2.subnet, publicIp: n2.publicIp, port: 8472, vtepMac: n2.mac };
    const start = backend.encapsulate(dgram, 64, peer, { vni: 1, vtepMac: n1.mac });
    writeVxlanHeader(dgram, start, 2);
    n1.underlay.send(dgram, start, dgram.length - start, n2.publicIp, 8472);
    const start2 = backend.encapsulate(dgram, 64, { ...peer, vtepMac: parseMac('0e:ff:ff:ff:ff:ff') }, { vni: 1, vtepMac: n1.mac });
    n1.underlay.send(dgram, start2, dgram.length - start2, n2.publicIp, 8472);
    n1.underlay.flush();
    settle();
    expect(n2.dp.counters.dropCount('wrong-vni')).toBe(1);
    expect(n2.dp.counters.dropCount('wrong-inner-mac')).toBe(1);
    expect(n2.delivered).toHaveLength(0);
  });

  it('writes flannel\'s VXLAN framing: I flag, VNI, inner MACs of both VTEPs', () => {
    const { nodes } = buildCluster('vxlan');
    const [n1, n2] = nodes as [SimNode, SimNode];
    const seen: Buffer[] = [];
    const origSend = n1.underlay.send.bind(n1.underlay);
    n1.underlay.send = (buf, off, len, addr, port) => {
      seen.push(Buffer.from(buf.subarray(off, off + len)));
      return origSend(buf, off, len, addr, port);
    };
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 1));
    n1.tun.deliverPending();
    expect(seen).toHaveLength(1);
    const d = seen[0]!;
    expect(d.subarray(0, 8)).toEqual(Buffer.from([0x08, 0, 0, 0, 0, 0, 1, 0]));
    expect(d.subarray(8, 14)).toEqual(n2.mac);
    expect(d.subarray(14, 20)).toEqual(n1.mac);
    expect(d.readUInt16BE(20)).toBe(0x0800);
    expect(d.length).toBe(8 + 14 + 84);
  });
});
