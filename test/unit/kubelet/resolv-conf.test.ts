import { describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/k8s/types.js';
import { parseResolvConf, podResolvConf, resolvConfText } from '../../../src/kubelet/resolv-conf.js';

const pod = (ns: string, spec: Record<string, unknown> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: ns },
  spec: { containers: [], ...spec },
});
const HOST = 'nameserver 192.0.2.53\nsearch corp.example\noptions edns0 # comment\n';
const host = (): string => HOST;

describe("a pod's /etc/resolv.conf", () => {
  it('ClusterFirst: the cluster DNS, the namespace search path and ndots:5', () => {
    expect(resolvConfText(podResolvConf(pod('shop'), ['10.96.0.10'], 'cluster.local', host))).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });

  it("Default, and ClusterFirst without a cluster DNS: the node's resolv.conf", () => {
    const text = 'search corp.example\nnameserver 192.0.2.53\noptions edns0\n';
    expect(
      resolvConfText(podResolvConf(pod('a', { dnsPolicy: 'Default' }), ['10.96.0.10'], 'cluster.local', host)),
    ).toBe(text);
    expect(resolvConfText(podResolvConf(pod('a'), [], 'cluster.local', host))).toBe(text);
  });

  it('None takes only dnsConfig; dnsConfig adds to ClusterFirst and replaces options by name', () => {
    const dnsConfig = {
      nameservers: ['192.0.2.1'],
      searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    };
    expect(
      resolvConfText(podResolvConf(pod('a', { dnsPolicy: 'None', dnsConfig }), ['10.96.0.10'], 'cluster.local', host)),
    ).toBe('search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\noptions ndots:2 edns0\n');
    const merged = podResolvConf(pod('a', { dnsConfig }), ['10.96.0.10'], 'cluster.local', host);
    expect(merged.nameservers).toEqual(['10.96.0.10', '192.0.2.1']);
    expect(merged.searches).toHaveLength(5);
    expect(merged.options).toEqual([{ name: 'ndots', value: '2' }, { name: 'edns0' }]);
  });

  it("keeps the kubelet's limits (3 nameservers) and ignores odd dnsConfig fields", () => {
    const dnsConfig = {
      nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3', 7],
      searches: 'x',
      options: [null, { value: 'v' }],
    };
    const c = podResolvConf(pod('a', { dnsConfig }), ['10.96.0.10'], 'cluster.local', host);
    expect(c.nameservers).toEqual(['10.96.0.10', '1.1.1.1', '2.2.2.2']);
    expect(c.options).toEqual([{ name: 'ndots', value: '5' }]);
  });

  it('parses resolv.conf lines', () => {
    expect(parseResolvConf('domain a.example\n; x\nnameserver 9.9.9.9\noptions ndots:3 ndots:4 rotate\n')).toEqual({
      nameservers: ['9.9.9.9'],
      searches: ['a.example'],
      options: [{ name: 'ndots', value: '4' }, { name: 'rotate' }],
    });
  });
});
