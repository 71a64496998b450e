// `trace` runs the data path's own decisions: for every packet it explains, what it reports (verdict,
// drop reason, ICMP error, outer ports and size) must be what happens when the same packet really
// goes through two nodes over in-memory devices — the outer source port the receiving underlay sees
// included.
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { formatMac, parseMac } from '../../../src/addr/mac.js';
import { BACKEND_NAMES, OUTER_IPV4_UDP_LEN, type BackendName } from '../../../src/backend/table.js';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { DROP_REASONS } from '../../../src/dataplane/counters.js';
import { DataplaneCounters } from '../../../src/dataplane/counters.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { WgTunnel } from '../../../src/dataplane/wg-tunnel.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';
import { generateKeys, TAG_LEN } from '../../../src/wireguard/crypto.js';
import { paddedLength } from '../../../src/wireguard/transport.js';
import { TRACE_SOURCE_PORT, tracePacket, type TraceQuery, type TraceResult } from '../../../src/dataplane/trace.js';
import { MemoryTun } from '../../../src/tun/memory.js';
import { MemoryNetwork } from '../../../src/underlay/memory.js';
import { FLOW_PORT_MAX, FLOW_PORT_MIN } from '../../../src/wire/flow-hash.js';
import { IPPROTO_TCP } from '../../../src/wire/ipv4.js';
import { emitTcp, TCP_SYN } from '../../../src/wire/tcp.js';
import { icmpEcho, ipv4Packet, udpPacket } from '../../helpers/packets.js';
import { UnderlaySpy } from '../../helpers/underlay-spy.js';

const SPECS = [
  { name: 'node1', subnet: '10.244.1.0/24', ip: '192.168.1.2', mac: '0e:00:00:00:01:01', keys: generateKeys() },
  { name: 'node2', subnet: '10.244.2.0/24', ip: '192.168.1.3', mac: '0e:00:00:00:02:01', keys: generateKeys() },
];

function twoNodes(backendName: BackendName) {
  const backend = BACKENDS[backendName];
  const net = new MemoryNetwork();
  const nodes = SPECS.map((s) => {
    const tun = new MemoryTun({ name: backend.tunName, mtu: 9000 });
    const underlay = new UnderlaySpy(net.attach(ip(s.ip), backend.defaultPort));
    const local = {
      name: s.name,
      subnet: Cidr.parse(s.subnet),
      publicIp: ip(s.ip),
      port: backend.defaultPort,
      vni: 1,
      vtepMac: parseMac(s.mac),
      underlayMtu: 1500,
    };
    // wireguard: a tunnel with this node's key (its timers on a clock that stays still); the
    // handshake runs below, before any test packet
    const counters = new DataplaneCounters();
    const tunnel = backend.encrypted
      ? new WgTunnel({
          privateKey: s.keys.privateKey,
          mtu: 1420,
          underlay,
          counters,
          clock: new VirtualClock(),
          rng: seededRng(1),
        })
      : undefined;
    const dp = new Dataplane({ tun, underlay, backend, local, tunnel, counters });
    const delivered: Buffer[] = [];
    tun.onWrite = (pkt: Uint8Array) => delivered.push(Buffer.from(pkt));
    dp.start();
    return { ...s, tun, underlay, dp, delivered, tunnel };
  });
  for (const n of nodes) {
    for (const p of nodes) {
      if (p !== n)
        n.dp.apply({
          type: 'add-peer',
          peer: {
            name: p.name,
            subnet: Cidr.parse(p.subnet),
            publicIp: ip(p.ip),
            port: backend.defaultPort,
            vtepMac: parseMac(p.mac),
            publicKey: p.keys.publicKey,
          },
        });
    }
    n.dp.applyPending();
  }
  const settle = (): void => {
    for (let round = 0; round < 20; round++) {
      let moved = 0;
      for (const n of nodes) moved += n.tun.deliverPending();
      moved += net.deliverAll();
      if (moved === 0) return;
    }
    throw new Error('did not settle');
  };
  const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  if (backend.encrypted) {
    n1.tun.inject(icmpEcho('10.244.1.2', '10.244.2.2', 99));
    settle();
    n2.tun.inject(icmpEcho('10.244.2.2', '10.244.1.2', 99));
    settle();
    for (const n of nodes) {
      if (n.delivered.length !== 1) throw new Error('the wireguard handshake did not complete');
      n.delivered.length = 0;
      n.underlay.received.length = 0;
    }
  }
  const trace = (q: Omit<TraceQuery, 'src' | 'dst'> & { src: string; dst: string }): TraceResult =>
    tracePacket(n1.dp, n1.dp.local, backend, { ...q, src: ip(q.src), dst: ip(q.dst) });
  return { n1, n2, settle, trace, backend };
}

