// `npm run bench:dataplane`: packets per second through the data path alone, each direction, over
// in-process devices (no kernel, no sockets), for 64- and 1400-byte inner packets and both backends;
// route lookups per second with 10,000 subnets; TCP segmentation and coalescing (bench/offload.ts).
// One core, one process; rates are per second of the process's CPU time (user + system), so other
// load on a shared machine counts less.
import { Cidr, parseIpv4 } from '../src/addr/ipv4.js';
import { parseMac } from '../src/addr/mac.js';
import type { BackendName } from '../src/backend/table.js';
import { BACKENDS } from '../src/dataplane/backends.js';
import { Dataplane } from '../src/dataplane/dataplane.js';
import type { TunDevice } from '../src/tun/device.js';
import { type PacketBatch, newPacketBatch, PACKET_HEADROOM, SLOT_SIZE } from '../src/util/buffers.js';
import type { DatagramBatch, Underlay } from '../src/underlay/underlay.js';
import { newDatagramBatch } from '../src/underlay/underlay.js';
import { emitIpv4 } from '../src/wire/ipv4.js';
import { benchOffload } from './offload.js';
import { benchRouteLookups } from './route.js';

const BURST = 64;
const MAC_A = parseMac('0e:00:00:00:01:01');
const MAC_B = parseMac('0e:00:00:00:02:01');

class SinkTun implements TunDevice {
  readonly name = 'bench0';
  readonly mtu = 1450;
  handler?: (b: PacketBatch) => void;
  written = 0;
  start(h: (b: PacketBatch) => void): void {
    this.handler = h;
  }
  write(): boolean {
    this.written++;
    return true;
  }
  flush(): void {}
  async close(): Promise<void> {}
}

class SinkUnderlay implements Underlay {
  readonly localAddr: number;
  readonly localPort: number;
  handler?: (b: DatagramBatch) => void;
  sent = 0;
  last?: { buf: Buffer; off: number; len: number };
  constructor(addr: number, port: number) {
    this.localAddr = addr;
    this.localPort = port;
  }
  start(h: (b: DatagramBatch) => void): void {
    this.handler = h;
  }
  send(buf: Buffer, off: number, len: number): boolean {
    this.sent++;
    if (!this.last) this.last = { buf: Buffer.from(buf.subarray(off, off + len)), off, len };
    return true;
  }
  flush(): void {}
  async close(): Promise<void> {}
}

function makeNode(backendName: BackendName, name: string, subnet: string, ip: string, mac: Buffer) {
  const backend = BACKENDS[backendName];
  const tun = new SinkTun();
  const underlay = new SinkUnderlay(parseIpv4(ip), backend.defaultPort);
  const dp = new Dataplane({
    tun,
    underlay,
    backend,
    local: { name, subnet: Cidr.parse(subnet), publicIp: parseIpv4(ip), port: backend.defaultPort, vni: 1, vtepMac: mac, underlayMtu: 1500 },
  });
  dp.start();
  return { dp, tun, underlay, backend };
}

function ipPacket(size: number, src: string, dst: string): Buffer {
  const p = Buffer.alloc(size);
  emitIpv4({ src: parseIpv4(src), dst: parseIpv4(dst), protocol: 17, ttl: 64, tos: 0, ident: 1, dontFragment: true, moreFragments: false, fragOffset: 0, payloadLen: size - 20 }, p, 0);
  return p;
}

/** Runs `round` for `seconds` of this process's CPU time; returns packets per CPU second. */
function measure(seconds: number, round: () => number): number {
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let packets = 0;
  const start = cpu();
  let now = start;
  while (now - start < seconds) {
    for (let i = 0; i < 64; i++) packets += round();
    now = cpu();
  }
  return packets / (now - start);
}

