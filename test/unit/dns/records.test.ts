import { describe, expect, it } from 'vitest';
import type { Answer } from 'dns-packet';
import { ClusterRecords, dashIp, undashIp } from '../../../src/dns/records.js';
import { ClusterZone } from '../../../src/dns/zone.js';
import { fixtureRecords, fixtureZone, OPTIONS, pod, service, slice } from './fixtures.js';

const data = (as: Answer[]): unknown[] => as.map((a) => ('data' in a ? a.data : undefined));

describe('cluster DNS names (CoreDNS kubernetes plugin behaviour)', () => {
  const r = fixtureRecords();

  it('answers a ClusterIP Service with its ClusterIP, authoritatively, owner as asked', () => {
    const l = r.lookup('myapp-service.default.svc.cluster.local.', 'A');
    expect(l.rcode).toBe('NOERROR');
    expect(l.authoritative).toBe(true);
    expect(l.answers).toEqual([
      { name: 'myapp-service.default.svc.cluster.local', type: 'A', ttl: 30, data: '10.96.12.34' },
    ]);
    const upper = r.lookup('MyApp-Service.Default.SVC.Cluster.Local', 'A');
    expect(upper.answers[0]).toMatchObject({ name: 'MyApp-Service.Default.SVC.Cluster.Local', data: '10.96.12.34' });
  });

  it('gives NODATA (NOERROR, no answer, SOA in authority) for a type the name has not', () => {
    const l = r.lookup('myapp-service.default.svc.cluster.local', 'AAAA');
    expect(l.rcode).toBe('NOERROR');
    expect(l.answers).toEqual([]);
    expect(l.authorities.map((a) => a.type)).toEqual(['SOA']);
  });

  it('answers a headless Service with its ready endpoints only', () => {
    const l = r.lookup('web.default.svc.cluster.local', 'A');
    expect(data(l.answers).sort()).toEqual(['10.244.1.3', '10.244.2.4']);
  });

  it('names headless endpoints by hostname, by the Pod hostname+subdomain, never a not-ready one', () => {
    expect(data(r.lookup('alpha.web.default.svc.cluster.local', 'A').answers)).toEqual(['10.244.1.3']);
    expect(data(r.lookup('web-1.web.default.svc.cluster.local', 'A').answers)).toEqual(['10.244.2.4']);
    expect(r.lookup('10-244-1-9.web.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(r.lookup('alpha.myapp-service.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });

  it('names an endpoint without a hostname by its address with dashes', () => {
    const z = fixtureZone();
    z.apply('EndpointSlice', 'ADDED', slice('default', 'web', 'web-2', [{ ip: '10.244.3.5' }], []));
    const l = new ClusterRecords(z, OPTIONS).lookup('10-244-3-5.web.default.svc.cluster.local', 'A');
    expect(data(l.answers)).toEqual(['10.244.3.5']);
  });

  it('answers SRV for a named port of a ClusterIP Service, with the A record as additional', () => {
    const l = r.lookup('_http._tcp.myapp-service.default.svc.cluster.local', 'SRV');
    expect(l.answers).toEqual([
      {
        name: '_http._tcp.myapp-service.default.svc.cluster.local',
        type: 'SRV',
        ttl: 30,
        data: { priority: 0, weight: 100, port: 80, target: 'myapp-service.default.svc.cluster.local' },
      },
    ]);
    expect(l.additionals).toEqual([
      { name: 'myapp-service.default.svc.cluster.local', type: 'A', ttl: 30, data: '10.96.12.34' },
    ]);
  });

  it('matches SRV port names and protocols exactly (dns is UDP, dns-tcp TCP)', () => {
    const udp = r.lookup('_dns._udp.kube-dns.kube-system.svc.cluster.local', 'SRV');
    expect(data(udp.answers)).toEqual([
      { priority: 0, weight: 100, port: 53, target: 'kube-dns.kube-system.svc.cluster.local' },
    ]);
    expect(r.lookup('_dns._tcp.kube-dns.kube-system.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(r.lookup('_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local', 'SRV').answers).toHaveLength(1);
  });

  it('answers SRV for a headless Service per endpoint, ports from its EndpointSlice', () => {
    const l = r.lookup('_http._tcp.web.default.svc.cluster.local', 'SRV');
    expect(data(l.answers)).toEqual([
      { priority: 0, weight: 50, port: 8080, target: 'alpha.web.default.svc.cluster.local' },
      { priority: 0, weight: 50, port: 8080, target: 'web-1.web.default.svc.cluster.local' },
    ]);
    expect(l.additionals.map((a) => [a.name, 'data' in a ? a.data : ''])).toEqual([
      ['alpha.web.default.svc.cluster.local', '10.244.1.3'],
      ['web-1.web.default.svc.cluster.local', '10.244.2.4'],
    ]);
  });

  it('answers SRV on the bare Service name with every port', () => {
    const l = r.lookup('kube-dns.kube-system.svc.cluster.local', 'SRV');
    expect(l.answers).toHaveLength(2);
    expect(data(l.answers).map((d) => (d as { weight: number }).weight)).toEqual([50, 50]);
  });

  it('answers pod records: any address (pods insecure), only a pod of the namespace (verified)', () => {
    expect(data(r.lookup('10-244-1-3.default.pod.cluster.local', 'A').answers)).toEqual(['10.244.1.3']);
    expect(data(r.lookup('10-1-2-3.other.pod.cluster.local', 'A').answers)).toEqual(['10.1.2.3']);
    expect(r.lookup('999-1-2-3.default.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(r.lookup('10-244-1.default.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    const v = fixtureRecords({ pods: 'verified' });
    expect(data(v.lookup('10-244-1-7.default.pod.cluster.local', 'A').answers)).toEqual(['10.244.1.7']);
    expect(v.lookup('10-244-1-7.kube-system.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(v.lookup('10-244-9-9.default.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(fixtureRecords({ pods: 'disabled' }).lookup('10-244-1-3.default.pod.cluster.local', 'A').rcode).toBe(
      'NXDOMAIN',
    );
  });

  it('is NXDOMAIN for unknown names in the zone, with the SOA in authority', () => {
    for (const name of [
      'nosuch.default.svc.cluster.local',
      'myapp-service.nosuchns.svc.cluster.local',
      'nosuchns.svc.cluster.local',
      'x.y.z.myapp-service.default.svc.cluster.local',
      'foo.cluster.local',
      '_http._tcp.nosuch.default.svc.cluster.local',
      '_grpc._tcp.myapp-service.default.svc.cluster.local',
    ]) {
      const l = r.lookup(name, 'A');
      expect(l.rcode, name).toBe('NXDOMAIN');
      expect(l.authoritative).toBe(true);
      expect(l.authorities).toHaveLength(1);
      expect(l.authorities[0]).toMatchObject({
        name: 'cluster.local',
        type: 'SOA',
        data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', minimum: 30, refresh: 7200 },
      });
    }
  });

  it('gives NODATA for the names between the zone and a record (svc, a known namespace)', () => {
    for (const name of ['svc.cluster.local', 'default.svc.cluster.local', 'pod.cluster.local']) {
      const l = r.lookup(name, 'A');
      expect(l.rcode, name).toBe('NOERROR');
      expect(l.answers).toEqual([]);
    }
  });

  it('refuses names outside the zone, not authoritatively', () => {
    for (const name of ['example.com', 'cluster.local.example.com', 'local', 'xcluster.local']) {
      const l = r.lookup(name, 'A');
      expect(l.rcode, name).toBe('REFUSED');
      expect(l.authoritative).toBe(false);
      expect(l.answers).toEqual([]);
    }
  });

  it('answers SOA and NS (glue: the kube-dns ClusterIP) at the apex, and dns-version', () => {
    expect(r.lookup('cluster.local', 'SOA').answers[0].type).toBe('SOA');
    const ns = r.lookup('cluster.local', 'NS');
    expect(data(ns.answers)).toEqual(['ns.dns.cluster.local']);
    expect(ns.additionals).toEqual([{ name: 'ns.dns.cluster.local', type: 'A', ttl: 30, data: '10.96.0.10' }]);
    expect(data(r.lookup('ns.dns.cluster.local', 'A').answers)).toEqual(['10.96.0.10']);
    expect(data(r.lookup('dns-version.cluster.local', 'TXT').answers)).toEqual(['1.1.0']);
  });

  it('answers an ExternalName Service with a CNAME', () => {
    const l = r.lookup('db.default.svc.cluster.local', 'A');
    expect(l.answers).toEqual([
      { name: 'db.default.svc.cluster.local', type: 'CNAME', ttl: 30, data: 'db.example.com' },
    ]);
  });

  it('answers PTR for ClusterIPs and headless endpoints; refuses other reverse names', () => {
    expect(data(r.lookup('34.12.96.10.in-addr.arpa', 'PTR').answers)).toEqual([
      'myapp-service.default.svc.cluster.local',
    ]);
    expect(data(r.lookup('4.2.244.10.in-addr.arpa', 'PTR').answers)).toEqual(['web-1.web.default.svc.cluster.local']);
    expect(r.lookup('1.1.168.192.in-addr.arpa', 'PTR').rcode).toBe('REFUSED');
  });

  it('follows the API: deletes, endpoint changes and a list that replaces everything; the serial grows', () => {
    let now = 1_700_000_000_000;
    const z = fixtureZone(() => now);
    const rr = new ClusterRecords(z, OPTIONS);
    const serial = z.serial;
    now += 5000;
    z.apply('Service', 'DELETED', service('default', 'myapp-service', '10.96.12.34', []));
    expect(rr.lookup('myapp-service.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(z.serial).toBeGreaterThan(serial);
    z.apply(
      'EndpointSlice',
      'MODIFIED',
      slice('default', 'web', 'web-abcde', [{ ip: '10.244.1.9', pod: 'web-2' }], []),
    );
    expect(data(rr.lookup('web.default.svc.cluster.local', 'A').answers)).toEqual(['10.244.1.9']);
    z.replace('EndpointSlice', []);
    expect(rr.lookup('web.default.svc.cluster.local', 'A').answers).toEqual([]);
    z.replace('Service', [service('ns2', 'only', '10.96.0.77', [])]);
    expect(rr.lookup('web.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(data(rr.lookup('only.ns2.svc.cluster.local', 'A').answers)).toEqual(['10.96.0.77']);
    z.apply('Pod', 'DELETED', pod('default', 'busybox', '10.244.1.7'));
    const v = new ClusterRecords(z, { ...OPTIONS, pods: 'verified' });
    expect(v.lookup('10-244-1-7.default.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });

  it('is SERVFAIL for names in the zone until the zone has been listed', () => {
    const z = new ClusterZone();
    z.synced = false;
    const rr = new ClusterRecords(z, OPTIONS);
    expect(rr.lookup('myapp-service.default.svc.cluster.local', 'A').rcode).toBe('SERVFAIL');
    expect(rr.lookup('example.com', 'A').rcode).toBe('REFUSED');
  });

  it('reads odd objects without throwing (missing fields, wrong types)', () => {
    const z = new ClusterZone();
    for (const o of [null, 42, {}, { metadata: { name: 5 } }, { metadata: { name: 'x' }, spec: { ports: 'no' } }]) {
      z.apply('Service', 'ADDED', o);
      z.apply('EndpointSlice', 'ADDED', o);
      z.apply('Pod', 'ADDED', o);
    }
    expect(new ClusterRecords(z, OPTIONS).lookup('x.default.svc.cluster.local', 'A').answers).toEqual([]);
  });

  it('dashes and undashes addresses', () => {
    expect(dashIp('10.244.1.3')).toBe('10-244-1-3');
    expect(undashIp('10-244-1-3')).toBe('10.244.1.3');
    expect(undashIp('10-244-1-300')).toBeUndefined();
    expect(undashIp('web-1')).toBeUndefined();
  });
});
