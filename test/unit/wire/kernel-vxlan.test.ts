// Wire compatibility with the Linux kernel's VXLAN device configured like flanneld (DESIGN.md
// principle 8). The fixture is a real frame captured on the underlay by
// test/fixtures/make-kernel-vxlan-fixture.sh; these tests parse it byte for byte and check that our
// encoders produce the same bytes for the same inner packet.
import { describe, expect, it } from 'vitest';
import { parseIpv4 as parseAddr } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import {
  ETHERTYPE_IPV4,
  ETH_HEADER_LEN,
  ICMP_ECHO_REQUEST,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  UDP_HEADER_LEN,
  VXLAN_HEADER_LEN,
  VXLAN_PORT_LINUX,
  emitIcmpEcho,
  emitIpv4,
  emitUdp,
  ethEthertype,
  icmpChecksumOk,
  ipv4HeaderChecksumOk,
  macEqualsAt,
  parseEthernet,
  parseIcmpEcho,
  parseIpv4,
  parseUdp,
  parseVxlan,
  udpChecksumOk,
  vxlanCheck,
  vxlanVni,
  writeEthernetHeader,
  writeVxlanHeader,
} from '../../../src/wire/index.js';
import { readHexFixture } from '../../fixtures/hex.js';

const frame = readHexFixture('kernel-vxlan-icmp.hex');
const MAC_A = parseMac('a2:5e:3c:01:00:01'); // sender VTEP (flannel.1 in ns A)
const MAC_B = parseMac('a2:5e:3c:02:00:02'); // peer VTEP
const OUTER_IP = ETH_HEADER_LEN;
const OUTER_UDP = OUTER_IP + 20;
const VXLAN = OUTER_UDP + UDP_HEADER_LEN;
const INNER_ETH = VXLAN + VXLAN_HEADER_LEN;
const INNER_IP = INNER_ETH + ETH_HEADER_LEN;

