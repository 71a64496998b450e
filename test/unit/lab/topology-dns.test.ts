import { describe, expect, it } from 'vitest';
import { coreDnsDeployment, kubeDnsService } from '../../../src/lab/cluster-dns.js';
import { parseTopology } from '../../../src/lab/topology.js';

const base = 'name: dnst\nnodes:\n  - { name: node1, publicIp: 192.168.1.2 }\n';

describe('topology dns', () => {
  it('defaults to 10.96.0.10 and cluster.local', () => {
    expect(parseTopology(base, 't.yaml').dns).toEqual({ clusterIP: '10.96.0.10', domain: 'cluster.local' });
  });

  it('takes clusterIP and domain', () => {
    const t = parseTopology(`${base}dns: { clusterIP: 10.100.0.53, domain: lab.example }\n`, 't.yaml');
    expect(t.dns).toEqual({ clusterIP: '10.100.0.53', domain: 'lab.example' });
  });

  it('names file, line and field for a bad clusterIP, domain or key', () => {
    expect(() => parseTopology(`${base}dns: { clusterIP: 192.168.9.9 }\n`, 't.yaml')).toThrow(
      /^t\.yaml:4: dns\.clusterIP must be an address in the service network 10\.96\.0\.0\/12/,
    );
    expect(() => parseTopology(`${base}dns: { domain: Bad_Domain }\n`, 't.yaml')).toThrow(
      /t\.yaml:4: dns\.domain is not a DNS name/,
    );
    expect(() => parseTopology(`${base}dns: { upstream: 8.8.8.8 }\n`, 't.yaml')).toThrow(
      /dns\.upstream is not a known field/,
    );
  });

  it('makes the kube-dns Service and the coredns Deployment kubeadm makes', () => {
    const t = parseTopology(`${base}dns: { clusterIP: 10.96.0.53 }\n`, 't.yaml');
    const svc = kubeDnsService(t) as unknown as { spec: { clusterIP: string; selector: object; ports: object[] } };
    expect(svc.spec.clusterIP).toBe('10.96.0.53');
    expect(svc.spec.selector).toEqual({ 'k8s-app': 'kube-dns' });
    expect(svc.spec.ports.slice(0, 2)).toEqual([
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
    ]);
    const d = coreDnsDeployment(t);
    expect(d.metadata.namespace).toBe('kube-system');
    expect(d.spec.template.spec.containers[0].image).toBe('flannelette/coredns');
    expect(d.spec.template.metadata!.labels).toEqual({ 'k8s-app': 'kube-dns' });
  });
});
