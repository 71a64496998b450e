// Issue 19, IPv6 Services in a live dual-stack lab (examples/dual-stack.yaml: ipv6Network fd00:10:244::/56,
// the service ranges 10.96.0.0/12 and fd00:10:96::/112). With the real kubectl: a PreferDualStack NodePort
// Service gets ipFamilies [IPv4, IPv6] and two clusterIPs, its EndpointSlices have addressType IPv4 and
// IPv6; each node's kube-proxy keeps `table ip6 kube-proxy` (read with the real nft); curl reaches the
// Service over its IPv6 ClusterIP (the server sees the caller's own IPv6 address) and over the NodePort on
// another node's IPv6 address (masqueraded, as kube-proxy does for NodePort traffic); a RequireDualStack
// Service is accepted, an IPv6-only SingleStack one gets one IPv6 clusterIP. One lab for the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/k8s/service-types.js';
import type { Pod } from '../../../src/k8s/types.js';
import {
  cli,
  inNetns,
  kubectlFor,
  labName,
  leftovers,
  podNetns,
  run,
  skipLiveLab,
  upLiveLab,
  waitFor,
} from '../../helpers/live-lab.js';

const skip = skipLiveLab('live dual-stack Services', { cni: true });
const lab = labName('d6s');

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: web6 }
spec:
  type: NodePort
  ipFamilyPolicy: PreferDualStack
  selector: { app: web2 }
  ports: [{ port: 80, targetPort: 80 }]