describe('kernel VXLAN frame fixture', () => {
  it('is one whole frame', () => {
    expect(frame.length).toBe(116);
  });

  it('parses the outer headers: IPv4 underlay, UDP to port 8472 with a valid checksum', () => {
    const eth = parseEthernet(frame, 0, frame.length);
    expect(eth.ok && eth.repr.ethertype).toBe(ETHERTYPE_IPV4);
    const ip = parseIpv4(frame, OUTER_IP, frame.length - OUTER_IP, { verifyChecksum: true });
    if (!ip.ok) throw new Error(ip.reason);
    expect(ip.repr.src).toBe(parseAddr('192.168.77.1'));
    expect(ip.repr.dst).toBe(parseAddr('192.168.77.2'));
    expect(ip.repr.protocol).toBe(IPPROTO_UDP);
    const udp = parseUdp(frame, OUTER_UDP, ip.repr.payloadLen, { verify: { src: ip.repr.src, dst: ip.repr.dst } });
    if (!udp.ok) throw new Error(udp.reason);
    expect(udp.repr.dstPort).toBe(VXLAN_PORT_LINUX);
    expect(udp.repr.srcPort).toBeGreaterThanOrEqual(32768);
    expect(udp.repr.srcPort).toBeLessThan(61000);
    expect(udp.repr.payloadLen).toBe(frame.length - VXLAN);
    expect(udp.checksum).not.toBe(0);
    expect(udpChecksumOk(ip.repr.src, ip.repr.dst, frame, OUTER_UDP, UDP_HEADER_LEN + udp.repr.payloadLen)).toBe(true);
  });

  it('parses the VXLAN header: I flag, VNI 1, reserved bits zero', () => {
    expect(vxlanCheck(frame, VXLAN, frame.length - VXLAN)).toBe(0);
    expect(vxlanVni(frame, VXLAN)).toBe(1);
    expect(parseVxlan(frame, VXLAN, frame.length - VXLAN)).toEqual({ ok: true, repr: { vni: 1 }, headerLen: 8 });
    expect(frame.subarray(VXLAN, VXLAN + 8).toString('hex')).toBe('0800000000000100');
  });

  it('parses the inner Ethernet header: VTEP MACs, IPv4', () => {
    expect(macEqualsAt(frame, INNER_ETH, MAC_B)).toBe(true); // dst = peer VTEP
    expect(macEqualsAt(frame, INNER_ETH + 6, MAC_A)).toBe(true); // src = our VTEP
    expect(ethEthertype(frame, INNER_ETH)).toBe(ETHERTYPE_IPV4);
  });

  it('parses the inner ICMP echo request between pod addresses', () => {
    const ip = parseIpv4(frame, INNER_IP, frame.length - INNER_IP, { verifyChecksum: true });
    if (!ip.ok) throw new Error(ip.reason);
    expect(ip.repr.src).toBe(parseAddr('10.244.1.0'));
    expect(ip.repr.dst).toBe(parseAddr('10.244.2.0'));
    expect(ip.repr.protocol).toBe(IPPROTO_ICMP);
    expect(ip.headerLen + ip.repr.payloadLen).toBe(frame.length - INNER_IP);
    const icmpOff = INNER_IP + ip.headerLen;
    expect(icmpChecksumOk(frame, icmpOff, ip.repr.payloadLen)).toBe(true);
    const echo = parseIcmpEcho(frame, icmpOff, ip.repr.payloadLen, { verifyChecksum: true });
    if (!echo.ok) throw new Error(echo.reason);
    expect(echo.repr.type).toBe(ICMP_ECHO_REQUEST);
    expect(echo.repr.seq).toBe(1);
    expect(echo.repr.data.length).toBe(24);
    expect(Buffer.from(echo.repr.data.subarray(16)).toString('hex')).toBe('0123456789abcdef'); // ping -p pattern
  });

  it('our encoders reproduce the kernel bytes for the same inner packet, VNI and MACs', () => {
    const ip = parseIpv4(frame, INNER_IP, frame.length - INNER_IP);
    if (!ip.ok) throw new Error(ip.reason);
    const echo = parseIcmpEcho(frame, INNER_IP + ip.headerLen, ip.repr.payloadLen);
    if (!echo.ok) throw new Error(echo.reason);

    // Lay the inner packet out as the data path does (after headroom), then write the headers in front.
    const innerLen = frame.length - INNER_IP;
    const buf = Buffer.alloc(64 + innerLen, 0xaa);
    const inner = 64;
    emitIpv4(ip.repr, buf, inner);
    emitIcmpEcho(echo.repr, buf, inner + ip.headerLen);
    writeEthernetHeader(buf, inner - ETH_HEADER_LEN, MAC_B, MAC_A, ETHERTYPE_IPV4);
    writeVxlanHeader(buf, inner - ETH_HEADER_LEN - VXLAN_HEADER_LEN, 1);
    const vxlanOff = inner - ETH_HEADER_LEN - VXLAN_HEADER_LEN;
    expect(buf.subarray(vxlanOff).toString('hex')).toBe(frame.subarray(VXLAN).toString('hex'));

    // And the outer UDP header (with the kernel's source port and its checksum) and IPv4 header.
    const outer = parseIpv4(frame, OUTER_IP, frame.length - OUTER_IP);
    const udp = parseUdp(frame, OUTER_UDP, frame.length - OUTER_UDP);
    if (!outer.ok || !udp.ok) throw new Error('outer headers');
    const udpOff = vxlanOff - UDP_HEADER_LEN;
    emitUdp(udp.repr, buf, udpOff, { checksum: { src: outer.repr.src, dst: outer.repr.dst } });
    expect(buf.subarray(udpOff, vxlanOff).toString('hex')).toBe(frame.subarray(OUTER_UDP, VXLAN).toString('hex'));
    const outBuf = Buffer.alloc(20);
    emitIpv4(outer.repr, outBuf, 0);
    expect(ipv4HeaderChecksumOk(outBuf, 0)).toBe(true);
    expect(outBuf.toString('hex')).toBe(frame.subarray(OUTER_IP, OUTER_UDP).toString('hex'));
  });
});
