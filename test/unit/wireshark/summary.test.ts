// Header lines and packet identity: a frame from the kernel's VXLAN device (fixture), raw inner
// packets, the udp backend's IP-in-UDP, TCP, and arbitrary bytes (never throws).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { summarize } from '../../../src/wireshark/summary.js';
import { readHexFixture } from '../../fixtures/hex.js';
import { icmpPacket, ipv4Packet, ports } from '../capture/packets.js';

describe('summarize', () => {
  it('the kernel VXLAN frame: outer Ethernet/IPv4/UDP, VXLAN, inner Ethernet/IPv4/ICMP', () => {
    const s = summarize(readHexFixture('kernel-vxlan-icmp.hex'), 1);
    expect(s.headers).toHaveLength(7);
    expect(s.headers[1]).toMatch(/^IPv4 192\.168\.77\.1 → 192\.168\.77\.2 ttl \d+ /);
    expect(s.headers[2]).toMatch(/^UDP \d+ → 8472 len \d+$/);
    expect(s.headers[3]).toBe('VXLAN VNI 1');
    expect(s.headers[4]).toBe('Ethernet a2:5e:3c:01:00:01 → a2:5e:3c:02:00:02');
    expect(s.headers[5]).toMatch(/^IPv4 10\.244\.1\.0 → 10\.244\.2\.0 /);
    expect(s.headers[6]).toMatch(/^ICMP echo request id 0x[0-9a-f]{4} seq \d+$/);
    expect(s.inner).toMatchObject({ src: '10.244.1.0', dst: '10.244.2.0', protocol: 1 });
  });

  it('the same packet has the same key raw, in IP-in-UDP, and after a TTL change; another packet does not', () => {
    const pkt = icmpPacket('10.244.1.3', '10.244.2.2');
    const raw = summarize(pkt, 101);
    const eth = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00])]);
    const udpHeader = Buffer.from([0x9c, 0x40, 0x20, 0x5d, 0, 8 + pkt.length, 0, 0]); // 40000 → 8285
    const outer = ipv4Packet('192.168.1.2', '192.168.1.3', 17, Buffer.concat([udpHeader, pkt]));
    const enc = summarize(Buffer.concat([eth, outer]), 1);
    expect(enc.headers.slice(1, 3)).toEqual([
      expect.stringMatching(/^IPv4 192\.168\.1\.2 → 192\.168\.1\.3 /),
      'UDP 40000 → 8285 len ' + (8 + pkt.length),
    ]);
    expect(enc.inner!.key).toBe(raw.inner!.key);
    const lowerTtl = Buffer.from(pkt);
    lowerTtl[8] = lowerTtl[8] - 1;
    expect(summarize(lowerTtl, 101).inner!.key).toBe(raw.inner!.key);
    expect(summarize(icmpPacket('10.244.1.3', '10.244.2.2', 0), 101).inner!.key).not.toBe(raw.inner!.key);
  });

  it('TCP: ports and flags', () => {
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(40000, 0);
    tcp.writeUInt16BE(80, 2);
    tcp.writeUInt32BE(7, 4);
    tcp[12] = 0x50;
    tcp[13] = 0x12; // SYN, ACK
    expect(summarize(ipv4Packet('10.0.0.1', '10.0.0.2', 6, tcp), 101).headers[1]).toBe(
      'TCP 40000 → 80 [SYN,ACK] seq 7',
    );
    expect(summarize(ipv4Packet('10.0.0.1', '10.0.0.2', 17, ports(5353, 53)), 101).headers[1]).toMatch(
      /^UDP 5353 → 53 /,
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(1, 101),
        (b, lt) => void summarize(Buffer.from(b), lt),
      ),
      { numRuns: 2000 },
    );
  });
});
