import { describe, expect, it } from 'vitest';
import dnsPacket, { type Packet } from 'dns-packet';
import fc from 'fast-check';
import { newCounters, respond } from '../../../src/dns/respond.js';
import { ClusterRecords } from '../../../src/dns/records.js';
import { fixtureRecords, fixtureZone, OPTIONS, service, slice } from './fixtures.js';

const query = (name: string, type: string, extra: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({
    id: 4242,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A' }],
    ...extra,
  });

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const rcodeOf = (b: Buffer): string => RCODES[b.readUInt16BE(2) & 0xf];
/** dns-packet decodes the rcode, its types do not declare it. */
const rc = (p: object): string => (p as { rcode: string }).rcode;

/** A headless Service with `n` ready endpoints: big answers. */
function bigRecords(n: number): ClusterRecords {
  const z = fixtureZone();
  z.apply('Service', 'ADDED', service('default', 'big', 'None', []));
  const eps = Array.from({ length: n }, (_, i) => ({ ip: `10.244.${1 + (i >> 8)}.${i & 255}` }));
  z.apply(
    'EndpointSlice',
    'ADDED',
    slice('default', 'big', 'big-1', eps, [{ name: 'http', protocol: 'TCP', port: 80 }]),
  );
  return new ClusterRecords(z, OPTIONS);
}

describe('cluster DNS messages', () => {
  const r = fixtureRecords();

  it('answers a query: same id and question, QR and AA set, RD copied', () => {
    const c = newCounters();
    const out = dnsPacket.decode(respond(query('myapp-service.default.svc.cluster.local', 'A'), 'udp', r, c)!);
    expect(out.id).toBe(4242);
    expect(out.type).toBe('response');
    expect(out.flag_aa).toBe(true);
    expect(out.flag_rd).toBe(true);
    expect(rc(out)).toBe('NOERROR');
    expect(out.questions).toEqual([{ name: 'myapp-service.default.svc.cluster.local', type: 'A', class: 'IN' }]);
    expect(out.answers?.map((a) => ('data' in a ? a.data : ''))).toEqual(['10.96.12.34']);
    expect(c).toMatchObject({ queries: 1, answered: 1 });
  });

  it('answers NXDOMAIN with the SOA, and REFUSED outside the zone', () => {
    const c = newCounters();
    const nx = dnsPacket.decode(respond(query('nosuch.default.svc.cluster.local', 'A'), 'udp', r, c)!);
    expect(rc(nx)).toBe('NXDOMAIN');
    expect(nx.authorities?.map((a) => a.type)).toEqual(['SOA']);
    const ref = dnsPacket.decode(respond(query('example.com', 'A'), 'udp', r, c)!);
    expect(rc(ref)).toBe('REFUSED');
    expect(ref.flag_aa).toBe(false);
    expect(c).toMatchObject({ nxdomain: 1, refused: 1 });
  });

  it('drops and counts messages too short for a header, and responses', () => {
    const c = newCounters();
    expect(respond(Buffer.alloc(0), 'udp', r, c)).toBeUndefined();
    expect(respond(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'udp', r, c)).toBeUndefined();
    const resp = query('a.cluster.local', 'A');
    resp[2] |= 0x80;
    expect(respond(resp, 'udp', r, c)).toBeUndefined();
    expect(c).toMatchObject({ malformed: 2, dropped: 1, queries: 0 });
  });

  it('answers FORMERR (same id) to a body that does not decode and to zero or two questions', () => {
    const c = newCounters();
    const cut = query('myapp-service.default.svc.cluster.local', 'A').subarray(0, 20);
    const f1 = respond(cut, 'udp', r, c)!;
    expect(f1.readUInt16BE(0)).toBe(4242);
    expect(rcodeOf(f1)).toBe('FORMERR');
    expect(f1[2] & 0x80).toBe(0x80);
    const none = dnsPacket.encode({ id: 7, type: 'query', questions: [] });
    expect(rcodeOf(respond(none, 'udp', r, c)!)).toBe('FORMERR');
    const two = dnsPacket.encode({
      id: 8,
      type: 'query',
      questions: [
        { name: 'a.cluster.local', type: 'A' },
        { name: 'b.cluster.local', type: 'A' },
      ],
    });
    expect(rcodeOf(respond(two, 'udp', r, c)!)).toBe('FORMERR');
    expect(c.formerr).toBe(3);
  });

  it('answers NOTIMP to another opcode and REFUSED to another class', () => {
    const c = newCounters();
    const status = query('cluster.local', 'SOA');
    status.writeUInt16BE((status.readUInt16BE(2) & ~0x7800) | (2 << 11), 2);
    expect(rcodeOf(respond(status, 'udp', r, c)!)).toBe('NOTIMP');
    const chaos = dnsPacket.encode({
      id: 9,
      type: 'query',
      questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }],
    });
    expect(rcodeOf(respond(chaos, 'udp', r, c)!)).toBe('REFUSED');
  });

  it('truncates over UDP to 512 bytes with TC set; EDNS(0) raises the limit; TCP is never truncated', () => {
    // dns-packet writes names uncompressed: 45 bytes an A record here, 60 records fit in 4096.
    const big = bigRecords(60);
    const c = newCounters();
    const udp = respond(query('big.default.svc.cluster.local', 'A'), 'udp', big, c)!;
    expect(udp.length).toBeLessThanOrEqual(512);
    const d = dnsPacket.decode(udp);
    expect(d.flag_tc).toBe(true);
    expect(d.answers!.length).toBeGreaterThan(0);
    expect(d.answers!.length).toBeLessThan(60);
    expect(c.truncated).toBe(1);
    const edns = query('big.default.svc.cluster.local', 'A', {
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0 } as never],
    });
    const e = dnsPacket.decode(respond(edns, 'udp', big, c)!);
    expect(e.flag_tc).toBe(false);
    expect(e.answers).toHaveLength(60);
    expect(e.additionals?.map((a) => a.type)).toEqual(['OPT']);
    const tcp = dnsPacket.decode(respond(query('big.default.svc.cluster.local', 'A'), 'tcp', big, c)!);
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(60);
  });

  it('drops additional records before truncating, without TC when the answers fit', () => {
    const big = bigRecords(20);
    const out = respond(query('_http._tcp.big.default.svc.cluster.local', 'SRV'), 'udp', big, newCounters())!;
    const d = dnsPacket.decode(out);
    expect(out.length).toBeLessThanOrEqual(512);
    if (d.flag_tc) expect(d.answers!.length).toBeLessThan(20);
    else expect(d.answers).toHaveLength(20);
    expect(d.additionals).toEqual([]);
  });

  it('never throws on arbitrary bytes; every answer carries the query id', () => {
    const c = newCounters();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const out = respond(buf, 'udp', r, c);
        if (out) expect(out.readUInt16BE(0)).toBe(buf.readUInt16BE(0));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 12, max: 80 }), fc.integer({ min: 0, max: 255 }), (cut, flip) => {
        const q = query('_http._tcp.web.default.svc.cluster.local', 'SRV');
        const buf = Buffer.from(q.subarray(0, Math.min(cut, q.length)));
        buf[flip % buf.length] ^= 0x5a;
        expect(() => respond(buf, 'udp', r, c)).not.toThrow();
      }),
    );
  });
});
