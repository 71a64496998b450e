// Inner IPv6 in the data path: the extension-header walk (wire/ipv6-ext.ts) with its bounds checks,
// ICMPv6 errors (wire/icmpv6.ts) whose checksum an independent sum over the pseudo-header verifies,
// the IPv6 longest-prefix table (route/table6.ts), and the decisions (dataplane/decision6.ts through
// decision.ts): routes, hop limit, Packet Too Big, malformed chains counted, anti-spoofing, local
// destination; vxlan's inner ethertype 0x86DD both ways.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 } from '../../../src/addr/ipv4.js';
import { Cidr6, ipv6ToBytes, parseIpv6 } from '../../../src/addr/ipv6.js';
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
import { RouteTable6 } from '../../../src/route/table6.js';
import { PACKET_HEADROOM } from '../../../src/util/buffers.js';
import { ETHERTYPE_IPV6, ethEthertype } from '../../../src/wire/ethernet.js';
import {
  buildIcmpv6Error,
  emitIcmpv6EchoPacket,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_TIME_EXCEEDED,
  icmpv6ErrorAllowed,
} from '../../../src/wire/icmpv6.js';
import { IPPROTO_ICMPV6, Ipv6ExtProblem, ipv6UpperLayer, Ipv6Upper } from '../../../src/wire/ipv6-ext.js';
import { VXLAN_HEADER_LEN } from '../../../src/wire/vxlan.js';

const a6 = (t: string): Uint8Array => ipv6ToBytes(parseIpv6(t));
const MAC1 = parseMac('0e:00:00:00:01:01');
const MAC2 = parseMac('0e:00:00:00:02:01');
const node2: Peer = {
  name: 'node2',
  subnet: Cidr.parse('10.244.2.0/24'),
  subnet6: Cidr6.parse('fc00:0:0:2::/64'),
  publicIp: parseIpv4('192.168.1.3'),
  publicIpv6Bytes: a6('fd00::3'),
  port: 8472,
  vtepMac: MAC2,
  counters: newPeerCounters(),
};

function echo(src: string, dst: string, opts: { hop?: number; size?: number } = {}): Buffer {
  const out = Buffer.alloc(2000);
  const n = emitIcmpv6EchoPacket(out, 0, {
    src: a6(src),
    dst: a6(dst),
    type: ICMPV6_ECHO_REQUEST,
    ident: 7,
    seq: 1,
    data: new Uint8Array(opts.size ?? 56),
    hopLimit: opts.hop,
  });
  return out.subarray(0, n);
}

/** The echo with extension headers inserted after the fixed header: [nextHeader, bytes] each. */
function withExtensions(pkt: Buffer, exts: Array<[number, Buffer]>): Buffer {
  const chain = Buffer.concat(exts.map(([, b]) => b));
  const out = Buffer.concat([pkt.subarray(0, 40), chain, pkt.subarray(40)]);
  const types = [...exts.map(([t]) => t), IPPROTO_ICMPV6];
  out[6] = types[0];
  let at = 40;
  exts.forEach(([, b], i) => {
    out[at] = types[i + 1];
    at += b.length;
  });
  out.writeUInt16BE(out.length - 40, 4);
  return out;
}

function inSlot(pkt: Buffer): { buf: Buffer; off: number; len: number } {
  const buf = Buffer.alloc(PACKET_HEADROOM + pkt.length);
  pkt.copy(buf, PACKET_HEADROOM);
  return { buf, off: PACKET_HEADROOM, len: pkt.length };
}

