// Cluster DNS for dual-stack Services (issue 19): AAAA for a Service's IPv6 ClusterIP next to the A for
// its IPv4 one, AAAA for the endpoints of a headless Service from its addressType IPv6 EndpointSlice
// (by hostname and by the dashed address), and A questions never answered with IPv6 addresses.
import type { Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { ClusterRecords } from '../../../src/dns/records.js';
import { ClusterZone } from '../../../src/dns/zone.js';
import { OPTIONS, slice } from './fixtures.js';

const data = (as: Answer[]): unknown[] => as.map((a) => ('data' in a ? a.data : undefined));

function dualStackRecords(): ClusterRecords {
  const z = new ClusterZone(() => 1_700_000_000_000);
  const ports = [{ name: 'http', protocol: 'TCP', port: 80 }];
  z.apply('Service', 'ADDED', {
    metadata: { namespace: 'default', name: 'web' },
    spec: { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20', 'fd00:10:96::20'], ports },
  });
  z.apply('Service', 'ADDED', {
    metadata: { namespace: 'default', name: 'hl' },
    spec: { clusterIP: 'None', clusterIPs: ['None'], ports },
  });
  z.apply('EndpointSlice', 'ADDED', slice('default', 'hl', 'hl-v4', [{ ip: '10.244.1.5', hostname: 'a' }], ports));
  const v6 = slice(
    'default',
    'hl',
    'hl-v6',
    [{ ip: 'fd00:10:244:1::5', hostname: 'a' }, { ip: 'fd00:10:244:2::7' }],
    ports,
  );
  z.apply('EndpointSlice', 'ADDED', { ...(v6 as object), addressType: 'IPv6' });
  return new ClusterRecords(z, OPTIONS);
}

describe('cluster DNS over IPv6', () => {
  const r = dualStackRecords();

  it('a dual-stack Service: A is the IPv4 ClusterIP, AAAA the IPv6 one', () => {
    expect(r.lookup('web.default.svc.cluster.local', 'A').answers).toEqual([
      { name: 'web.default.svc.cluster.local', type: 'A', ttl: 30, data: '10.96.0.20' },
    ]);
    expect(r.lookup('web.default.svc.cluster.local', 'AAAA').answers).toEqual([
      { name: 'web.default.svc.cluster.local', type: 'AAAA', ttl: 30, data: 'fd00:10:96::20' },
    ]);
  });

  it('a headless Service: AAAA lists the ready IPv6 endpoints, its endpoints answer AAAA by name', () => {
    expect(data(r.lookup('hl.default.svc.cluster.local', 'AAAA').answers).sort()).toEqual([
      'fd00:10:244:1::5',
      'fd00:10:244:2::7',
    ]);
    expect(data(r.lookup('hl.default.svc.cluster.local', 'A').answers)).toEqual(['10.244.1.5']);
    expect(data(r.lookup('a.hl.default.svc.cluster.local', 'AAAA').answers)).toEqual(['fd00:10:244:1::5']);
    expect(data(r.lookup('fd00-10-244-2--7.hl.default.svc.cluster.local', 'AAAA').answers)).toEqual([
      'fd00:10:244:2::7',
    ]);
    expect(r.lookup('fd00-10-244-2--7.hl.default.svc.cluster.local', 'A').answers).toEqual([]);
  });
});