function benchBackend(backendName: BackendName, size: number): { encapPps: number; decapPps: number } {
  const a = makeNode(backendName, 'a', '10.244.1.0/24', '192.168.1.2', MAC_A);
  const b = makeNode(backendName, 'b', '10.244.2.0/24', '192.168.1.3', MAC_B);
  for (const [n, other, subnet, ip, mac] of [
    [a, 'b', '10.244.2.0/24', '192.168.1.3', MAC_B],
    [b, 'a', '10.244.1.0/24', '192.168.1.2', MAC_A],
  ] as const) {
    n.dp.apply({ type: 'add-peer', peer: { name: other, subnet: Cidr.parse(subnet), publicIp: parseIpv4(ip), port: n.backend.defaultPort, vtepMac: mac } });
    n.dp.applyPending();
  }
  // Pod → overlay on node a: a burst of packets sitting in slots with headroom.
  const inner = ipPacket(size, '10.244.1.2', '10.244.2.2');
  const slab = Buffer.alloc(BURST * SLOT_SIZE);
  const tunBatch = newPacketBatch(BURST);
  tunBatch.count = BURST;
  for (let i = 0; i < BURST; i++) {
    tunBatch.bufs[i] = slab;
    tunBatch.offs[i] = i * SLOT_SIZE + PACKET_HEADROOM;
    tunBatch.lens[i] = size;
  }
  const refill = (): void => {
    for (let i = 0; i < BURST; i++) inner.copy(slab, tunBatch.offs[i]!, 0, 20); // restore TTL and checksum
  };
  for (let i = 0; i < BURST; i++) inner.copy(slab, tunBatch.offs[i]!);
  const encapPps = measure(1.5, () => {
    refill();
    a.tun.handler!(tunBatch);
    return BURST;
  });
  if (a.underlay.sent === 0 || a.dp.counters.totalDrops() > 0) throw new Error(`encapsulation bench dropped packets: ${JSON.stringify(a.dp.counters.snapshot().drops)}`);

  // Overlay → pod on node b: the datagram node a produced, repeated.
  const datagram = a.underlay.last!;
  const dslab = Buffer.alloc(BURST * SLOT_SIZE);
  const dBatch = newDatagramBatch(BURST);
  dBatch.count = BURST;
  for (let i = 0; i < BURST; i++) {
    dBatch.bufs[i] = dslab;
    dBatch.offs[i] = i * SLOT_SIZE + PACKET_HEADROOM;
    dBatch.lens[i] = datagram.len;
    dBatch.addrs[i] = parseIpv4('192.168.1.2');
    dBatch.ports[i] = a.backend.defaultPort;
    datagram.buf.copy(dslab, dBatch.offs[i]!);
  }
  const decapPps = measure(1.5, () => {
    b.underlay.handler!(dBatch);
    return BURST;
  });
  if (b.tun.written === 0 || b.dp.counters.totalDrops() > 0) throw new Error(`decapsulation bench dropped packets: ${JSON.stringify(b.dp.counters.snapshot().drops)}`);
  return { encapPps, decapPps };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`;
}

export function runDataplaneBench(): Record<string, number> {
  const results: Record<string, number> = {};
  console.log('data path, in memory, one core (packets per second, per direction)');
  console.log('backend  size    encapsulate   decapsulate');
  for (const backend of ['vxlan', 'udp'] as const) {
    for (const size of [64, 1400]) {
      const r = benchBackend(backend, size);
      results[`${backend}_${size}_encap_pps`] = Math.round(r.encapPps);
      results[`${backend}_${size}_decap_pps`] = Math.round(r.decapPps);
      console.log(`${backend.padEnd(8)} ${String(size).padEnd(6)}  ${fmt(r.encapPps).padStart(11)}   ${fmt(r.decapPps).padStart(11)}`);
    }
  }
  const route = benchRouteLookups(10_000);
  results.route_lookups_per_second_10k = Math.round(route.lookupsPerSecond);
  console.log(`route lookups with 10,000 subnets: ${fmt(route.lookupsPerSecond)}`);
  const offload = benchOffload();
  results.tso_segment_pps = Math.round(offload.segmentPps);
  results.tcp_coalesce_pps = Math.round(offload.coalescePps);
  console.log(`TUN offload, 1448-byte TCP segments: segment ${fmt(offload.segmentPps)}, coalesce ${fmt(offload.coalescePps)}`);
  return results;
}

runDataplaneBench();
