// Services in a live two-node lab through real pods, the real nft in each node's namespace and real
// /usr/bin/kubectl: seed 003's NodePort Service (its two mistakes fixed) in front of a 3-replica agnhost
// Deployment `app: myapp`; ClusterIP from a pod, NodePort from the client namespace on both nodes,
// random spread (chi-square), ClientIP affinity and its timeout, Endpoints following scale, delete and
// readiness with no failed request during a scale-up, a Service without endpoints refused at once,
// externalTrafficPolicy Local, a LoadBalancer address from the pool, kube's validation errors, tables,
// `lab trace` from a pod to the ClusterIP (chains and DNAT targets).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import {
  built,
  cli,
  KUBECTL,
  kubectlFor,
  labName,
  leftovers,
  ROOT,
  sharedManifests,
  tableRows,
  waitFor,
} from '../../helpers/live-lab.js';

const skip =
  requireRootOrSkip('live lab services') ||
  requireOrSkip(built(), 'live lab services: build first (npm run build)') ||
  requireOrSkip(fs.existsSync(KUBECTL), `live lab services: ${KUBECTL} is not installed`);
const lab = labName('svc');
const CLIENT_IP = '192.168.1.254';
const l = (...args: string[]) => cli(['lab', args[0], '--name', lab, ...args.slice(1)], { timeoutMs: 180_000 });
let kubectl: ReturnType<typeof kubectlFor>;

const DEPLOYMENT = (name: string, replicas: number, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
${extra}      containers:
      - name: agnhost
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
        args: [netexec, --http-port=80, --udp-port=-1]
        ports: [{ name: http, containerPort: 80 }]
        readinessProbe: { httpGet: { path: /healthz, port: 80 }, periodSeconds: 1 }
`;

/** The seed 003 Service as the tutorial prints it, with `vl` → `v1` and the tabs → spaces. */
function seed003(): string {
  const text = fs.readFileSync(path.join(sharedManifests(), 'seed-003-nodeport-service.yaml'), 'utf8');
  return text.replace('apiVersion: vl', 'apiVersion: v1').replace(/\t/g, '  ');
}

async function ok(p: Promise<{ code: number; out: string; err: string }>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}${r.out}`);
  return r.out;
}

const inPod = (pod: string, script: string) => kubectl(['exec', pod, '--', 'sh', '-c', script], { timeoutMs: 120_000 });
const fromClient = (script: string) => l('exec', 'client', '--', 'sh', '-c', script);

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok(kubectl([...args, '-o', 'json']))) as T;
}

type Svc = { spec: { clusterIP: string }; status?: { loadBalancer?: { ingress?: { ip: string }[] } } };
type Ep = { subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[] };
const readyIps = (ep: Ep): string[] => (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
const notReadyIps = (ep: Ep): string[] =>
  (ep.subsets ?? []).flatMap((s) => (s.notReadyAddresses ?? []).map((a) => a.ip));

function counts(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean))
    m.set(line, (m.get(line) ?? 0) + 1);
  return m;
}

const hostnames = (ip: string, n: number): string =>
  `i=0; while [ $i -lt ${n} ]; do curl -s --max-time 5 http://${ip}/hostname; echo; i=$((i+1)); done`;