/** Our own one's-complement sum of pseudo-header + message, for checking the codec's checksum. */
function independentIcmpv6Sum(pkt: Uint8Array): number {
  const len = (pkt[4] << 8) | pkt[5];
  const words: number[] = [];
  for (let i = 8; i < 40; i += 2) words.push((pkt[i] << 8) | pkt[i + 1]);
  words.push(len >>> 16, len & 0xffff, 0, 58);
  for (let i = 40; i < 40 + len; i += 2) words.push((pkt[i] << 8) | (i + 1 < 40 + len ? pkt[i + 1] : 0));
  let s = words.reduce((x, y) => x + y, 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const name = (d: { drop: number }): string => (d.drop === NO_DROP ? 'send' : DROP_REASONS[d.drop]);

describe('IPv6 extension headers', () => {
  it('skips Hop-by-Hop, Destination Options, Routing and Fragment headers to the upper layer', () => {
    const hbh = Buffer.alloc(8);
    const dst = Buffer.alloc(16);
    dst[1] = 1; // (1 + 1) * 8 bytes
    const frag = Buffer.alloc(8); // offset 0: the first fragment
    const pkt = withExtensions(echo('fc00:0:0:1::2', 'fc00:0:0:2::2'), [
      [0, hbh],
      [60, dst],
      [44, frag],
    ]);
    const u = new Ipv6Upper();
    expect(ipv6UpperLayer(pkt, 0, pkt.length, u)).toBe(Ipv6ExtProblem.Ok);
    expect([u.protocol, u.offset, u.fragment, u.laterFragment]).toEqual([IPPROTO_ICMPV6, 72, true, false]);
  });

  it('reports a chain that runs past the packet, a misplaced Hop-by-Hop, and never reads past the end', () => {
    const u = new Ipv6Upper();
    const long = Buffer.alloc(8);
    long[1] = 200; // claims 1608 bytes
    const pkt = withExtensions(echo('fc00:0:0:1::2', 'fc00:0:0:2::2'), [[60, long]]);
    expect(ipv6UpperLayer(pkt, 0, pkt.length, u)).toBe(Ipv6ExtProblem.Truncated);
    const twice = withExtensions(echo('fc00:0:0:1::2', 'fc00:0:0:2::2'), [
      [60, Buffer.alloc(8)],
      [0, Buffer.alloc(8)],
    ]);
    expect(ipv6UpperLayer(twice, 0, twice.length, u)).toBe(Ipv6ExtProblem.BadChain);
    // random bytes after a valid fixed header: always a verdict, never an exception or an overrun
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom(0, 43, 44, 51, 60), (tail, nh) => {
        const p = Buffer.concat([echo('fc00::1', 'fc00::2').subarray(0, 40), Buffer.from(tail)]);
        p[6] = nh;
        p.writeUInt16BE(tail.length, 4);
        const r = ipv6UpperLayer(p, 0, p.length, u);
        if (r === Ipv6ExtProblem.Ok) expect(u.offset + u.length).toBeLessThanOrEqual(p.length);
      }),
    );
  });
});

describe('ICMPv6 errors', () => {
  it('builds Packet Too Big with the MTU, quoting the packet, with a checksum over the pseudo-header', () => {
    const pkt = echo('fc00:0:0:1::2', 'fc00:0:0:2::2', { size: 1400 });
    const out = Buffer.alloc(1400);
    const n = buildIcmpv6Error(out, 0, ICMPV6_PACKET_TOO_BIG, 0, 1450, a6('fc00:0:0:1::'), pkt, 0, pkt.length);
    expect(n).toBe(1280); // never more than the IPv6 minimum MTU
    expect(out[0] >>> 4).toBe(6);
    expect(Buffer.from(out.subarray(24, 40)).equals(Buffer.from(a6('fc00:0:0:1::2')))).toBe(true);
    expect(Buffer.from(out.subarray(8, 24)).equals(Buffer.from(a6('fc00:0:0:1::')))).toBe(true);
    expect([out[40], out[41], out.readUInt32BE(44)]).toEqual([ICMPV6_PACKET_TOO_BIG, 0, 1450]);
    expect(independentIcmpv6Sum(out.subarray(0, n))).toBe(0xffff);
    expect(Buffer.from(out.subarray(48, 88)).equals(pkt.subarray(0, 40))).toBe(true);
  });

  it('sends none about an ICMPv6 error, a multicast destination (except Packet Too Big) or an unspecified source', () => {
    const u = new Ipv6Upper();
    const ok = echo('fc00:0:0:1::2', 'fc00:0:0:2::2');
    expect(icmpv6ErrorAllowed(ok, 0, ok.length, ICMPV6_DEST_UNREACHABLE, u)).toBe(true);
    const err = Buffer.alloc(200);
    const n = buildIcmpv6Error(err, 0, ICMPV6_DEST_UNREACHABLE, 0, 0, a6('fc00:0:0:9::'), ok, 0, ok.length);
    expect(icmpv6ErrorAllowed(err, 0, n, ICMPV6_DEST_UNREACHABLE, u)).toBe(false);
    const mcast = echo('fc00:0:0:1::2', 'ff02::1');
    expect(icmpv6ErrorAllowed(mcast, 0, mcast.length, ICMPV6_TIME_EXCEEDED, u)).toBe(false);
    expect(icmpv6ErrorAllowed(mcast, 0, mcast.length, ICMPV6_PACKET_TOO_BIG, u)).toBe(true);
    const unspec = echo('::', 'fc00:0:0:2::2');
    expect(icmpv6ErrorAllowed(unspec, 0, unspec.length, ICMPV6_DEST_UNREACHABLE, u)).toBe(false);
  });
});

