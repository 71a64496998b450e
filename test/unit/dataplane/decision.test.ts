// The data path's decisions on their own (dataplane/decision.ts): they read the packet and never
// change it, reuse one result object, and name every drop; applyForward makes the edits a send
// implies. Dataplane and trace are tested over them in simulation.test.ts and trace.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { DROP_REASONS, newPeerCounters } from '../../../src/dataplane/counters.js';
import {
  applyForward,
  decideDeliver,
  decideForward,
  DeliverDecision,
  ForwardDecision,
  NO_DROP,
  NO_ICMP,
  type DeliverPolicy,
  type ForwardPolicy,
} from '../../../src/dataplane/decision.js';
import type { Peer } from '../../../src/dataplane/peer.js';
import { RouteTable } from '../../../src/route/table.js';
import { PACKET_HEADROOM } from '../../../src/util/buffers.js';
import { flowSourcePort } from '../../../src/wire/flow-hash.js';
import { ICMP_DEST_UNREACHABLE, ICMP_TIME_EXCEEDED, ICMP_UNREACH_FRAG_NEEDED } from '../../../src/wire/icmp.js';
import { ipv4Ttl } from '../../../src/wire/ipv4.js';
import { icmpEcho, udpPacket } from '../../helpers/packets.js';

const MAC1 = parseMac('0e:00:00:00:01:01');
const MAC2 = parseMac('0e:00:00:00:02:01');
const node2: Peer = { name: 'node2', subnet: Cidr.parse('10.244.2.0/24'), publicIp: ip('192.168.1.3'), port: 8472, vtepMac: MAC2, counters: newPeerCounters() };
const node1: Peer = { name: 'node1', subnet: Cidr.parse('10.244.1.0/24'), publicIp: ip('192.168.1.2'), port: 8472, vtepMac: MAC1, counters: newPeerCounters() };

function forwardPolicy(over: Partial<ForwardPolicy> = {}): ForwardPolicy {
  const routes = new RouteTable<Peer>();
  routes.add(node2.subnet, node2);
  return { routes, pathMtu: 1450, decrementTtl: true, flowPorts: true, localPort: 8472, ...over };
}

/** The packet in a buffer with headroom, as a device hands it over. */
function inSlot(pkt: Buffer): { buf: Buffer; off: number; len: number } {
  const buf = Buffer.alloc(PACKET_HEADROOM + pkt.length);
  pkt.copy(buf, PACKET_HEADROOM);
  return { buf, off: PACKET_HEADROOM, len: pkt.length };
}

const name = (d: { drop: number }): string => (d.drop === NO_DROP ? 'send' : DROP_REASONS[d.drop]!);

describe('decideForward', () => {
  it('decides without touching the packet, and one result object serves every packet', () => {
    const policy = forwardPolicy();
    const d = new ForwardDecision();
    const cases: [Buffer, string, number][] = [
      [udpPacket('10.244.1.2', '10.244.2.3', 40000, 53, Buffer.alloc(20)), 'send', NO_ICMP],
      [icmpEcho('10.244.1.2', '10.245.0.1', 1), 'no-route', ICMP_DEST_UNREACHABLE],
      [icmpEcho('10.244.1.2', '10.244.2.2', 2, 56, { ttl: 1 }), 'ttl-expired', ICMP_TIME_EXCEEDED],
      [icmpEcho('10.244.1.2', '10.244.2.2', 3, 1500, { df: true }), 'too-big', ICMP_DEST_UNREACHABLE],
      [icmpEcho('10.244.1.2', '10.244.2.2', 4, 1500), 'too-big', NO_ICMP],
      [icmpEcho('10.244.1.2', '10.244.2.2', 5), 'send', NO_ICMP],
    ];
    for (const [pkt, verdict, icmp] of cases) {
      const { buf, off, len } = inSlot(pkt);
      const before = Buffer.from(buf);
      decideForward(policy, buf, off, len, d);
      expect({ verdict: name(d), icmp: d.icmpType }).toEqual({ verdict, icmp });
      expect(buf.equals(before)).toBe(true);
      if (verdict === 'send') {
        expect([d.dstAddr, d.dstPort, d.peer]).toEqual([node2.publicIp, 8472, node2]);
        expect(d.srcPort).toBe(flowSourcePort(pkt, 0, pkt.length));
        expect(d.sendSrcPort).toBe(d.srcPort);
      }
    }
    const { buf, off, len } = inSlot(cases[3]![0]);
    decideForward(policy, buf, off, len, d);
    expect([d.icmpCode, d.icmpRest]).toEqual([ICMP_UNREACH_FRAG_NEEDED, 1450]);
  });

  it('follows the policy: no TTL decrement, the bound port', () => {
    const { buf, off, len } = inSlot(icmpEcho('10.244.1.2', '10.244.2.2', 1, 56, { ttl: 1 }));
    const d = new ForwardDecision();
    decideForward(forwardPolicy({ decrementTtl: false, flowPorts: false, localPort: 8285 }), buf, off, len, d);
    expect([name(d), d.srcPort, d.sendSrcPort]).toEqual(['send', 8285, 0]);
  });

  it('sends no ICMP error about an ICMP error', () => {
    const err = icmpEcho('10.244.1.2', '10.245.0.1', 1, 56, { type: ICMP_DEST_UNREACHABLE });
    const { buf, off, len } = inSlot(err);
    const d = new ForwardDecision();
    decideForward(forwardPolicy(), buf, off, len, d);
    expect([name(d), d.icmpType]).toEqual(['no-route', NO_ICMP]);
  });

  it('never throws nor writes on arbitrary bytes', () => {
    const policy = forwardPolicy();
    const d = new ForwardDecision();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const { buf, off, len } = inSlot(Buffer.from(bytes));
        const before = Buffer.from(buf);
        decideForward(policy, buf, off, len, d);
        expect(buf.equals(before)).toBe(true);
        expect(d.drop === NO_DROP || DROP_REASONS[d.drop] !== undefined).toBe(true);
      }),
    );
  });
});

