// Cluster DNS as one running component (what the lab's `coredns` pod runs): the zone fed from the API
// (zone-feed.ts), the DNS server on UDP and TCP (server.ts), and CoreDNS's side ports: `health`
// (GET /health → 200 "OK" once serving) and `ready` (GET /ready → 200 "OK" once the zone has been
// listed from the API, 503 before), plus GET /metrics on the ready port with the DNS counters in
// Prometheus text (prom-client). Before the first list, names in the zone are SERVFAIL (records.ts), and
// the readiness probe keeps the pod out of the kube-dns Service meanwhile.
// start() rejects with DeviceError when a port cannot be bound (everything opened so far is closed).
import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import type { ApiClient } from '../kclient/api-client.js';
import { DeviceError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { ClusterRecords, type ZoneOptions } from './records.js';
import type { DnsCounters } from './respond.js';
import { DnsServer } from './server.js';
import { ClusterZone } from './zone.js';
import { ZoneFeed } from './zone-feed.js';

export interface ClusterDnsOptions extends ZoneOptions {
  host: string;
  port: number;
  /** CoreDNS's `health` port (8080); 0 picks one; undefined: none. */
  healthPort?: number;
  /** CoreDNS's `ready` port (8181), also /metrics; 0 picks one; undefined: none. */
  readyPort?: number;
}

export interface ClusterDnsHandle {
  port: number;
  healthPort?: number;
  readyPort?: number;
  counters: DnsCounters;
  zone: ClusterZone;
  feed: ZoneFeed;
  stop(): Promise<void>;
}

function listen(server: http.Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new DeviceError(`dns: ${what} ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

function metricsRegistry(c: DnsCounters): Registry {
  const registry = new Registry();
  const g = new Gauge({
    name: 'flannelette_dns_messages',
    help: 'DNS messages by outcome (queries, answered, nxdomain, refused, formerr, malformed, dropped, truncated)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      for (const [k, v] of Object.entries(c) as [string, number][]) this.set({ outcome: k }, v);
    },
  });
  void g;
  return registry;
}

export async function startClusterDns(api: ApiClient, opts: ClusterDnsOptions, log: Logger): Promise<ClusterDnsHandle> {
  const zone = new ClusterZone();
  const feed = new ZoneFeed(api, zone, log);
  const server = new DnsServer(new ClusterRecords(zone, opts), { host: opts.host, port: opts.port });
  const side: http.Server[] = [];
  const stop = async (): Promise<void> => {
    feed.stop();
    await server.stop();
    await Promise.all(side.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  try {
    const port = await server.start();
    feed.start();
    let healthPort: number | undefined;
    let readyPort: number | undefined;
    if (opts.healthPort !== undefined) {
      const h = http.createServer((req, res) => {
        res.writeHead(req.url === '/health' ? 200 : 404).end(req.url === '/health' ? 'OK' : 'not found');
      });
      side.push(h);
      healthPort = await listen(h, opts.host, opts.healthPort, 'health');
    }
    if (opts.readyPort !== undefined) {
      const registry = metricsRegistry(server.counters);
      const r = http.createServer((req, res) => {
        if (req.url === '/ready') res.writeHead(feed.isSynced ? 200 : 503).end(feed.isSynced ? 'OK' : 'kubernetes');
        else if (req.url === '/metrics')
          void registry
            .metrics()
            .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text));
        else res.writeHead(404).end('not found');
      });
      side.push(r);
      readyPort = await listen(r, opts.host, opts.readyPort, 'ready');
    }
    return { port, healthPort, readyPort, counters: server.counters, zone, feed, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
