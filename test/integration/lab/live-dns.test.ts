// Cluster DNS in one live two-node lab (examples/two-nodes-empty.yaml): `lab up` runs the coredns
// Deployment (the built-in server of src/dns) in kube-system and the kube-dns Service at 10.96.0.10;
// pods get /etc/resolv.conf pointing there. From a busybox pod, with busybox's nslookup, glibc's getent
// and curl: A, headless (with hostname+subdomain), SRV, pod records, NXDOMAIN, REFUSED outside the zone,
// the search path, and 1000 queries (the rate is printed, not asserted).
//
// The record tests ask the coredns pod at its pod address; the tests "through the kube-dns Service" go
// to 10.96.0.10 as the pods' resolv.conf says, which needs kube-proxy (src/proxy, the svc branch): without
// it they skip with a visible reason (and fail under CI=true), and the 1000 queries go to the pod address.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, cli, labName, leftovers, ROOT, waitFor } from '../../helpers/live-lab.js';

const skip = requireRootOrSkip('live lab DNS') || requireOrSkip(built(), 'live lab DNS: build first (npm run build)');
const lab = labName('dns');
const l = (...args: string[]) => cli(['lab', args[0], '--name', lab, ...args.slice(1)], { timeoutMs: 60_000 });
const exec = (pod: string, ...cmd: string[]) => l('exec', pod, '--', ...cmd);
const DNS_IP = '10.96.0.10';
const BENCH = path.join(ROOT, 'dist/bench/dns-queries.js');
const hasKubeProxy = fs.existsSync(path.join(ROOT, 'dist/src/proxy'));
const noKubeProxy =
  skip || requireOrSkip(hasKubeProxy, 'DNS through the kube-dns Service: no kube-proxy (src/proxy) in this tree');

const MANIFESTS = `
apiVersion: v1
kind: Pod
metadata: { name: dnsclient, labels: { app: dnsclient } }
spec:
  containers: [{ name: dnsclient, image: 'radial/busyboxplus:curl', command: [sleep, '3600'] }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: myapp, labels: { app: myapp } }
spec:
  replicas: 3
  selector: { matchLabels: { app: myapp } }
  template:
    metadata: { labels: { app: myapp } }
    spec:
      containers: [{ name: nginx, image: nginx, ports: [{ name: http, containerPort: 80 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: myapp-service }
spec:
  type: NodePort
  selector: { app: myapp }
  ports: [{ name: http, port: 80, targetPort: 80, nodePort: 30008 }]
---
apiVersion: v1
kind: Service
metadata: { name: myapp-headless }
spec:
  clusterIP: None
  selector: { app: myapp }
  ports: [{ name: http, port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: db }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ name: pg, port: 5432, protocol: TCP }]
---
apiVersion: v1
kind: Pod
metadata: { name: db-pod, labels: { app: db } }
spec:
  hostname: db-0
  subdomain: db
  containers: [{ name: db, image: busybox, command: [sleep, '3600'] }]
`;

interface PodJson {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { podIP?: string; phase?: string };
}

async function podsIn(ns: string): Promise<PodJson[]> {
  const r = await l('get', 'pods', '-n', ns, '-o', 'json');
  if (r.code !== 0) throw new Error(r.err);
  return (JSON.parse(r.out) as { items: PodJson[] }).items;
}

