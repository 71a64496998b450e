// kube-proxy's table as data: chains and map elements per Service port, and the one-transaction diff
// that rewrites only what changed. (Loaded into the real nft by test/integration/lab/live-services.test.ts.)
import { describe, expect, it } from 'vitest';
import { announcingNode } from '../../../src/proxy/announce.js';
import type { ProxyServicePort } from '../../../src/proxy/model.js';
import { buildRuleset, chainHash, diffRuleset, emptyRuleset, serviceChain } from '../../../src/proxy/ruleset.js';

const port = (over: Partial<ProxyServicePort> = {}): ProxyServicePort => ({
  namespace: 'default',
  name: 'web',
  portName: 'http',
  protocol: 'tcp',
  port: 80,
  clusterIP: '10.96.0.20',
  loadBalancerIPs: [],
  externalLocal: false,
  endpoints: [
    { ip: '10.244.1.2', port: 8080, local: true },
    { ip: '10.244.2.2', port: 8080, local: false },
  ],
  ...over,
});
const facts = { clusterCidr: '10.244.0.0/16' };

describe('kube-proxy ruleset', () => {
  it('names chains as kube-proxy does and picks endpoints with numgen', () => {
    expect(chainHash('default/web/tcp/http')).toMatch(/^[A-Z2-7]{8}$/);
    const rs = buildRuleset([port()], facts);
    const svc = rs.chains.get(serviceChain(port()))!;
    expect(svc[0]).toBe('ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade');
    expect(svc[1]).toMatch(
      /^numgen random mod 2 vmap \{ 0 : goto endpoint-\w{8}-default\/web\/tcp\/http__10\.244\.1\.2\/8080, 1 : goto/,
    );
    expect(rs.elements.get('service-ips')!.get('10.96.0.20 . tcp . 80')).toBe(`goto ${serviceChain(port())}`);
  });

  it('rejects a port without endpoints and drops NodePort traffic under Local policy without a local endpoint', () => {
    const rs = buildRuleset([port({ endpoints: [], nodePort: 30001 })], facts);
    expect(rs.elements.get('no-endpoint-services')!.get('10.96.0.20 . tcp . 80')).toBe('goto reject-chain');
    expect(rs.elements.get('no-endpoint-nodeports')!.get('tcp . 30001')).toBe('goto reject-chain');
    const local = buildRuleset(
      [port({ nodePort: 30001, externalLocal: true, endpoints: [{ ip: '10.244.2.2', port: 80, local: false }] })],
      facts,
    );
    const ext = [...local.chains.entries()].find(([k]) => k.startsWith('external-'))![1];
    expect(ext.at(-1)).toBe('drop');
  });

  it('changes only the chains and elements of the Service that changed, in one transaction', () => {
    const a = buildRuleset([port(), port({ name: 'other', clusterIP: '10.96.0.21' })], facts);
    const b = buildRuleset(
      [
        port(),
        port({ name: 'other', clusterIP: '10.96.0.21', endpoints: [{ ip: '10.244.2.9', port: 8080, local: false }] }),
      ],
      facts,
    );
    const text = diffRuleset(a, b);
    expect(text).not.toContain('default/web/');
    expect(text).toContain('add chain ip kube-proxy endpoint-');
    expect(text).toContain('delete chain ip kube-proxy endpoint-');
    expect(text).toMatch(/flush chain ip kube-proxy service-\w{8}-default\/other\/tcp\/http/);
    expect(diffRuleset(b, b)).toBe('');
    expect(
      diffRuleset(emptyRuleset(), a)
        .split('\n')
        .filter((l) => l.startsWith('add element')),
    ).toHaveLength(2);
  });

  it('adds per-endpoint affinity sets with the timeout before numgen', () => {
    const rs = buildRuleset([port({ affinityTimeout: 5 })], facts);
    expect([...rs.sets.values()]).toEqual([5, 5]);
    expect(rs.chains.get(serviceChain(port()))![1]).toMatch(/^ip saddr @affinity-\w{8}-.* goto endpoint-/);
  });

  it('chooses one announcing node per address, the same on every node', () => {
    const a = announcingNode('192.168.1.242', ['node1', 'node2', 'node3']);
    expect(['node1', 'node2', 'node3']).toContain(a);
    expect(announcingNode('192.168.1.242', ['node3', 'node2', 'node1'])).toBe(a);
    expect(announcingNode('192.168.1.242', [])).toBeUndefined();
  });
});
