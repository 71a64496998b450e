// Decoding a captured packet into plain objects for test authors: the outer headers of an
// encapsulated datagram (Ethernet, IPv4, UDP, VXLAN with its VNI, or the udp backend's IP-in-UDP)
// and the inner IPv4 packet with its ICMP/TCP/UDP header, plus the one-line-per-header text that
// `lab follow` prints (wireshark/summary.ts). Pure; never throws: a truncated or unknown header
// leaves the fields it would have filled undefined. The packet's bytes are a copy the caller owns.
import { summarize, UDP_BACKEND_PORT, VXLAN_PORTS } from '../wireshark/summary.js';

/** An IPv4 header's fields. */
export interface DecodedIpv4 {
  src: string;
  dst: string;
  ttl: number;
  /** IP protocol number: 1 ICMP, 6 TCP, 17 UDP. */
  protocol: number;
  id: number;
  length: number;
  dontFragment: boolean;
}

/** The transport header of the inner packet (ports for TCP/UDP, type/code for ICMP). */
export interface DecodedTransport {
  protocol: 'icmp' | 'tcp' | 'udp' | 'other';
  srcPort?: number;
  dstPort?: number;
  /** TCP flags as names: SYN, ACK, FIN, RST, PSH, URG. */
  flags?: string[];
  icmpType?: number;
  icmpCode?: number;
}

/** The outer headers of an encapsulated datagram (capture point `outer`). */
export interface DecodedOuter {
  ethernet: { src: string; dst: string };
  ip: DecodedIpv4;
  udp: { srcPort: number; dstPort: number };
  /** Present for VXLAN (UDP 8472 or 4789). */
  vxlan?: { vni: number; innerEthernet?: { src: string; dst: string } };
}

/** One captured packet, decoded. */
export interface DecodedPacket {
  /** Capture time, Unix nanoseconds. */
  timestampNs: bigint;
  /** Bytes on the wire (the record may hold fewer: the snap length). */
  length: number;
  /** The capture point it came from. */
  point: 'inner' | 'outer';
  /** Outer headers (point `outer` only, when the datagram parses). */
  outer?: DecodedOuter;
  /** The pod's IPv4 packet (inside the encapsulation at `outer`, the packet itself at `inner`). */
  inner?: DecodedIpv4;
  transport?: DecodedTransport;
  /** One line per header, outermost first, as `lab follow` prints them. */
  headers: string[];
  /** The captured bytes (Ethernet at `outer`, raw IP at `inner`). */
  data: Buffer;
}

const mac = (b: Buffer, o: number): string =>
  [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ip = (b: Buffer, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

function ipv4At(b: Buffer, o: number): DecodedIpv4 | undefined {
  if (b.length < o + 20 || b[o] >> 4 !== 4) return undefined;
  return {
    src: ip(b, o + 12),
    dst: ip(b, o + 16),
    ttl: b[o + 8],
    protocol: b[o + 9],
    id: b.readUInt16BE(o + 4),
    length: b.readUInt16BE(o + 2),
    dontFragment: (b[o + 6] & 0x40) !== 0,
  };
}

function transportAt(b: Buffer, o: number, protocol: number): DecodedTransport {
  if (protocol === 1 && b.length >= o + 2) return { protocol: 'icmp', icmpType: b[o], icmpCode: b[o + 1] };
  if ((protocol === 6 || protocol === 17) && b.length >= o + 4) {
    const t: DecodedTransport = {
      protocol: protocol === 6 ? 'tcp' : 'udp',
      srcPort: b.readUInt16BE(o),
      dstPort: b.readUInt16BE(o + 2),
    };
    if (protocol === 6 && b.length >= o + 14) t.flags = TCP_FLAGS.filter((_, i) => b[o + 13] & (1 << i));
    return t;
  }
  return { protocol: 'other' };
}

function innerAt(b: Buffer, o: number, into: DecodedPacket): void {
  const inner = ipv4At(b, o);
  if (!inner) return;
  into.inner = inner;
  into.transport = transportAt(b, o + (b[o] & 15) * 4, inner.protocol);
}

function outerAt(b: Buffer, into: DecodedPacket): void {
  if (b.length < 14 || b.readUInt16BE(12) !== 0x0800) return;
  const ipHdr = ipv4At(b, 14);
  if (!ipHdr || ipHdr.protocol !== 17) return;
  const u = 14 + (b[14] & 15) * 4;
  if (b.length < u + 8) return;
  const outer: DecodedOuter = {
    ethernet: { src: mac(b, 6), dst: mac(b, 0) },
    ip: ipHdr,
    udp: { srcPort: b.readUInt16BE(u), dstPort: b.readUInt16BE(u + 2) },
  };
  into.outer = outer;
  if (VXLAN_PORTS.has(outer.udp.dstPort) && b.length >= u + 16) {
    outer.vxlan = { vni: b.readUIntBE(u + 12, 3) };
    const e = u + 16;
    if (b.length >= e + 14) {
      outer.vxlan.innerEthernet = { src: mac(b, e + 6), dst: mac(b, e) };
      if (b.readUInt16BE(e + 12) === 0x0800) innerAt(b, e + 14, into);
    }
  } else if (outer.udp.dstPort === UDP_BACKEND_PORT) innerAt(b, u + 8, into);
}

/** Decodes one record of a capture (`linktype` 1 Ethernet at `outer`, 101 raw IP at `inner`). */
export function decodePacket(data: Buffer, linktype: number, timestampNs: bigint, length: number): DecodedPacket {
  const point = linktype === 1 ? 'outer' : 'inner';
  const p: DecodedPacket = { timestampNs, length, point, headers: summarize(data, linktype).headers, data };
  if (point === 'outer') outerAt(data, p);
  else innerAt(data, 0, p);
  return p;
}
