// src/node/metrics.ts over a fake node: the series, their values at scrape time, per-node
// registries (never the global one), address parsing, and the HTTP server on loopback.
import { describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { Cidr, parseIpv4 } from '../../../src/addr/ipv4.js';
import type { CaptureStats } from '../../../src/capture/sink.js';
import type { MembershipStatus } from '../../../src/control/membership.js';
import { DataplaneCounters, Drop, DROP_REASONS, newPeerCounters, type PeerCounters } from '../../../src/dataplane/counters.js';
import { zeroCounters, type ImpairCounters } from '../../../src/impair/impair.js';
import { createNodeMetrics, parseMetricsAddr, startMetricsServer, type MetricsNode } from '../../../src/node/metrics.js';
import { parsePrometheusText } from '../../helpers/prometheus.js';

function fakeNode(name = 'node1') {
  const counters = new DataplaneCounters();
  const peers: Array<{ name: string; publicIp: number; counters: PeerCounters }> = [];
  const status: MembershipStatus = { source: 'static', state: 'running' };
  const files: { inner: CaptureStats | null; outer: CaptureStats | null } = { inner: null, outer: null };
  const live: Array<{ point: string; stats: CaptureStats }> = [];
  const links: Array<{ addr: number; counters: ImpairCounters }> = [];
  const node: MetricsNode = {
    name,
    lease: { subnet: Cidr.parse('10.244.1.0/24'), publicIp: parseIpv4('192.168.77.1') },
    backend: { name: 'vxlan' },
    dataplane: {
      counters,
      routes: {
        get size() {
          return peers.length;
        },
      },
      peers: () => peers,
      peerByAddr: (addr) => peers.find((p) => p.publicIp === addr),
    },
    membership: { status: () => status },
    capture: { stats: () => ({ files, live }) },
    impairments: { counters: () => ({ peers: links }) },
  };
  return { node, counters, peers, status, files, live, links };
}

const capStats = (written: number, dropped: number): CaptureStats => ({ captured: written + dropped, written, dropped, bytesWritten: 0, files: 1 });

async function scrape(f: ReturnType<typeof fakeNode>, now?: () => number) {
  return parsePrometheusText(await createNodeMetrics(f.node, { now }).metrics());
}

describe('createNodeMetrics', () => {
  it('has every drop reason from the start at 0, totals at 0, and help/type lines', async () => {
    const m = await scrape(fakeNode());
    for (const reason of DROP_REASONS) expect(m.value('flannelette_drops_total', { reason })).toBe(0);
    expect(m.series('flannelette_drops_total')).toHaveLength(DROP_REASONS.length);
    for (const direction of ['tx', 'rx']) {
      expect(m.value('flannelette_packets_total', { direction })).toBe(0);
      expect(m.value('flannelette_bytes_total', { direction })).toBe(0);
    }
    expect(m.value('flannelette_icmp_errors_sent_total')).toBe(0);
    expect(m.value('flannelette_routes')).toBe(0);
    expect(m.types.get('flannelette_packets_total')).toBe('counter');
    expect(m.types.get('flannelette_routes')).toBe('gauge');
    expect(m.help.get('flannelette_drops_total')).toMatch(/reason/);
    expect(m.value('flannelette_node_info', { node: 'node1', subnet: '10.244.1.0/24', backend: 'vxlan', public_ip: '192.168.77.1' })).toBe(1);
    // no peers, no lease expiry, no capture, no impaired links: no such series (only HELP/TYPE)
    for (const name of ['flannelette_peer_packets_total', 'flannelette_lease_expiry_seconds', 'flannelette_capture_drops_total', 'flannelette_impairment_packets_total']) {
      expect(m.series(name)).toEqual([]);
      expect(m.types.has(name)).toBe(true);
    }
  });

  it('reads the counters at scrape time: totals, drops, ICMP, peers, routes', async () => {
    const f = fakeNode();
    const registry = createNodeMetrics(f.node);
    const p2 = { name: 'node2', publicIp: parseIpv4('192.168.77.2'), counters: newPeerCounters() };
    f.peers.push(p2);
    Object.assign(f.counters, { txPackets: 10, txBytes: 840, rxPackets: 7, rxBytes: 588, icmpSent: 3 });
    f.counters.drop(Drop['no-route']);
    f.counters.drop(Drop['no-route']);
    f.counters.drop(Drop['wrong-vni']);
    Object.assign(p2.counters, { txPackets: 10, txBytes: 840, rxPackets: 7, rxBytes: 588 });
    let m = parsePrometheusText(await registry.metrics());
    expect(m.value('flannelette_packets_total', { direction: 'tx' })).toBe(10);
    expect(m.value('flannelette_bytes_total', { direction: 'tx' })).toBe(840);
    expect(m.value('flannelette_packets_total', { direction: 'rx' })).toBe(7);
    expect(m.value('flannelette_bytes_total', { direction: 'rx' })).toBe(588);
    expect(m.value('flannelette_icmp_errors_sent_total')).toBe(3);
    expect(m.value('flannelette_drops_total', { reason: 'no-route' })).toBe(2);
    expect(m.value('flannelette_drops_total', { reason: 'wrong-vni' })).toBe(1);
    expect(m.value('flannelette_drops_total', { reason: 'too-big' })).toBe(0);
    expect(m.value('flannelette_peer_packets_total', { peer: 'node2', direction: 'tx' })).toBe(10);
    expect(m.value('flannelette_peer_bytes_total', { peer: 'node2', direction: 'rx' })).toBe(588);
    expect(m.value('flannelette_routes')).toBe(1);

    // a second scrape sees new values (not accumulated ones) and a removed peer is gone
    f.counters.txPackets = 11;
    f.peers.length = 0;
    m = parsePrometheusText(await registry.metrics());
    expect(m.value('flannelette_packets_total', { direction: 'tx' })).toBe(11);
    expect(m.series('flannelette_peer_packets_total')).toEqual([]);
    expect(m.value('flannelette_routes')).toBe(0);
  });

  it('reports the lease expiry only while membership has one, in seconds from the injected clock', async () => {
    const f = fakeNode();
    expect((await scrape(f, () => 1_000_000)).series('flannelette_lease_expiry_seconds')).toEqual([]);
    f.status.leaseExpiresAt = 1_000_000 + 86_400_000;
    const m = await scrape(f, () => 1_000_000);
    expect(m.value('flannelette_lease_expiry_seconds', { subnet: '10.244.1.0/24' })).toBe(86_400);
  });

  it('reports capture written/dropped per point and sink, and impairment events per peer', async () => {
    const f = fakeNode();
    f.peers.push({ name: 'node2', publicIp: parseIpv4('192.168.77.2'), counters: newPeerCounters() });
    f.files.outer = capStats(5, 2);
    f.live.push({ point: 'inner', stats: capStats(9, 4) });
    f.links.push({ addr: parseIpv4('192.168.77.2'), counters: { ...zeroCounters(), sent: 100, droppedLoss: 7, rateLimited: 3 } });
    f.links.push({ addr: parseIpv4('192.168.77.9'), counters: { ...zeroCounters(), droppedPartition: 1 } });
    const m = await scrape(f);
    expect(m.value('flannelette_capture_written_total', { point: 'outer', sink: 'file' })).toBe(5);
    expect(m.value('flannelette_capture_drops_total', { point: 'outer', sink: 'file' })).toBe(2);
    expect(m.value('flannelette_capture_drops_total', { point: 'inner', sink: 'live' })).toBe(4);
    expect(m.value('flannelette_capture_drops_total', { point: 'inner', sink: 'file' })).toBeUndefined();
    expect(m.value('flannelette_impairment_packets_total', { peer: 'node2', event: 'sent' })).toBe(100);
    expect(m.value('flannelette_impairment_packets_total', { peer: 'node2', event: 'dropped_loss' })).toBe(7);
    expect(m.value('flannelette_impairment_packets_total', { peer: 'node2', event: 'rate_limited' })).toBe(3);
    // a link to an address that is no peer (any more) is named by its address
    expect(m.value('flannelette_impairment_packets_total', { peer: '192.168.77.9', event: 'dropped_partition' })).toBe(1);
  });

  it('uses a registry per node and never the global default registry', async () => {
    const a = fakeNode('a');
    const b = fakeNode('b');
    a.counters.txPackets = 1;
    b.counters.txPackets = 2;
    const ra = createNodeMetrics(a.node);
    const rb = createNodeMetrics(b.node); // same metric names: would throw in one shared registry
    expect(parsePrometheusText(await ra.metrics()).value('flannelette_packets_total', { direction: 'tx' })).toBe(1);
    expect(parsePrometheusText(await rb.metrics()).value('flannelette_packets_total', { direction: 'tx' })).toBe(2);
    expect(await globalRegistry.metrics()).not.toContain('flannelette_');
  });
});

describe('parseMetricsAddr', () => {
  it('reads HOST:PORT, hostnames and bracketed IPv6', () => {
    expect(parseMetricsAddr('127.0.0.1:9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseMetricsAddr('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    expect(parseMetricsAddr('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
  });

  it.each(['9100', ':9100', '127.0.0.1', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:http', '[nothex]:1', '::1:9100', 'a b:1'])(
    'rejects %s with a ConfigError naming the flag',
    (text) => {
      expect(() => parseMetricsAddr(text)).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('--metrics-addr') }));
    },
  );
});

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startMetricsServer (loopback)', () => {
  it('serves /metrics, 404 elsewhere, 405 for POST; refuses a port in use; frees it on close', async () => {
    const f = fakeNode();
    f.counters.rxPackets = 42;
    const server = await startMetricsServer(createNodeMetrics(f.node), { host: '127.0.0.1', port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await get(server.url);
      expect(ok.status).toBe(200);
      expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(parsePrometheusText(ok.body).value('flannelette_packets_total', { direction: 'rx' })).toBe(42);
      expect((await get(server.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await get(server.url, 'POST')).status).toBe(405);

      const port = Number(new URL(server.url).port);
      await expect(startMetricsServer(createNodeMetrics(f.node), { host: '127.0.0.1', port })).rejects.toMatchObject({
        name: 'DeviceError',
        message: expect.stringMatching(/^--metrics-addr 127\.0\.0\.1:\d+: cannot serve metrics: address already in use$/),
      });
      // a kept-alive client does not hold close() up
      const agent = new http.Agent({ keepAlive: true });
      await new Promise<void>((resolve) => http.get(server.url, { agent }, (res) => res.resume().on('end', resolve)));
      await server.close();
      agent.destroy();
      // the port is free again
      const probe = net.createServer();
      await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((r) => probe.close(r));
    } finally {
      await server.close();
    }
  });

  it('names an address this host does not have', async () => {
    await expect(startMetricsServer(createNodeMetrics(fakeNode().node), { host: '192.0.2.1', port: 9100 })).rejects.toMatchObject({
      name: 'DeviceError',
      message: '--metrics-addr 192.0.2.1:9100: cannot serve metrics: no interface of this node has that address',
    });
  });
});