function tcpPacket(src: string, dst: string, srcPort: number, dstPort: number, len: number): Buffer {
  const tcp = Buffer.alloc(len - 20);
  emitTcp(
    { srcPort, dstPort, seq: 1, ack: 0, flags: TCP_SYN, window: 64240, urgent: 0, payloadLen: len - 40 },
    tcp,
    0,
    { checksum: { src: ip(src), dst: ip(dst) } },
  );
  return ipv4Packet(src, dst, IPPROTO_TCP, tcp);
}

for (const backendName of BACKEND_NAMES) {
  describe(`trace, ${backendName} backend`, () => {
    it('reports the outer ports and size the receiving underlay sees, flow by flow', () => {
      const { n1, n2, settle, trace, backend } = twoNodes(backendName);
      const flows: { q: Parameters<typeof trace>[0]; packet: Buffer }[] = [];
      for (let sport = 40000; sport < 40020; sport++) {
        flows.push({
          q: { src: '10.244.1.2', dst: '10.244.2.3', proto: 'udp', srcPort: sport, port: 53, size: 20 + 8 + 30 },
          packet: udpPacket('10.244.1.2', '10.244.2.3', sport, 53, Buffer.alloc(30, 1)),
        });
      }
      flows.push({
        q: { src: '10.244.1.7', dst: '10.244.2.9', proto: 'tcp', srcPort: 51000, port: 80, size: 60 },
        packet: tcpPacket('10.244.1.7', '10.244.2.9', 51000, 80, 60),
      });
      flows.push({
        q: { src: '10.244.1.7', dst: '10.244.2.9', proto: 'tcp', port: 443, size: 40 },
        packet: tcpPacket('10.244.1.7', '10.244.2.9', TRACE_SOURCE_PORT, 443, 40),
      });
      flows.push({
        q: { src: '10.244.1.2', dst: '10.244.2.2', proto: 'icmp' },
        packet: icmpEcho('10.244.1.2', '10.244.2.2', 1),
      });
      const traces = flows.map((f) => trace(f.q));
      for (const f of flows) n1.tun.inject(f.packet);
      settle();

      expect(n2.delivered).toHaveLength(flows.length);
      expect(n2.underlay.received).toHaveLength(flows.length);
      traces.forEach((t, i) => {
        const seen = n2.underlay.received[i];
        expect(t.verdict).toBe('forward');
        expect(t.outer).toMatchObject({ src: '192.168.1.2', dst: '192.168.1.3', dstPort: backend.defaultPort });
        expect({ flow: i, srcPort: t.outer!.srcPort }).toEqual({ flow: i, srcPort: seen.port });
        expect(t.outer!.bytes).toBe(OUTER_IPV4_UDP_LEN + seen.len);
        const sealed = backend.encrypted
          ? paddedLength(flows[i].packet.length, 1420) + TAG_LEN
          : flows[i].packet.length;
        expect(seen.len).toBe(sealed + backend.headerLen);
        expect(t.steps.join('\n')).toContain(`192.168.1.2:${seen.port} → 192.168.1.3:${backend.defaultPort}`);
      });
      const ports = traces.map((t) => t.outer!.srcPort);
      if (backend.sourcePort === 'flow') {
        expect(traces.every((t) => t.outer!.srcPortFrom === 'flow-hash')).toBe(true);
        expect(new Set(ports).size).toBeGreaterThan(15); // the flows spread
        for (const p of ports) {
          expect(p).toBeGreaterThanOrEqual(FLOW_PORT_MIN);
          expect(p).toBeLessThan(FLOW_PORT_MAX);
        }
        expect(traces[0].outer).toMatchObject({
          vni: 1,
          innerSrcMac: '0e:00:00:00:01:01',
          innerDstMac: formatMac(parseMac(SPECS[1].mac)),
        });
      } else {
        expect(new Set(ports)).toEqual(new Set([backend.defaultPort]));
        expect(traces.every((t) => t.outer!.srcPortFrom === 'socket')).toBe(true);
      }
    });

    it('reports the drop and the ICMP error the data path produces', () => {
      const { n1, n2, settle, trace } = twoNodes(backendName);
      const pathMtu = n1.dp.pathMtu;
      const cases: { q: Parameters<typeof trace>[0]; packet: Buffer; icmp: boolean }[] = [
        {
          q: { src: '10.244.1.2', dst: '10.245.0.1', proto: 'icmp' },
          packet: icmpEcho('10.244.1.2', '10.245.0.1', 1),
          icmp: true,
        },
        {
          q: { src: '10.244.1.2', dst: '10.244.2.2', proto: 'icmp', ttl: 1 },
          packet: icmpEcho('10.244.1.2', '10.244.2.2', 2, 56, { ttl: 1 }),
          icmp: true,
        },
        {
          q: { src: '10.244.1.2', dst: '10.244.2.2', proto: 'icmp', size: pathMtu + 1, dontFragment: true },
          packet: icmpEcho('10.244.1.2', '10.244.2.2', 3, pathMtu + 1 - 28, { df: true }),
          icmp: true,
        },
        {
          q: { src: '10.244.1.2', dst: '10.244.2.2', proto: 'icmp', size: pathMtu + 1 },
          packet: icmpEcho('10.244.1.2', '10.244.2.2', 4, pathMtu + 1 - 28),
          icmp: false,
        },
      ];
      for (const c of cases) {
        const before = [...n1.dp.counters.drops];
        const icmpBefore = n1.dp.counters.icmpSent;
        const t = trace(c.q);
        n1.tun.inject(c.packet);
        settle();
        const bumped = DROP_REASONS.filter((_, i) => n1.dp.counters.drops[i] !== before[i]);
        expect({ verdict: t.verdict, drop: [t.drop] }).toEqual({ verdict: 'drop', drop: bumped });
        expect(n1.dp.counters.icmpSent - icmpBefore).toBe(c.icmp ? 1 : 0);
        expect(t.icmp !== undefined).toBe(c.icmp);
      }
      expect(trace(cases[2].q).icmp).toBe(`fragmentation needed, MTU ${pathMtu}`);
      expect(n2.delivered).toHaveLength(0);
    });

    it("follows the receiver's checks: a spoofed source is dropped there, the node's own address is not", () => {
      const { n1, n2, settle, trace } = twoNodes(backendName);
      const spoofed = trace({ src: '10.9.9.9', dst: '10.244.2.2', proto: 'udp', srcPort: 1, port: 2 });
      n1.tun.inject(udpPacket('10.9.9.9', '10.244.2.2', 1, 2, Buffer.alloc(56)));
      settle();
      expect(spoofed).toMatchObject({ verdict: 'drop', drop: 'spoofed-source' });
      expect(n2.dp.counters.dropCount('spoofed-source')).toBe(1);
      expect(n2.underlay.received[0].port).toBe(spoofed.outer!.srcPort);

      const fromNode = trace({ src: '192.168.1.2', dst: '10.244.2.2', proto: 'icmp' });
      n1.tun.inject(icmpEcho('192.168.1.2', '10.244.2.2', 9));
      settle();
      expect(fromNode.verdict).toBe('forward');
      expect(n2.delivered).toHaveLength(1);
    });

    it('answers locally for its own subnet and never throws on a runt', () => {
      const { trace } = twoNodes(backendName);
      expect(trace({ src: '10.244.1.2', dst: '10.244.1.3', proto: 'icmp' }).verdict).toBe('local');
      expect(trace({ src: '10.244.1.2', dst: '10.244.2.3', proto: 'udp', size: 12 })).toMatchObject({
        verdict: 'drop',
        drop: 'tun-malformed',
      });
      const short = trace({ src: '10.244.1.2', dst: '10.244.2.3', proto: 'tcp', size: 20 });
      expect(short.verdict).toBe('forward');
    });
  });
}