/** busybox nslookup's Address lines after the answer's Name line. */
function addresses(out: string): string[] {
  const at = out.indexOf('Name:');
  return at < 0 ? [] : [...out.slice(at).matchAll(/Address(?: \d+)?:\s+(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]).sort();
}

describe.skipIf(skip)('cluster DNS in a live lab', () => {
  let coreIp = '';
  let myappIps: string[] = [];
  let dbIp = '';
  let clusterIp = '';

  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes-empty.yaml'), '--name', lab], {
      timeoutMs: 180_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    const core = (await podsIn('kube-system')).find((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns');
    coreIp = core?.status?.podIP ?? '';
    const a = await cli(['lab', 'apply', '--name', lab, '-f', '-'], { input: MANIFESTS });
    if (a.code !== 0) throw new Error(`apply failed: ${a.err}`);
    await waitFor(
      'dnsclient, db-pod and 3 myapp pods Running',
      async () => {
        const pods = (await podsIn('default')).filter((p) => p.status?.phase === 'Running' && p.status.podIP);
        myappIps = pods
          .filter((p) => p.metadata.labels?.['app'] === 'myapp')
          .map((p) => p.status!.podIP!)
          .sort();
        dbIp = pods.find((p) => p.metadata.name === 'db-pod')?.status?.podIP ?? '';
        return myappIps.length === 3 && dbIp && pods.some((p) => p.metadata.name === 'dnsclient');
      },
      120_000,
    );
    const s = await l('get', 'services', 'myapp-service', '-o', 'json');
    clusterIp = (JSON.parse(s.out) as { spec: { clusterIP: string } }).spec.clusterIP;
  }, 300_000);

  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
  });

  it('runs coredns in kube-system, Ready, with a pod address', () => {
    expect(coreIp).toMatch(/^10\.244\.[12]\.\d+$/);
  });

  it("writes the pods' /etc/resolv.conf: nameserver 10.96.0.10, the namespace search path, ndots:5", async () => {
    const r = await exec('dnsclient', 'cat', '/etc/resolv.conf');
    expect(r.out).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });

  it('answers pod records (a-b-c-d.<ns>.pod.cluster.local)', async () => {
    const name = `${myappIps[0].replace(/\./g, '-')}.default.pod.cluster.local`;
    const r = await exec('dnsclient', 'nslookup', name, coreIp);
    expect(r.code, r.out + r.err).toBe(0);
    expect(addresses(r.out)).toEqual([myappIps[0]]);
  });

  it('answers NXDOMAIN for unknown names in the zone and REFUSED outside it', async () => {
    const nx = await exec('dnsclient', 'nslookup', 'nosuch.default.svc.cluster.local', coreIp);
    expect(nx.code).not.toBe(0);
    expect(nx.out + nx.err).toMatch(/NXDOMAIN/);
    const out = await exec('dnsclient', 'nslookup', 'example.com', coreIp);
    expect(out.code).not.toBe(0);
    expect(out.out + out.err).toMatch(/REFUSED/);
  });

  it('answers the SOA of cluster.local as CoreDNS does', async () => {
    const r = await exec('dnsclient', 'nslookup', '-type=soa', 'cluster.local', coreIp);
    expect(r.out).toMatch(/origin = ns\.dns\.cluster\.local/);
    expect(r.out).toMatch(/mail addr = hostmaster\.cluster\.local/);
  });

  it('answers 1000 queries from a pod (the rate is printed)', async () => {
    const names = [
      'myapp-service.default.svc.cluster.local',
      'myapp-headless.default.svc.cluster.local',
      `${myappIps[0].replace(/\./g, '-')}.default.pod.cluster.local`,
    ];
    const server = hasKubeProxy ? DNS_IP : coreIp;
    const r = await exec('dnsclient', process.execPath, BENCH, '--server', server, '--count', '1000', ...names);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(r.out.trim().split('\n').pop()!) as {
      answered: number;
      failed: number;
      qps: number;
      seconds: number;
    };
    expect(m).toMatchObject({ answered: 1000, failed: 0 });
    console.log(`1000 DNS queries from a pod to ${server}: ${m.seconds} s, ${m.qps} queries/s`);
  });

  describe.skipIf(skip)('records of Services', () => {
    it('answers A for a Service with its ClusterIP', async () => {
      const r = await exec('dnsclient', 'nslookup', 'myapp-service.default.svc.cluster.local', coreIp);
      expect(addresses(r.out)).toEqual([clusterIp]);
    });

    it('answers A for a headless Service with its three ready pods, and hostname.subdomain names', async () => {
      await waitFor('myapp-headless to list three addresses', async () => {
        const r = await exec('dnsclient', 'nslookup', 'myapp-headless.default.svc.cluster.local', coreIp);
        return addresses(r.out).join() === myappIps.join();
      });
      const r = await exec('dnsclient', 'nslookup', 'db-0.db.default.svc.cluster.local', coreIp);
      expect(addresses(r.out)).toEqual([dbIp]);
    });

    it('answers SRV for named ports', async () => {
      const r = await exec(
        'dnsclient',
        'nslookup',
        '-type=srv',
        '_http._tcp.myapp-service.default.svc.cluster.local',
        coreIp,
      );
      expect(r.out).toMatch(/0 100 80 myapp-service\.default\.svc\.cluster\.local/);
      const h = await exec('dnsclient', 'nslookup', '-type=srv', '_pg._tcp.db.default.svc.cluster.local', coreIp);
      expect(h.out).toMatch(/0 100 5432 db-0\.db\.default\.svc\.cluster\.local/);
    });
  });

  describe.skipIf(noKubeProxy)('through the kube-dns Service and the search path (needs kube-proxy)', () => {
    it('nslookup myapp-service, getent hosts myapp-service, curl myapp-service', async () => {
      // busybox's nslookup also asks AAAA (NODATA here) and may exit 1 for it: judge the A answer.
      const ns = (await exec('dnsclient', 'nslookup', 'myapp-service')).out;
      expect(ns).toMatch(/Server:\s+10\.96\.0\.10/);
      expect(addresses(ns), ns).toEqual([clusterIp]);
      const g = await exec('dnsclient', 'getent', 'hosts', 'myapp-service');
      expect(g.code, g.err).toBe(0);
      expect(g.out.trim().split(/\s+/)).toEqual([clusterIp, 'myapp-service.default.svc.cluster.local']);
      const c = await exec('dnsclient', 'curl', '-sS', '--max-time', '10', 'http://myapp-service/');
      expect(c.code, c.err).toBe(0);
      expect(c.out).toContain('Welcome to nginx!');
    });
  });

  it('lab down leaves nothing behind', async () => {
    const r = await cli(['lab', 'down', '--name', lab]);
    expect(r.code, r.err).toBe(0);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  });
});