describe('RouteTable6', () => {
  it('matches the longest prefix, reading the address from the packet', () => {
    const t = new RouteTable6<string>();
    t.add(Cidr6.parse('fc00::/48'), 'net');
    t.add(Cidr6.parse('fc00:0:0:2::/64'), 'node2');
    t.add(Cidr6.parse('fc00:0:0:2::5/128'), 'host');
    const at = (s: string): string | undefined => t.lookupAt(a6(s), 0);
    expect([at('fc00:0:0:2::1'), at('fc00:0:0:2::5'), at('fc00:0:0:3::1'), at('fd00::1')]).toEqual([
      'node2',
      'host',
      'net',
      undefined,
    ]);
    expect(t.remove(Cidr6.parse('fc00:0:0:2::/64'))).toBe(true);
    expect(at('fc00:0:0:2::1')).toBe('net');
    expect(t.size).toBe(2);
    expect(() => new RouteTable6({ capacity: 0 }).add(Cidr6.parse('fc00::/64'), 1)).toThrow('full');
  });

  it('agrees with a linear scan for random tables', () => {
    const arb = fc.array(fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 })), {
      maxLength: 20,
    });
    fc.assert(
      fc.property(arb, fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (entries, probe) => {
        const t = new RouteTable6<number>();
        const cidrs = entries.map(([n, p]) => new Cidr6(n, p));
        cidrs.forEach((c, i) => t.replace(c, i));
        let best: Cidr6 | undefined;
        for (const c of cidrs) if (c.contains(probe) && (!best || c.prefix > best.prefix)) best = c;
        expect(t.lookupCidrAt(ipv6ToBytes(probe), 0)?.toString()).toBe(best?.toString());
      }),
    );
  });
});