`;

describe.skipIf(skip)('IPv6 Services in a live dual-stack lab', () => {
  let kubectl: ReturnType<typeof kubectlFor>;
  let svc: Service;
  const v6 = (p: Pod): string => p.status!.podIPs!.map((x) => x.ip).find((ip) => ip.includes(':'))!;
  const pods: Record<string, Pod> = {};
  let web1Netns = '';

  beforeAll(async () => {
    kubectl = await upLiveLab('examples/dual-stack.yaml', lab);
    const applied = await kubectl(['apply', '-f', '-'], { input: SERVICE });
    if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.err}`);
    svc = JSON.parse((await kubectl(['get', 'service', 'web6', '-o', 'json'])).out) as Service;
    for (const p of (JSON.parse((await kubectl(['get', 'pods', '-o', 'json'])).out) as { items: Pod[] }).items)
      pods[p.metadata.name ?? ''] = p;
    web1Netns = podNetns(lab, 'web1');
  }, 300_000);

  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab], { timeoutMs: 120_000 });
  }, 150_000);

  it('the API server gives a PreferDualStack Service both families and an IPv6 clusterIP from fd00:10:96::/112', () => {
    expect(svc.spec.ipFamilyPolicy).toBe('PreferDualStack');
    expect(svc.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(svc.spec.clusterIPs).toHaveLength(2);
    expect(svc.spec.clusterIPs![0]).toBe(svc.spec.clusterIP);
    expect(svc.spec.clusterIPs![1]).toMatch(/^fd00:10:96::[0-9a-f]{1,4}$/);
  });

  it('EndpointSlices: one addressType IPv4 with the pod IPv4, one addressType IPv6 with its IPv6', async () => {
    const slices = await waitFor('both EndpointSlices with the endpoint', async () => {
      const got = await kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web6', '-o', 'json']);
      const items = (JSON.parse(got.out) as { items: EndpointSlice[] }).items;
      return items.length === 2 && items.every((s) => (s.endpoints ?? []).length === 1) && items;
    });
    const byType = Object.fromEntries(slices.map((s) => [s.addressType, s.endpoints![0].addresses[0]]));
    expect(byType).toEqual({ IPv4: pods['web2'].status!.podIP, IPv6: v6(pods['web2']) });
  });

  it("each node's kube-proxy keeps table ip6 kube-proxy with the IPv6 ClusterIP and the NodePort", async () => {
    for (const node of ['node1', 'node2']) {
      const listed = await waitFor(`table ip6 kube-proxy on ${node} with web6`, async () => {
        const r = await run('ip', ['netns', 'exec', `flt-${lab}-${node}`, 'nft', 'list', 'table', 'ip6', 'kube-proxy']);
        return r.out.includes(`${svc.spec.clusterIPs![1]} . tcp . 80 : goto service-`) && r.out;
      });
      expect(listed).toContain(`tcp . ${svc.spec.ports![0].nodePort} : goto external-`);
      expect(listed).toContain(`dnat to [${v6(pods['web2'])}]:80`);
      expect(listed).toContain('ip6 daddr != ::1');
    }
  });

  it('curl over the IPv6 ClusterIP from a pod on the other node: the server sees the caller unNATed', async () => {
    const got = await waitFor('curl over the IPv6 ClusterIP', async () => {
      const r = await inNetns(web1Netns, 'curl', '-sS', '-g', '-m', '5', `http://[${svc.spec.clusterIPs![1]}]/`);
      return r.code === 0 && r.out;
    });
    expect(got).toContain('Hello from web2');
    expect(got).toContain(`you are ${v6(pods['web1'])}`);
  });

  it("curl over the NodePort on node1's IPv6 address: kube-proxy masquerades NodePort traffic", async () => {
    // node1's cni0 IPv6 address, from web1's own node: the ip6 table's nodeport map catches it (fib type local)
    const url = `http://[fd00:10:244:1::1]:${svc.spec.ports![0].nodePort}/`;
    const got = await waitFor('curl over the IPv6 NodePort', async () => {
      const r = await inNetns(web1Netns, 'curl', '-sS', '-g', '-m', '5', url);
      return r.code === 0 && r.out;
    });
    expect(got).toContain('Hello from web2');
    expect(got).not.toContain(`you are ${v6(pods['web1'])}`);
    expect(got).toMatch(/you are fd00:10:244:[12]::/);
  });

  it('RequireDualStack is accepted; ipFamilies [IPv6] alone is an IPv6-only Service', async () => {
    const two = `apiVersion: v1
kind: Service
metadata: { name: req }
spec: { ipFamilyPolicy: RequireDualStack, selector: { app: web1 }, ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: only6 }
spec: { ipFamilies: [IPv6], selector: { app: web1 }, ports: [{ port: 80 }] }
`;
    const applied = await kubectl(['apply', '-f', '-'], { input: two });
    expect(applied.code, applied.err).toBe(0);
    const req = JSON.parse((await kubectl(['get', 'service', 'req', '-o', 'json'])).out) as Service;
    expect(req.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    const only6 = JSON.parse((await kubectl(['get', 'service', 'only6', '-o', 'json'])).out) as Service;
    expect(only6.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(only6.spec.clusterIPs).toEqual([only6.spec.clusterIP]);
    expect(only6.spec.clusterIP).toMatch(/^fd00:10:96::/);
  });

  it('cluster DNS answers AAAA for the Service and for the headless endpoints (busybox nslookup)', async () => {
    const headless = `apiVersion: v1
kind: Service
metadata: { name: hl6 }
spec: { clusterIP: None, ipFamilyPolicy: PreferDualStack, selector: { app: web2 }, ports: [{ port: 80 }] }
`;
    expect((await kubectl(['apply', '-f', '-'], { input: headless })).code).toBe(0);
    const core = JSON.parse(
      (await kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'json'])).out,
    ) as { items: Pod[] };
    const dns = core.items[0]?.status?.podIP ?? '';
    expect(dns).toMatch(/^10\.244\./);
    const aaaa = (name: string) => async () => {
      const r = await inNetns(web1Netns, 'busybox', 'nslookup', '-type=aaaa', name, dns);
      const at = r.out.indexOf('Name:');
      return at >= 0 && [...r.out.slice(at).matchAll(/Address:\s+([0-9a-f:]+:[0-9a-f:]*)/g)].map((m) => m[1]);
    };
    expect(await waitFor('AAAA of web6', aaaa('web6.default.svc.cluster.local'))).toEqual([svc.spec.clusterIPs![1]]);
    expect(await waitFor('AAAA of hl6', aaaa('hl6.default.svc.cluster.local'))).toEqual([v6(pods['web2'])]);
    const dashed = v6(pods['web2']).replace(/:/g, '-');
    expect(await waitFor('AAAA of the endpoint name', aaaa(`${dashed}.hl6.default.svc.cluster.local`))).toEqual([
      v6(pods['web2']),
    ]);
  });

  it('cluster DNS answers PTR under ip6.arpa for the IPv6 ClusterIP and the pod endpoint (busybox nslookup)', async () => {
    const core = JSON.parse(
      (await kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'json'])).out,
    ) as { items: Pod[] };
    const dns = core.items[0]?.status?.podIP ?? '';
    const ptr = (ip: string) => async () => {
      const r = await inNetns(web1Netns, 'busybox', 'nslookup', ip, dns);
      const m = /\.ip6\.arpa\s+name = (\S+)/.exec(r.out);
      return m ? m[1] : false;
    };
    expect(await waitFor('PTR of the IPv6 ClusterIP', ptr(svc.spec.clusterIPs![1]))).toBe(
      'web6.default.svc.cluster.local',
    );
    // web2's pod is an endpoint of web6 and of the headless hl6: CoreDNS names it
    // by its dashed address under its Service
    const name = await waitFor('PTR of web2 IPv6', ptr(v6(pods['web2'])));
    expect(name).toMatch(
      new RegExp(`^${v6(pods['web2']).replace(/:/g, '-')}\\.(hl6|web6)\\.default\\.svc\\.cluster\\.local$`),
    );
  });

  it('lab check checks every pod over IPv6 too: an IPv6 column per pod, reachable', async () => {
    const r = await cli(['lab', 'check', '--name', lab, '-o', 'json'], { timeoutMs: 120_000 });
    const doc = JSON.parse(r.out) as {
      sources: { label: string }[];
      targets: { label: string; ip: string }[];
      marks: string[][];
    };
    const cols = doc.targets.map((t, j) => ({ ...t, j })).filter((t) => t.label.endsWith(' (IPv6)'));
    expect(cols.map((c) => [c.label, c.ip]).sort()).toEqual(
      expect.arrayContaining([
        ['web1 (IPv6)', v6(pods['web1'])],
        ['web2 (IPv6)', v6(pods['web2'])],
      ]),
    );
    for (const [from, to] of [
      ['web1', 'web2'],
      ['web2', 'web1'],
    ]) {
      const i = doc.sources.findIndex((x) => x.label === from);
      const j = cols.find((c) => c.label === `${to} (IPv6)`)!.j;
      expect(doc.marks[i][j], `${from} → ${to} over IPv6`).toBe('.');
      expect(doc.marks[i][cols.find((c) => c.label === `${from} (IPv6)`)!.j]).toBe('-'); // not itself
    }
  }, 150_000);

  it('lab down removes everything, the ip6 tables with the node namespaces', async () => {
    const down = await cli(['lab', 'down', '--name', lab], { timeoutMs: 120_000 });
    expect(down.code, down.err).toBe(0);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  }, 150_000);
});
