// UdpCoalescer: consecutive UDP/IPv4 datagrams of one flow become one GSO_UDP_L4 super-packet whose
// segmentation (done here by hand, as the kernel does it) gives back the same datagrams with
// checksums that verify; ineligible datagrams are refused.
import { describe, expect, it } from 'vitest';
import { newVnetHdr, readVnetHdr, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_HDR_LEN } from '../../../src/tun/offload.js';
import { UDP_COALESCE_MAX, UdpCoalescer, VNET_GSO_UDP_L4 } from '../../../src/tun/udp-coalesce.js';
import { internetChecksum, pseudoHeaderSumIpv4 } from '../../../src/wire/checksum.js';

const SRC = 0x0af40102;
const DST = 0x0af40202;

/** A UDP/IPv4 datagram built independently of the code under test; csum false = no checksum (0). */
function udp(payload: Buffer, o: { sport?: number; ttl?: number; csum?: boolean; id?: number } = {}): Buffer {
  const b = Buffer.alloc(28 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(o.id ?? 1, 4);
  b[8] = o.ttl ?? 63;
  b[9] = 17;
  b.writeUInt32BE(SRC, 12);
  b.writeUInt32BE(DST, 16);
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  b.writeUInt16BE(o.sport ?? 40000, 20);
  b.writeUInt16BE(5201, 22);
  b.writeUInt16BE(b.length - 20, 24);
  payload.copy(b, 28);
  if (o.csum !== false) {
    const c = internetChecksum(b, 20, b.length - 20, pseudoHeaderSumIpv4(SRC, DST, 17, b.length - 20));
    b.writeUInt16BE(c === 0 ? 0xffff : c, 26);
  }
  return b;
}

function payload(n: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (seed * 17 + i * 5) & 0xff));
}

/** What the kernel makes of a GSO_UDP_L4 packet: datagrams of gsoSize payload with fresh checksums. */
function segment(pkt: Buffer, gsoSize: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 28; at < pkt.length; at += gsoSize) {
    const p = pkt.subarray(at, Math.min(at + gsoSize, pkt.length));
    const d = Buffer.concat([pkt.subarray(0, 28), p]);
    d.writeUInt16BE(d.length, 2);
    d.writeUInt16BE(0, 10);
    d.writeUInt16BE(internetChecksum(d, 0, 20), 10);
    d.writeUInt16BE(d.length - 20, 24);
    d.writeUInt16BE(0, 26);
    const c = internetChecksum(d, 20, d.length - 20, pseudoHeaderSumIpv4(SRC, DST, 17, d.length - 20));
    d.writeUInt16BE(c === 0 ? 0xffff : c, 26);
    out.push(d);
  }
  return out;
}

describe('UdpCoalescer', () => {
  it('merges a run of one flow into one GSO_UDP_L4 packet that segments back into the same datagrams', () => {
    const dgrams = [...Array.from({ length: 20 }, (_, i) => udp(payload(64, i))), udp(payload(30, 99))];
    const c = new UdpCoalescer();
    for (const d of dgrams) expect(c.add(d, 0, d.length)).toBe(true);
    expect(c.count).toBe(21);
    const len = c.finish();
    const h = readVnetHdr(c.out, 0, newVnetHdr());
    expect(h).toEqual({
      flags: VNET_F_NEEDS_CSUM,
      gsoType: VNET_GSO_UDP_L4,
      hdrLen: 28,
      gsoSize: 64,
      csumStart: 20,
      csumOffset: 6,
    });
    const merged = Buffer.from(c.out.subarray(VNET_HDR_LEN, len));
    expect(merged.length).toBe(28 + 20 * 64 + 30);
    expect(internetChecksum(merged, 0, 20)).toBe(0);
    expect(merged.readUInt16BE(24)).toBe(merged.length - 20);
    expect(merged.readUInt16BE(26)).toBe(pseudoHeaderSumIpv4(SRC, DST, 17, merged.length - 20));
    expect(segment(merged, h.gsoSize)).toEqual(dgrams);
  });

  it('writes a lone datagram back unchanged with an all-zero header', () => {
    const d = udp(payload(100, 1));
    const c = new UdpCoalescer();
    expect(c.add(d, 0, d.length)).toBe(true);
    const len = c.finish();
    expect(readVnetHdr(c.out, 0, newVnetHdr()).gsoType).toBe(VNET_GSO_NONE);
    expect(c.out.subarray(VNET_HDR_LEN, len).equals(d)).toBe(true);
    expect(c.finish()).toBe(0);
  });

  it('refuses ineligible datagrams and ones that do not continue the run', () => {
    const c = new UdpCoalescer();
    const put = (d: Buffer): boolean => c.add(d, 0, d.length);
    expect(put(udp(payload(64, 1), { csum: false }))).toBe(false); // no checksum to trust
    const bad = udp(payload(64, 1));
    bad[40] ^= 1;
    expect(put(bad)).toBe(false); // checksum fails
    expect(put(udp(Buffer.alloc(0)))).toBe(false); // no payload
    expect(put(udp(payload(64, 2)))).toBe(true);
    expect(put(udp(payload(64, 3), { sport: 40001 }))).toBe(false); // another flow
    expect(put(udp(payload(64, 3), { ttl: 9 }))).toBe(false);
    expect(put(udp(payload(65, 3)))).toBe(false); // longer than the first
    expect(put(udp(payload(10, 3)))).toBe(true); // shorter: closes the run
    expect(put(udp(payload(64, 4)))).toBe(false);
    expect(c.count).toBe(2);
    c.finish();
    for (let i = 0; i < UDP_COALESCE_MAX; i++) expect(put(udp(payload(8, i)))).toBe(true);
    expect(put(udp(payload(8, 0)))).toBe(false); // at most UDP_COALESCE_MAX per write
  });
});
