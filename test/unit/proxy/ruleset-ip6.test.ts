// kube-proxy's IPv6 proxier: `table ip6 kube-proxy` as kube-proxy lays it out (ip6 daddr/saddr,
// ipv6_addr keys, `ip6 daddr != ::1`, `dnat to [addr]:port`), the model picking IPv6 clusterIPs and
// addressType IPv6 slices, and the whole table loaded into the real nft in a throwaway network namespace.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/k8s/service-types.js';
import { buildModel } from '../../../src/proxy/model.js';
import { baseTableText, buildRuleset, diffRuleset, emptyRuleset, serviceChain } from '../../../src/proxy/ruleset.js';
import { requireRootOrSkip } from '../../helpers/root.js';

const service: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    type: 'NodePort',
    clusterIP: '10.96.0.20',
    clusterIPs: ['10.96.0.20', 'fd00:10:96::20'],
    ipFamilies: ['IPv4', 'IPv6'],
    ipFamilyPolicy: 'PreferDualStack',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
  },
};
const slice = (addressType: 'IPv4' | 'IPv6', ip: string): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `web-${addressType}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType,
  endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: 'node1' }],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});
const slices = [slice('IPv4', '10.244.1.2'), slice('IPv6', 'fd00:10:244:1::2')];

describe('kube-proxy ip6 table', () => {
  it('models each family from its clusterIP and its addressType slices', () => {
    const v4 = buildModel([service], slices, 'node1', 'IPv4');
    const v6 = buildModel([service], slices, 'node1', 'IPv6');
    expect(v4.map((p) => [p.clusterIP, p.endpoints.map((e) => e.ip)])).toEqual([['10.96.0.20', ['10.244.1.2']]]);
    expect(v6.map((p) => [p.clusterIP, p.endpoints.map((e) => e.ip)])).toEqual([
      ['fd00:10:96::20', ['fd00:10:244:1::2']],
    ]);
    // a single-stack IPv4 Service has nothing for the IPv6 proxier
    const single = { ...service, spec: { ...service.spec, clusterIPs: ['10.96.0.20'], ipFamilies: ['IPv4'] } };
    expect(buildModel([single], slices, 'node1', 'IPv6')).toEqual([]);
  });

  it('writes ip6 matches, ipv6_addr keys and bracketed dnat targets', () => {
    const base = baseTableText('ip6');
    expect(base).toContain('table ip6 kube-proxy {');
    expect(base).toContain('map service-ips { type ipv6_addr . inet_proto . inet_service : verdict');
    expect(base).toContain('ip6 daddr . meta l4proto . th dport vmap @service-ips');
    expect(base).toContain('fib daddr type local ip6 daddr != ::1 meta l4proto . th dport vmap @service-nodeports');
    const model = buildModel([service], slices, 'node1', 'IPv6');
    const rs = buildRuleset(model, { clusterCidr: 'fd00:10:244::/56', family: 'ip6' });
    expect(rs.chains.get(serviceChain(model[0]))![0]).toBe(
      'ip6 daddr fd00:10:96::20 tcp dport 80 ip6 saddr != fd00:10:244::/56 jump mark-for-masquerade',
    );
    const text = diffRuleset(emptyRuleset(), rs, 'ip6');
    expect(text).toContain('meta l4proto tcp dnat to [fd00:10:244:1::2]:8080');
    expect(text).toContain('type ipv6_addr ; flags dynamic,timeout ; timeout 60s');
    expect(text).toContain('add element ip6 kube-proxy service-ips { fd00:10:96::20 . tcp . 80 : goto service-');
    expect(text).not.toMatch(/\bip (saddr|daddr)\b/);
  });

  it.skipIf(requireRootOrSkip('loading table ip6 kube-proxy into nft'))(
    'loads into the real nft and lists back as written',
    () => {
      const model = buildModel([service], slices, 'node1', 'IPv6');
      const script =
        baseTableText('ip6') +
        '\n' +
        diffRuleset(emptyRuleset(), buildRuleset(model, { clusterCidr: 'fd00:10:244::/56', family: 'ip6' }), 'ip6');
      // a fresh network namespace that ends with the command: nothing is left behind
      const listed = execFileSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list table ip6 kube-proxy'], {
        input: script,
        encoding: 'utf8',
      });
      expect(listed).toContain('table ip6 kube-proxy');
      expect(listed).toMatch(/fd00:10:96::20 \. tcp \. 80 : goto service-/);
      expect(listed).toContain('dnat to [fd00:10:244:1::2]:8080');
      expect(listed).toContain('ip6 daddr != ::1');
      expect(listed).toContain('type ipv6_addr');
    },
  );
});
