// Issue 19, dual stack in a live lab: `lab up examples/dual-stack.yaml` (ipv6Network fd00:10:244::/56, vxlan).
// Pods get an IPv4 and an IPv6 address through CNI (flannel → bridge + host-local with two ranges);
// status.podIP is the IPv4 one and status.podIPs lists both (read with the real kubectl). Between the
// two pods on different nodes: ping over IPv6 and IPv4, HTTP over IPv6 (the `http` program answers
// with the caller's address); a node namespace pings a pod on the other node over IPv6; `lab down`
// leaves nothing behind. One lab for the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  tableRows,
  upLiveLab,
} from '../../helpers/live-lab.js';

const skip = skipLiveLab('live dual-stack lab', { cni: true });
const lab = labName('dst');

describe.skipIf(skip)('dual stack in a live lab', () => {
  let kubectl: ReturnType<typeof kubectlFor>;
  const pod: Record<string, Pod> = {};
  const netns: Record<string, string> = {};
  const ips = (name: string): { v4: string; v6: string } => {
    const list = pod[name].status!.podIPs!.map((p) => p.ip);
    return { v4: list.find((ip) => !ip.includes(':'))!, v6: list.find((ip) => ip.includes(':'))! };
  };

  beforeAll(async () => {
    kubectl = await upLiveLab('examples/dual-stack.yaml', lab);
    const got = await kubectl(['get', 'pods', '-o', 'json']);
    if (got.code !== 0) throw new Error(`kubectl get pods failed: ${got.err}`);
    for (const p of (JSON.parse(got.out) as { items: Pod[] }).items) pod[p.metadata.name ?? ''] = p;
    for (const name of ['web1', 'web2']) netns[name] = podNetns(lab, name);
  }, 300_000);

  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab], { timeoutMs: 120_000 });
  }, 150_000);

  it("kubectl shows both podIPs, the IPv4 first and as podIP, each in its node's subnet", async () => {
    for (const [name, node] of [
      ['web1', 1],
      ['web2', 2],
    ] as const) {
      const st = pod[name].status!;
      expect(st.podIPs).toHaveLength(2);
      expect(st.podIPs![0].ip).toBe(st.podIP);
      expect(st.podIP).toMatch(new RegExp(`^10\\.244\\.${node}\\.\\d+$`));
      expect(st.podIPs![1].ip.startsWith(`fd00:10:244:${node}::`)).toBe(true);
    }
    const wide = tableRows((await kubectl(['get', 'pods', '-o', 'wide'])).out);
    expect(wide.find((r) => r['NAME'] === 'web1')?.['IP']).toBe(ips('web1').v4);
  });

  it('the pod has its IPv6 address on eth0 and the IPv6 network routed via cni0', async () => {
    const addr = await inNetns(netns['web1'], 'ip', '-6', 'addr', 'show', 'dev', 'eth0');
    expect(addr.out).toContain(`${ips('web1').v6}/64`);
    const route = await inNetns(netns['web1'], 'ip', '-6', 'route', 'show');
    expect(route.out).toMatch(/fd00:10:244::\/56 via fd00:10:244:1::1 dev eth0/);
    const node = await run('ip', ['-n', `flt-${lab}-node1`, '-6', 'addr', 'show', 'dev', 'cni0']);
    expect(node.out).toContain('fd00:10:244:1::1/64');
  });

  it('pods on different nodes ping each other over IPv6 and IPv4', async () => {
    for (const [from, to] of [
      ['web1', 'web2'],
      ['web2', 'web1'],
    ]) {
      const v6 = await inNetns(netns[from], 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', ips(to).v6);
      expect(v6.out, `${from} → ${to} over IPv6: ${v6.err}`).toMatch(/ 3 received/);
      const v4 = await inNetns(netns[from], 'ping', '-4', '-c', '3', '-i', '0.2', '-W', '2', ips(to).v4);
      expect(v4.out, `${from} → ${to} over IPv4: ${v4.err}`).toMatch(/ 3 received/);
    }
  });

  it('HTTP over IPv6 between pods: the server sees the caller by its own IPv6 address', async () => {
    const got = await inNetns(netns['web1'], 'curl', '-sS', '-g', '-m', '10', `http://[${ips('web2').v6}]/`);
    expect(got.code, got.err).toBe(0);
    expect(got.out).toContain('Hello from web2');
    expect(got.out).toContain(`you are ${ips('web1').v6}`);
  });

  it('a node namespace reaches a pod on the other node over IPv6', async () => {
    const ping = await inNetns(`flt-${lab}-node1`, 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', ips('web2').v6);
    expect(ping.out, ping.err).toMatch(/ 3 received/);
  });

  it('lab down removes everything', async () => {
    const down = await cli(['lab', 'down', '--name', lab], { timeoutMs: 120_000 });
    expect(down.code, down.err).toBe(0);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  }, 150_000);
});