describe('applyForward then decideDeliver', () => {
  const backend = BACKENDS.vxlan;
  const receiver = (over: Partial<DeliverPolicy> = {}): DeliverPolicy => ({
    peersByAddr: new Map([[node1.publicIp, node1]]),
    backend,
    local: { subnet: node2.subnet, vni: 1, vtepMac: MAC2 },
    antiSpoof: true,
    ...over,
  });

  /** node1 forwards `pkt` to node2: the datagram as it would leave. */
  function datagram(pkt: Buffer): { buf: Buffer; start: number; len: number } {
    const policy = forwardPolicy();
    const { buf, off, len } = inSlot(pkt);
    const d = new ForwardDecision();
    decideForward(policy, buf, off, len, d);
    expect(name(d)).toBe('send');
    const start = applyForward(policy, backend, { vni: 1, vtepMac: MAC1 }, buf, off, d);
    expect(ipv4Ttl(buf, off)).toBe(63);
    return { buf, start, len: d.len + (off - start) };
  }

  it('delivers what was forwarded and names each receive-side drop', () => {
    const pkt = icmpEcho('10.244.1.2', '10.244.2.2', 1);
    const d = new DeliverDecision();
    const ok = datagram(pkt);
    decideDeliver(receiver(), ok.buf, ok.start, ok.len, node1.publicIp, d);
    expect([name(d), d.len, d.peer]).toEqual(['send', pkt.length, node1]);
    expect(ok.buf[d.inner]).toBe(0x45);

    const cases: [string, (b: Buffer, start: number) => void, Partial<DeliverPolicy>, number?][] = [
      ['unknown-peer', () => undefined, {}, ip('192.168.1.99')],
      ['bad-vxlan-flags', (b, s) => (b[s] = 0), {}],
      ['wrong-vni', () => undefined, { local: { subnet: node2.subnet, vni: 2, vtepMac: MAC2 } }],
      ['wrong-inner-mac', () => undefined, { local: { subnet: node2.subnet, vni: 1, vtepMac: MAC1 } }],
      ['not-ipv4-inner', (b, s) => (b[s + 8 + 12] = 0x86), {}], // ethertype
      ['inner-malformed', (b, s) => b.writeUInt16BE(0xffff, s + 22 + 2), {}], // total length past the datagram
      ['not-local-destination', () => undefined, { local: { subnet: Cidr.parse('10.244.3.0/24'), vni: 1, vtepMac: MAC2 } }],
    ];
    for (const [reason, spoil, over, from] of cases) {
      const g = datagram(pkt);
      spoil(g.buf, g.start);
      decideDeliver(receiver(over), g.buf, g.start, g.len, from ?? node1.publicIp, d);
      expect(name(d)).toBe(reason);
    }
    const truncated = datagram(pkt);
    decideDeliver(receiver(), truncated.buf, truncated.start, 30, node1.publicIp, d);
    expect(name(d)).toBe('truncated');
  });

  it('anti-spoofing: the sender subnet or its public IP, unless turned off', () => {
    const d = new DeliverDecision();
    const spoofed = datagram(icmpEcho('10.9.9.9', '10.244.2.2', 1));
    decideDeliver(receiver(), spoofed.buf, spoofed.start, spoofed.len, node1.publicIp, d);
    expect(name(d)).toBe('spoofed-source');
    decideDeliver(receiver({ antiSpoof: false }), spoofed.buf, spoofed.start, spoofed.len, node1.publicIp, d);
    expect(name(d)).toBe('send');
    const fromNode = datagram(icmpEcho('192.168.1.2', '10.244.2.2', 1));
    decideDeliver(receiver(), fromNode.buf, fromNode.start, fromNode.len, node1.publicIp, d);
    expect(name(d)).toBe('send');
  });
});
