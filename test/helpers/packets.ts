// Builders for test packets (IPv4 + ICMP echo / UDP), using the wire codecs.
import { parseIpv4 as ip } from '../../src/addr/ipv4.js';
import { emitIcmpEcho, ICMP_ECHO_REQUEST } from '../../src/wire/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { emitUdp } from '../../src/wire/udp.js';

export interface IpOpts {
  ttl?: number;
  df?: boolean;
  ident?: number;
  fragOffset?: number;
}

export function ipv4Packet(src: string, dst: string, protocol: number, payload: Uint8Array, opts: IpOpts = {}): Buffer {
  const buf = Buffer.alloc(20 + payload.length);
  emitIpv4(
    {
      src: ip(src),
      dst: ip(dst),
      protocol,
      ttl: opts.ttl ?? 64,
      tos: 0,
      ident: opts.ident ?? 1,
      dontFragment: opts.df ?? false,
      moreFragments: false,
      fragOffset: opts.fragOffset ?? 0,
      payloadLen: payload.length,
    },
    buf,
    0,
  );
  buf.set(payload, 20);
  return buf;
}

export function icmpEcho(
  src: string,
  dst: string,
  seq: number,
  dataLen = 56,
  opts: IpOpts & { type?: number; ident?: number } = {},
): Buffer {
  const icmp = Buffer.alloc(8 + dataLen);
  const data = Buffer.alloc(dataLen, seq & 0xff);
  emitIcmpEcho({ type: opts.type ?? ICMP_ECHO_REQUEST, ident: opts.ident ?? 0x1234, seq, data }, icmp, 0);
  return ipv4Packet(src, dst, IPPROTO_ICMP, icmp, opts);
}

export function udpPacket(
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  opts: IpOpts = {},
): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  emitUdp({ srcPort, dstPort, payloadLen: payload.length }, udp, 0, { checksum: { src: ip(src), dst: ip(dst) } });
  udp.set(payload, 8);
  return ipv4Packet(src, dst, IPPROTO_UDP, udp, opts);
}
