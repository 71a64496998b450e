// The DNS server's sockets on loopback, asked by Node's own resolver (c-ares) and by hand over TCP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { ClusterRecords } from '../../../src/dns/records.js';
import { DnsServer } from '../../../src/dns/server.js';
import { fixtureZone, OPTIONS, service, slice } from './fixtures.js';

describe('cluster DNS server on UDP and TCP', () => {
  const zone = fixtureZone();
  zone.apply('Service', 'ADDED', service('default', 'big', 'None', []));
  const eps = Array.from({ length: 300 }, (_, i) => ({ ip: `10.244.${1 + (i >> 8)}.${i & 255}` }));
  zone.apply('EndpointSlice', 'ADDED', slice('default', 'big', 'big-1', eps, []));
  const server = new DnsServer(new ClusterRecords(zone, OPTIONS), { host: '127.0.0.1', port: 0 });
  let port = 0;
  const resolver = new Resolver({ timeout: 2000, tries: 2 });

  beforeAll(async () => {
    port = await server.start();
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  afterAll(() => server.stop());

  it('answers A, SRV and NXDOMAIN to c-ares', async () => {
    expect(await resolver.resolve4('myapp-service.default.svc.cluster.local')).toEqual(['10.96.12.34']);
    expect(await resolver.resolveSrv('_http._tcp.web.default.svc.cluster.local')).toEqual([
      { name: 'alpha.web.default.svc.cluster.local', port: 8080, priority: 0, weight: 50 },
      { name: 'web-1.web.default.svc.cluster.local', port: 8080, priority: 0, weight: 50 },
    ]);
    await expect(resolver.resolve4('nosuch.default.svc.cluster.local')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('sends a truncated UDP answer, and c-ares gets all 300 records over TCP', async () => {
    const addrs = await resolver.resolve4('big.default.svc.cluster.local');
    expect(addrs).toHaveLength(300);
    expect(server.counters.truncated).toBeGreaterThanOrEqual(1);
  });

  it('answers several length-prefixed queries on one TCP connection', async () => {
    const frame = (id: number, name: string): Buffer => {
      const m = dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });
      const f = Buffer.alloc(m.length + 2);
      f.writeUInt16BE(m.length, 0);
      m.copy(f, 2);
      return f;
    };
    const answers = await new Promise<number[]>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      const got: number[] = [];
      let buf = Buffer.alloc(0);
      s.on('error', reject);
      s.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          got.push(dnsPacket.decode(buf.subarray(2, 2 + len)).id!);
          buf = buf.subarray(2 + len);
        }
        if (got.length === 3) {
          s.destroy();
          resolve(got);
        }
      });
      // two in one write, the third split across writes
      const third = frame(3, 'web.default.svc.cluster.local');
      s.write(
        Buffer.concat([frame(1, 'myapp-service.default.svc.cluster.local'), frame(2, 'big.default.svc.cluster.local')]),
      );
      s.write(third.subarray(0, 5));
      setImmediate(() => s.write(third.subarray(5)));
    });
    expect(answers).toEqual([1, 2, 3]);
  });

  it('counts and drops a malformed UDP datagram, then keeps answering', async () => {
    const before = server.counters.malformed;
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(Buffer.from([1, 2, 3]), port, '127.0.0.1', () => r()));
    sock.close();
    expect(await resolver.resolve4('myapp-service.default.svc.cluster.local')).toEqual(['10.96.12.34']);
    expect(server.counters.malformed).toBe(before + 1);
  });

  it('rejects with DeviceError when the port is taken', async () => {
    const other = new DnsServer(new ClusterRecords(zone, OPTIONS), { host: '127.0.0.1', port });
    await expect(other.start()).rejects.toMatchObject({ name: 'DeviceError' });
    await other.stop();
  });
});
