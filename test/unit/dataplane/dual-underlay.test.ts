// DualStackUnderlay: which socket each datagram takes (inner IPv6 to a peer with a PublicIPv6 → the
// IPv6 socket, the caller's bytes unchanged; everything else → IPv4), what a datagram received on
// the IPv6 socket becomes (the peer's PublicIP, or an unknown-peer drop), and what it tells the
// wrappers above it (Ipv6Paths: the outer IPv6 addresses of a send or a received batch).
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { ipv6ToBytes, parseIpv6 } from '../../../src/addr/ipv6.js';
import { udpBackend, vxlanBackend } from '../../../src/dataplane/backends.js';
import { DataplaneCounters } from '../../../src/dataplane/counters.js';
import { DualStackUnderlay, type Ipv6Socket } from '../../../src/dataplane/dual-underlay.js';
import type { Datagram6Handler } from '../../../src/underlay/udp6.js';
import type { DatagramBatch, Underlay } from '../../../src/underlay/underlay.js';

type Sent = { bytes: Buffer; addr: number | string; port: number; srcPort?: number };

function fakes() {
  const sent4: Sent[] = [];
  const sent6: Sent[] = [];
  let on4: ((b: DatagramBatch) => void) | undefined;
  let on6: Datagram6Handler | undefined;
  const v4: Underlay = {
    localAddr: parseIpv4('192.168.1.1'),
    localPort: 8472,
    start: (h) => void (on4 = h),
    send: (buf, off, len, addr, port, srcPort) => (
      sent4.push({ bytes: buf.subarray(off, off + len), addr, port, srcPort }),
      true
    ),
    flush: () => {},
    close: async () => {},
  };
  const v6: Ipv6Socket = {
    localText: 'fd00::1',
    localPort: 8472,
    sourcePortFor: (p) => 40000 + (p % 4),
    start: (h) => void (on6 = h),
    send: (buf, off, len, addr, port, srcPort) => (
      sent6.push({ bytes: Buffer.from(buf.subarray(off, off + len)), addr, port, srcPort }),
      true
    ),
    flush: () => {},
    close: async () => {},
  };
  return {
    v4,
    v6,
    sent4,
    sent6,
    receive6: (b: Buffer, from: string) => on6!(b, 0, b.length, from, 40000),
    on4: () => on4,
  };
}

/** A VXLAN datagram (headers zeroed) whose inner packet starts with version nibble `version`. */
function vxlanDatagram(version: number): Buffer {
  const b = Buffer.alloc(22 + 40);
  b[22] = version << 4;
  return b;
}

const PEER = parseIpv4('192.168.1.2');

describe('DualStackUnderlay', () => {
  it('sends inner IPv6 to a peer with a PublicIPv6 over IPv6 unchanged, the rest over IPv4', () => {
    const f = fakes();
    const d = new DualStackUnderlay(f.v4, f.v6, vxlanBackend, new DataplaneCounters());
    d.setPeer('10.244.2.0/24', PEER, parseIpv6('fd00::2'));
    const v6 = vxlanDatagram(6);
    v6.fill(0xab, 8, 14); // the inner destination MAC the data path wrote
    const before = Buffer.from(v6);
    expect(d.ipv6.sendPeer6(v6, 0, v6.length, PEER)).toEqual(ipv6ToBytes(parseIpv6('fd00::2')));
    expect(d.ipv6.sendPeer6(vxlanDatagram(4), 0, 62, PEER)).toBeUndefined();
    expect(d.send(v6, 0, v6.length, PEER, 8472, 51000)).toBe(true);
    expect(v6.equals(before)).toBe(true);
    d.send(vxlanDatagram(4), 0, 62, PEER, 8472, 51000);
    d.send(vxlanDatagram(6), 0, 62, parseIpv4('192.168.1.3'), 8472, 51000); // a peer without PublicIPv6
    expect(f.sent6).toHaveLength(1);
    expect(f.sent6[0]).toMatchObject({ addr: 'fd00::2', port: 8472, srcPort: 51000 });
    expect(f.sent6[0].bytes.equals(before)).toBe(true);
    expect(d.ipv6.sourcePortFor6(51000)).toBe(40000 + (51000 % 4));
    expect(d.ipv6.sourcePortFor6(undefined)).toBe(8472);
    expect(f.sent4.map((s) => s.addr)).toEqual([PEER, parseIpv4('192.168.1.3')]);
    expect(d.sent6).toBe(1);
    d.removePeer('10.244.2.0/24');
    d.send(vxlanDatagram(6), 0, 62, PEER, 8472, 51000);
    expect(f.sent6).toHaveLength(1);
    expect(f.sent4).toHaveLength(3);
  });

  it('udp backend: the inner version is the datagram’s first nibble', () => {
    const f = fakes();
    const d = new DualStackUnderlay(f.v4, f.v6, udpBackend, new DataplaneCounters());
    d.setPeer('10.244.2.0/24', PEER, parseIpv6('fd00::2'));
    const pkt = Buffer.alloc(40);
    pkt[0] = 0x60;
    d.send(pkt, 0, 40, PEER, 8285);
    pkt[0] = 0x45;
    d.send(pkt, 0, 40, PEER, 8285);
    expect(f.sent6.map((s) => s.bytes[0])).toEqual([0x60]);
    expect(f.sent4.map((s) => s.bytes[0])).toEqual([0x45]);
  });

  it('hands datagrams from a peer’s PublicIPv6 to the data path as from its PublicIP; others are unknown-peer drops', () => {
    const f = fakes();
    const counters = new DataplaneCounters();
    const d = new DualStackUnderlay(f.v4, f.v6, vxlanBackend, counters);
    d.setPeer('10.244.2.0/24', PEER, parseIpv6('fd00:0:0::2'));
    const got: Array<{ addr: number; len: number; from6?: Uint8Array }> = [];
    d.start((b) => got.push({ addr: b.addrs[0], len: b.lens[0], from6: d.ipv6.receivedPeer6(b) }));
    f.receive6(Buffer.alloc(50), 'fd00::2');
    f.receive6(Buffer.alloc(50), 'fd00::99');
    expect(got).toEqual([{ addr: PEER, len: 50, from6: ipv6ToBytes(parseIpv6('fd00::2')) }]);
    expect(Buffer.from(d.ipv6.local6).equals(Buffer.from(ipv6ToBytes(parseIpv6('fd00::1'))))).toBe(true);
    expect(d.received6).toBe(1);
    expect(counters.snapshot().drops['unknown-peer']).toBe(1);
  });
});

describe('DualStackUnderlay behind NAT', () => {
  it('reports the PublicIPv6 as its address when the socket is bound to ::', () => {
    const f = fakes();
    const d = new DualStackUnderlay(
      f.v4,
      { ...f.v6, localText: '::' },
      vxlanBackend,
      new DataplaneCounters(),
      parseIpv6('2001:db8::7'),
    );
    expect(d.ipv6.local6).toEqual(ipv6ToBytes(parseIpv6('2001:db8::7')));
  });
});