describe('IPv6 decisions', () => {
  const routes6 = new RouteTable6<Peer>();
  routes6.add(node2.subnet6!, node2);
  const fwd: ForwardPolicy = {
    routes: new RouteTable<Peer>(),
    routes6,
    pathMtu: 1450,
    decrementTtl: true,
    flowPorts: true,
    localPort: 8472,
  };

  it('forward: send, no route, hop limit, Packet Too Big, malformed; IPv4-only nodes count tun-not-ipv4', () => {
    const d = new ForwardDecision();
    const cases: Array<[Buffer, string, number]> = [
      [echo('fc00:0:0:1::2', 'fc00:0:0:2::2'), 'send', NO_ICMP],
      [echo('fc00:0:0:1::2', 'fc00:0:0:9::2'), 'no-route', ICMPV6_DEST_UNREACHABLE],
      [echo('fc00:0:0:1::2', 'fc00:0:0:2::2', { hop: 1 }), 'ttl-expired', ICMPV6_TIME_EXCEEDED],
      [echo('fc00:0:0:1::2', 'fc00:0:0:2::2', { size: 1500 }), 'too-big', ICMPV6_PACKET_TOO_BIG],
      [
        withExtensions(echo('fc00:0:0:1::2', 'fc00:0:0:2::2'), [[60, Buffer.from([0, 9, 0, 0, 0, 0, 0, 0])]]),
        'tun-malformed',
        NO_ICMP,
      ],
    ];
    for (const [pkt, verdict, icmp] of cases) {
      const { buf, off, len } = inSlot(pkt);
      decideForward(fwd, buf, off, len, d);
      expect([name(d), d.icmpType]).toEqual([verdict, icmp]);
      if (verdict === 'too-big') expect(d.icmpRest).toBe(1450);
    }
    const { buf, off, len } = inSlot(echo('fc00:0:0:1::2', 'fc00:0:0:2::2'));
    decideForward({ ...fwd, routes6: undefined }, buf, off, len, d);
    expect(name(d)).toBe('tun-not-ipv4');
  });

  it('vxlan carries inner IPv6 with ethertype 0x86DD; the receiver checks source and destination', () => {
    const d = new ForwardDecision();
    const pkt = echo('fc00:0:0:1::2', 'fc00:0:0:2::2', { hop: 64 });
    const { buf, off, len } = inSlot(pkt);
    decideForward(fwd, buf, off, len, d);
    const local1 = { vni: 1, vtepMac: MAC1 };
    const start = applyForward(fwd, BACKENDS.vxlan, local1, buf, off, d);
    expect(buf[off + 7]).toBe(63); // hop limit decremented
    expect(ethEthertype(buf, start + VXLAN_HEADER_LEN)).toBe(ETHERTYPE_IPV6);

    const node1: Peer = {
      ...node2,
      name: 'node1',
      subnet: Cidr.parse('10.244.1.0/24'),
      subnet6: Cidr6.parse('fc00:0:0:1::/64'),
      publicIp: parseIpv4('192.168.1.2'),
      publicIpv6Bytes: a6('fd00::2'),
      vtepMac: MAC1,
    };
    const deliver: DeliverPolicy = {
      peersByAddr: new Map([[node1.publicIp, node1]]),
      backend: BACKENDS.vxlan,
      local: { vni: 1, vtepMac: MAC2, subnet: node2.subnet, subnet6: node2.subnet6 },
      antiSpoof: true,
    };
    const r = new DeliverDecision();
    decideDeliver(deliver, buf, start, len + (off - start), node1.publicIp, r);
    expect([name(r), r.inner, r.len]).toEqual(['send', off, len]);

    const spoof = inSlot(echo('fc00:0:0:7::2', 'fc00:0:0:2::2'));
    decideForward(fwd, spoof.buf, spoof.off, spoof.len, d);
    const s2 = applyForward(fwd, BACKENDS.vxlan, local1, spoof.buf, spoof.off, d);
    decideDeliver(deliver, spoof.buf, s2, spoof.len + (spoof.off - s2), node1.publicIp, r);
    expect(name(r)).toBe('spoofed-source');
    decideDeliver({ ...deliver, antiSpoof: false }, spoof.buf, s2, spoof.len + (spoof.off - s2), node1.publicIp, r);
    expect(name(r)).toBe('send');

    const fromNode = inSlot(echo('fd00::2', 'fc00:0:0:2::2')); // node1's PublicIPv6 answering a pod
    decideForward(fwd, fromNode.buf, fromNode.off, fromNode.len, d);
    const s3 = applyForward(fwd, BACKENDS.udp, local1, fromNode.buf, fromNode.off, d);
    decideDeliver({ ...deliver, backend: BACKENDS.udp }, fromNode.buf, s3, fromNode.len, node1.publicIp, r);
    expect(name(r)).toBe('send');

    const elsewhere = inSlot(echo('fc00:0:0:1::2', 'fc00:0:0:3::2'));
    decideDeliver(
      { ...deliver, backend: BACKENDS.udp },
      elsewhere.buf,
      elsewhere.off,
      elsewhere.len,
      node1.publicIp,
      r,
    );
    expect(name(r)).toBe('not-local-destination');
    decideDeliver(
      { ...deliver, backend: BACKENDS.udp, local: { ...deliver.local, subnet6: undefined } },
      elsewhere.buf,
      elsewhere.off,
      elsewhere.len,
      node1.publicIp,
      r,
    );
    expect(name(r)).toBe('not-ipv4-inner');
  });
});