describe.skipIf(skip)('Services in a live lab', () => {
  let clusterIP = '';
  let myappPods: string[] = [];
  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes-empty.yaml'), '--name', lab], {
      timeoutMs: 180_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    kubectl = kubectlFor((await ok(l('kubeconfig'))).trim());
    await ok(kubectl(['apply', '-f', '-'], { input: DEPLOYMENT('myapp', 3).replace(/app: myapp/g, 'app: myapp') }));
    await ok(
      kubectl(['apply', '-f', '-'], {
        input: fs.readFileSync(path.join(sharedManifests(), 'seed-000-busybox-pod.yaml'), 'utf8'),
      }),
    );
    await ok(kubectl(['rollout', 'status', 'deployment/myapp', '--timeout=120s'], { timeoutMs: 130_000 }));
    await ok(kubectl(['wait', '--for=condition=Ready', 'pod/busybox', '--timeout=120s'], { timeoutMs: 130_000 }));
    const started = Date.now();
    await ok(kubectl(['apply', '-f', '-'], { input: seed003() }));
    await waitFor(
      'the NodePort to answer from the client',
      async () => (await fromClient('curl -s --max-time 2 http://192.168.1.2:30008/hostname')).code === 0,
      60_000,
      50,
    );
    console.log(`apply → Service reachable (client → node1:30008): ${Date.now() - started} ms`);
    clusterIP = (await json<Svc>(['get', 'svc', 'myapp-service'])).spec.clusterIP;
    const pods = await json<{ items: { metadata: { name: string } }[] }>(['get', 'pods', '-l', 'app=myapp']);
    myappPods = pods.items.map((p) => p.metadata.name).sort();
  }, 300_000);
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  }, 120_000);

  it('kubectl shows the Service, its Endpoints and EndpointSlice; the node holds the nft table', async () => {
    const svc = tableRows(await ok(kubectl(['get', 'svc', '-o', 'wide'])));
    const row = svc.find((r) => r['NAME'] === 'myapp-service')!;
    expect(row).toMatchObject({
      TYPE: 'NodePort',
      'CLUSTER-IP': clusterIP,
      'EXTERNAL-IP': '<none>',
      'PORT(S)': '80:30008/TCP',
      SELECTOR: 'app=myapp',
    });
    expect(svc.find((r) => r['NAME'] === 'kubernetes')).toMatchObject({
      'CLUSTER-IP': '10.96.0.1',
      'PORT(S)': '443/TCP',
    });
    const labRow = tableRows(await ok(l('get', 'svc', '-o', 'wide'))).find((r) => r['NAME'] === 'myapp-service');
    expect(labRow?.['PORT(S)']).toBe('80:30008/TCP');
    await waitFor(
      '3 endpoints',
      async () => readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service'])).length === 3,
    );
    const ep = tableRows(await ok(kubectl(['get', 'endpoints', 'myapp-service'])))[0];
    expect(ep['ENDPOINTS']).toMatch(/^10\.244\.\d\.\d+:80,10\.244\.\d\.\d+:80,10\.244\.\d\.\d+:80$/);
    const slices = tableRows(
      await ok(kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=myapp-service'])),
    );
    expect(slices).toHaveLength(1);
    expect(slices[0]).toMatchObject({ ADDRESSTYPE: 'IPv4', PORTS: '80' });
    const describe = await ok(kubectl(['describe', 'svc', 'myapp-service']));
    expect(describe).toMatch(/Endpoints:\s+10\.244\.\d\.\d+:80,/);
    expect(describe).toMatch(/NodePort:\s+<unset>\s+30008\/TCP/);
    const nft = await ok(l('exec', 'node1', '--', 'nft', 'list', 'table', 'ip', 'kube-proxy'));
    expect(nft).toContain(`${clusterIP} . tcp . 80 : goto service-`);
    expect(nft).toContain('tcp . 30008 : goto external-');
    expect(nft).toMatch(/numgen random mod 3 vmap/);
    expect(nft).toMatch(/dnat to 10\.244\.\d\.\d+:80/);
  });

  it('a pod reaches the ClusterIP; the client reaches node1:30008 and node2:30008', async () => {
    expect(myappPods).toContain(
      (await ok(inPod('busybox', `curl -s --max-time 5 http://${clusterIP}/hostname`))).trim(),
    );
    for (const node of ['192.168.1.2', '192.168.1.3']) {
      const out = await ok(fromClient(`curl -s --max-time 5 http://${node}:30008/hostname`));
      expect(myappPods).toContain(out.trim());
    }
  });

  it('lab trace from a pod to the ClusterIP names the endpoint chains and the pods as DNAT targets', async () => {
    const ips = readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service'])).sort();
    expect(ips).toHaveLength(3);
    const text = await ok(l('trace', 'busybox', `${clusterIP}:80`));
    expect(text).toContain(`service-ips: ${clusterIP} . tcp . 80 : goto service-`);
    expect(text).toContain('numgen random mod 3');
    for (const ip of ips) {
      const e = ip.replace(/\./g, '\\.');
      expect(text).toMatch(new RegExp(`endpoint-[A-Z2-7]{8}-default/myapp-service/tcp/\\S*__${e}/80 → ${e}:80`));
    }
    expect(
      text
        .match(/^DNAT targets: (.*)$/m)?.[1]
        .split(', ')
        .sort(),
    ).toEqual(ips.map((ip) => `${ip}:80`));
    expect(text).toMatch(/service verdict: dnat to 10\.244\.\d\.\d+:80/);
    expect(text).toMatch(/path verdict: (forward|local)/);
    type T = { service: { verdict: string; endpoints: { ip: string; chain: string }[]; dnat: { ip: string } } };
    const j = JSON.parse(await ok(l('trace', 'busybox', `${clusterIP}:80`, '--endpoint', ips[2], '-o', 'json'))) as T;
    expect(j.service.verdict).toBe('dnat');
    expect(j.service.endpoints.map((e) => e.ip).sort()).toEqual(ips);
    expect(j.service.dnat.ip).toBe(ips[2]);
  });

  it('spreads 300 requests over the three pods (chi-square at p = 0.001)', async () => {
    const c = counts(await ok(inPod('busybox', hostnames(clusterIP, 300))));
    expect([...c.keys()].sort()).toEqual(myappPods);
    const chi = [...c.values()].reduce((s, n) => s + (n - 100) ** 2 / 100, 0);
    expect(chi).toBeLessThan(13.816); // χ²(2 dof) at p = 0.001
  });

  it('ClientIP affinity sends all 300 to one pod, and a new choice is made after the timeout', async () => {
    const patch = '{"spec":{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":2}}}}';
    await ok(kubectl(['patch', 'svc', 'myapp-service', '-p', patch]));
    const node = (await json<{ spec: { nodeName: string } }>(['get', 'pod', 'busybox'])).spec.nodeName;
    const table = async () => ok(l('exec', node, '--', 'nft', 'list', 'table', 'ip', 'kube-proxy'));
    await waitFor('affinity sets in nft', async () => (await table()).includes('timeout 2s'));
    const c = counts(await ok(inPod('busybox', hostnames(clusterIP, 300))));
    expect(c.size).toBe(1);
    const first = [...c.keys()][0];
    let other = '';
    for (let round = 0; round < 10 && !other; round++) {
      await waitFor('the affinity entry to expire', async () => !(await table()).includes('expires'), 20_000, 200);
      const got = (await ok(inPod('busybox', `curl -s --max-time 5 http://${clusterIP}/hostname`))).trim();
      if (got !== first) other = got;
    }
    expect(myappPods).toContain(other);
    await ok(kubectl(['patch', 'svc', 'myapp-service', '-p', '{"spec":{"sessionAffinity":"None"}}']));
  }, 120_000);

  it('Endpoints follow scale 3→1→3 with no failed request during the scale-up, a pod delete and a not-ready pod', async () => {
    await ok(kubectl(['scale', 'deployment/myapp', '--replicas=1']));
    await waitFor(
      '1 endpoint',
      async () => readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service'])).length === 1,
      60_000,
      100,
    );
    const loop = inPod(
      'busybox',
      `i=0; while [ $i -lt 150 ]; do curl -s -o /dev/null --max-time 5 -w '%{http_code}\\n' http://${clusterIP}/hostname; i=$((i+1)); done`,
    );
    await ok(kubectl(['scale', 'deployment/myapp', '--replicas=3']));
    await waitFor(
      '3 endpoints',
      async () => readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service'])).length === 3,
      90_000,
      100,
    );
    const codes = counts(await ok(loop));
    expect([...codes.keys()]).toEqual(['200']);
    const before = readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service']));
    const pods = await json<{ items: { metadata: { name: string }; status: { podIP: string } }[] }>([
      'get',
      'pods',
      '-l',
      'app=myapp',
    ]);
    const victim = pods.items[0];
    await ok(kubectl(['delete', 'pod', victim.metadata.name, '--wait=false']));
    await waitFor(
      'the deleted pod to leave the endpoints',
      async () => !readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service'])).includes(victim.status.podIP),
      30_000,
      100,
    );
    expect(before).toContain(victim.status.podIP);
    const notReady = `apiVersion: v1
kind: Pod
metadata: { name: notready, labels: { app: myapp } }
spec:
  containers:
  - name: agnhost
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=80, --udp-port=-1]
    readinessProbe: { exec: { command: ["false"] }, periodSeconds: 1 }
`;
    await waitFor(
      'the replacement pod ready',
      async () => readyIps(await json<Ep>(['get', 'endpoints', 'myapp-service'])).length === 3,
      90_000,
      100,
    );
    await ok(kubectl(['apply', '-f', '-'], { input: notReady }));
    const ip = await waitFor('the not-ready pod to have an IP', async () => {
      const p = await json<{ status: { podIP?: string } }>(['get', 'pod', 'notready']);
      return p.status.podIP;
    });
    await waitFor('the not-ready pod in notReadyAddresses only', async () => {
      const ep = await json<Ep>(['get', 'endpoints', 'myapp-service']);
      return notReadyIps(ep).includes(ip) && !readyIps(ep).includes(ip);
    });
    const slice = await json<{ items: { endpoints: { addresses: string[]; conditions: { ready: boolean } }[] }[] }>([
      'get',
      'endpointslices',
      '-l',
      'kubernetes.io/service-name=myapp-service',
    ]);
    expect(slice.items.flatMap((s) => s.endpoints).find((e) => e.addresses[0] === ip)?.conditions.ready).toBe(false);
    const nodes = ['node1', 'node2'];
    const tables = async () =>
      Promise.all(nodes.map((n) => ok(l('exec', n, '--', 'nft', 'list', 'table', 'ip', 'kube-proxy'))));
    await waitFor(
      'no node to DNAT to the not-ready pod',
      async () => (await tables()).every((t) => !t.includes(`dnat to ${ip}:80`)),
      10_000,
    );
    await ok(kubectl(['delete', 'pod', 'notready', '--wait=false']));
  }, 180_000);

  it('refuses a Service without endpoints at once', async () => {
    await ok(
      kubectl(['apply', '-f', '-'], {
        input:
          'apiVersion: v1\nkind: Service\nmetadata: { name: nobody }\nspec: { selector: { app: nobody }, ports: [{ port: 80 }] }\n',
      }),
    );
    const ip = (await json<Svc>(['get', 'svc', 'nobody'])).spec.clusterIP;
    await waitFor('the reject rule', async () =>
      (await ok(l('exec', 'node1', '--', 'nft', 'list', 'map', 'ip', 'kube-proxy', 'no-endpoint-services'))).includes(
        ip,
      ),
    );
    const r = await inPod('busybox', `curl -s --max-time 10 http://${ip}/; echo "exit=$?"`);
    expect(r.out).toContain('exit=7'); // connection refused, not 28 (timed out)
  });

  it('externalTrafficPolicy Local keeps the client IP and answers only where an endpoint is; Cluster answers everywhere', async () => {
    await ok(
      kubectl(['apply', '-f', '-'], {
        input: DEPLOYMENT('solo', 1, '      nodeSelector: { kubernetes.io/hostname: node1 }\n'),
      }),
    );
    const svc = (name: string, port: number, policy: string) =>
      `apiVersion: v1\nkind: Service\nmetadata: { name: ${name} }\nspec: { type: NodePort, externalTrafficPolicy: ${policy}, selector: { app: solo }, ports: [{ port: 80, nodePort: ${port} }] }\n`;
    await ok(
      kubectl(['apply', '-f', '-'], {
        input: svc('solo-local', 30100, 'Local') + '---\n' + svc('solo-cluster', 30101, 'Cluster'),
      }),
    );
    await ok(kubectl(['rollout', 'status', 'deployment/solo', '--timeout=90s'], { timeoutMs: 100_000 }));
    const local = await waitFor('node1:30100', async () => {
      const r = await fromClient('curl -s --max-time 2 http://192.168.1.2:30100/clientip');
      return r.code === 0 && r.out.trim() ? r.out.trim() : undefined;
    });
    expect(local.split(':')[0]).toBe(CLIENT_IP);
    const off = await fromClient('curl -s --max-time 2 http://192.168.1.3:30100/clientip; echo "exit=$?"');
    expect(off.out).toContain('exit=28'); // dropped: node2 has no local endpoint
    const cluster = (await ok(fromClient('curl -s --max-time 5 http://192.168.1.3:30101/clientip'))).trim();
    expect(cluster.split(':')[0]).not.toBe(CLIENT_IP); // source NAT on the node without the pod
  }, 120_000);

  it('a LoadBalancer Service gets a pool address reachable from the client', async () => {
    await ok(
      kubectl(['apply', '-f', '-'], {
        input:
          'apiVersion: v1\nkind: Service\nmetadata: { name: lb }\nspec: { type: LoadBalancer, selector: { app: myapp }, ports: [{ port: 80 }] }\n',
      }),
    );
    const ip = await waitFor(
      'an ingress address',
      async () => (await json<Svc>(['get', 'svc', 'lb'])).status?.loadBalancer?.ingress?.[0]?.ip,
    );
    expect(ip).toMatch(/^192\.168\.1\.(24\d|25[0-3])$/);
    const row = tableRows(await ok(kubectl(['get', 'svc', 'lb']))).find((r) => r['NAME'] === 'lb')!;
    expect(row['EXTERNAL-IP']).toBe(ip);
    const got = await waitFor('the LoadBalancer address to answer', async () => {
      const r = await fromClient(`curl -s --max-time 2 http://${ip}/hostname`);
      return r.code === 0 ? r.out.trim() : undefined;
    });
    expect(got).toMatch(/^myapp-/);
  });

  it("rejects bad Services with kube-apiserver's messages", async () => {
    const bad = (spec: string) =>
      kubectl(['apply', '-f', '-'], {
        input: `apiVersion: v1\nkind: Service\nmetadata: { name: bad }\nspec: ${spec}\n`,
      });
    const taken = await bad('{ type: NodePort, selector: { app: x }, ports: [{ port: 80, nodePort: 30008 }] }');
    expect(taken.code).not.toBe(0);
    expect(taken.err).toContain('spec.ports[0].nodePort: Invalid value: 30008: provided port is already allocated');
    const range = await bad('{ type: NodePort, ports: [{ port: 80, nodePort: 40000 }] }');
    expect(range.err).toContain('provided port is not in the valid range. The range of valid ports is 30000-32767');
    const dup = await bad('{ ports: [{ name: a, port: 80 }, { name: b, port: 80 }] }');
    expect(dup.err).toContain('spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP"');
    const sel = await bad('{ selector: { "bad key!": x }, ports: [{ port: 80 }] }');
    expect(sel.err).toContain('spec.selector: Invalid value: "bad key!"');
  });
});
