// Hand-built test packets for the capture tests (not a test file): inner IPv4 packets (ICMP echo,
// UDP, TCP) and the UDP payloads of the two backends (VXLAN header + inner Ethernet + IP; raw IP).
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { internetChecksum } from '../../../src/wire/checksum.js';
import { emitIpv4 } from '../../../src/wire/ipv4.js';

export const ip = parseIpv4;

/** An IPv4 packet with `l4` as its payload (header checksum set). */
export function ipv4Packet(
  src: string,
  dst: string,
  protocol: number,
  l4: Buffer,
  opts: { fragOffset?: number } = {},
): Buffer {
  const out = Buffer.alloc(20 + l4.length);
  emitIpv4(
    {
      src: ip(src),
      dst: ip(dst),
      protocol,
      ttl: 64,
      tos: 0,
      ident: 0x1234,
      dontFragment: true,
      moreFragments: false,
      fragOffset: opts.fragOffset ?? 0,
      payloadLen: l4.length,
    },
    out,
    0,
  );
  l4.copy(out, 20);
  return out;
}

/** An ICMP echo request (type 8) or reply (type 0) with a correct checksum. */
export function icmpEcho(type: 0 | 8, ident: number, seq: number, data = Buffer.from('flannelette-capture')): Buffer {
  const out = Buffer.alloc(8 + data.length);
  out[0] = type;
  out.writeUInt16BE(ident, 4);
  out.writeUInt16BE(seq, 6);
  data.copy(out, 8);
  out.writeUInt16BE(internetChecksum(out, 0, out.length), 2);
  return out;
}

/** A UDP or TCP header's first bytes: ports only matter to the filter. */
export function ports(srcPort: number, dstPort: number, len = 8): Buffer {
  const out = Buffer.alloc(len);
  out.writeUInt16BE(srcPort, 0);
  out.writeUInt16BE(dstPort, 2);
  out.writeUInt16BE(len, 4);
  return out;
}

export function icmpPacket(src: string, dst: string, type: 0 | 8 = 8): Buffer {
  return ipv4Packet(src, dst, 1, icmpEcho(type, 0x4242, 1));
}

/** VXLAN header (I flag, VNI) + inner Ethernet (IPv4) + the inner IP packet. */
export function vxlanPayload(vni: number, inner: Buffer): Buffer {
  const out = Buffer.alloc(8 + 14 + inner.length);
  out[0] = 0x08;
  out.writeUIntBE(vni, 4, 3);
  Buffer.from([0xa2, 0x5e, 0x3c, 0x02, 0x00, 0x02]).copy(out, 8); // inner dst MAC
  Buffer.from([0xa2, 0x5e, 0x3c, 0x01, 0x00, 0x01]).copy(out, 14); // inner src MAC
  out.writeUInt16BE(0x0800, 20);
  inner.copy(out, 22);
  return out;
}

/** Places `pkt` in a larger buffer at offset `off`, with junk around it (as pooled buffers look). */
export function inSlot(pkt: Buffer, off = 64, tail = 32): Buffer {
  const slot = Buffer.alloc(off + pkt.length + tail, 0xee);
  pkt.copy(slot, off);
  return slot;
}
