// NetworkPolicy in the style of Kubernetes' e2e network-policy tests (test/e2e/network/netpol), on one
// live two-node lab: namespaces x, y, z with pods a, b, c each, every pod serving TCP and UDP on ports 80
// and 81 (the built-in agnhost serve-hostname), real kubectl for policies and labels. Each case probes
// every pod → every pod × port × protocol (agnhost connect, all of a source pod's probes at once in its
// network namespace), compares the observed matrix with the expected one (printed whole on failure) and
// checks that `lab policy check` (the evaluator) gives the same answer in every cell. Also: the API's
// validation texts, `lab policy check --probe`, `lab policy log`, `lab describe networkpolicy`, `lab
// check`'s truth tables, established connections surviving a later policy, and `lab down` leaving nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import {
  built,
  cli,
  KUBECTL,
  kubectlFor,
  LAB_ROOT,
  labName,
  leftovers,
  ROOT,
  run,
  waitFor,
} from '../../helpers/live-lab.js';
import {
  differences,
  expectMatrix,
  formatComparison,
  ns,
  PODS,
  PORTS,
  ppKey,
  type Matrix,
} from '../../helpers/netpol-matrix.js';
import { labClient } from '../../../src/lab/live-lab.js';
import { requireState } from '../../../src/lab/lab.js';
import { podNamespaces } from '../../../src/lab/pod-netns.js';
import { loadPolicyView } from '../../../src/lab/policy-world.js';
import { evaluate } from '../../../src/policy/evaluate.js';
import { compileNode } from '../../../src/policy/compile.js';

const skip =
  requireRootOrSkip('NetworkPolicy e2e') ||
  requireOrSkip(built(), 'NetworkPolicy e2e: build first (npm run build)') ||
  requireOrSkip(fs.existsSync(KUBECTL), `NetworkPolicy e2e: ${KUBECTL} is not installed`);
const lab = labName('np');
const PROBE = path.join(ROOT, 'test/helpers/netpol-probe.mjs');
const PROBE_TIMEOUT_MS = 1000;
let kubectl: ReturnType<typeof kubectlFor>;
const ipOf = new Map<string, string>();
const netnsOf = new Map<string, string>();
const started = Date.now();

function manifests(): string {
  const items: unknown[] = ['x', 'y', 'z'].map((n) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: n, labels: { ns: n } },
  }));
  for (const pod of PODS) {
    const [n, p] = pod.split('/');
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p, namespace: n, labels: { pod: p } },
      spec: {
        containers: [80, 81].map((port) => ({
          name: `cont-${port}`,
          image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
          args: ['serve-hostname', '--tcp', '--udp', '--http=false', '--port', String(port)],
          ports: [
            { containerPort: port, name: `serve-${port}-tcp`, protocol: 'TCP' },
            { containerPort: port, name: `serve-${port}-udp`, protocol: 'UDP' },
          ],
        })),
      },
    });
  }
  return items.map((i) => JSON.stringify(i)).join('\n');
}

async function k(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err}${r.out}`);
  return r.out;
}

/** Probes every cell: one process per source pod, all its connects at once. */
async function probeAll(): Promise<Matrix> {
  const targets = PODS.flatMap((to) =>
    PORTS.map((pp) => ({
      ip: ipOf.get(to)!,
      port: pp.port,
      proto: pp.proto.toLowerCase(),
      timeoutMs: PROBE_TIMEOUT_MS,
    })),
  );
  const rows = await Promise.all(
    PODS.map(async (from) => {
      const r = await run(
        'ip',
        ['netns', 'exec', netnsOf.get(from)!, process.execPath, PROBE, JSON.stringify(targets)],
        {
          timeoutMs: 30_000,
        },
      );
      if (r.code !== 0) throw new Error(`probe from ${from}: ${r.err}`);
      return JSON.parse(r.out) as boolean[];
    }),
  );
  const m: Matrix = new Map();
  PORTS.forEach((pp, k) =>
    m.set(
      ppKey(pp),
      rows.map((row) => PODS.map((_, j) => row[j * PORTS.length + k])),
    ),
  );
  return m;
}

/** What `lab policy check` answers for every cell (the evaluator over the API's objects). */
async function verdicts(): Promise<Matrix> {
  const v = await loadPolicyView(labClient(lab));
  const m: Matrix = new Map();
  for (const pp of PORTS) {
    m.set(
      ppKey(pp),
      PODS.map((from) =>
        PODS.map(
          (to) =>
            evaluate(v.world, {
              srcIp: ipOf.get(from)!,
              dstIp: ipOf.get(to)!,
              proto: pp.proto,
              port: pp.port,
              nodeIps: v.nodeIps,
            }).allowed,
        ),
      ),
    );
  }
  return m;
}

async function nftChains(netns: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'table', 'inet', 'kube-network-policies']);
  if (r.code !== 0) return [`<no table: ${r.code} ${r.err.trim()}>`];
  const j = JSON.parse(r.out) as { nftables: { chain?: { name: string } }[] };
  return j.nftables.flatMap((x) => (x.chain && x.chain.name !== 'forward' ? [x.chain.name] : [])).sort();
}

/** Waits until every node's table has the pod chains the current API objects call for. */
async function waitEnforced(): Promise<void> {
  const t = requireState(lab).topology;
  let lastSeen = '';
  await waitFor(
    'every node enforcing the current policies',
    async () => {
      const v = await loadPolicyView(labClient(lab));
      for (const n of t.nodes) {
        const want = [...compileNode(v.world, n.name).chains.keys()].filter((c) => c !== 'forward').sort();
        const have = await nftChains(n.netns);
        if (JSON.stringify(have) !== JSON.stringify(want)) {
          lastSeen = `${n.name} has ${have.join(' ')}, wants ${want.join(' ')}`;
          return false;
        }
      }
      return true;
    },
    30_000,
    100,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${lastSeen}`);
  });
}

/** The case's check: the verdicts equal the expectation, and the probes do (re-probing while they differ). */
async function expectReachability(expected: Matrix): Promise<void> {
  const v = await verdicts();
  expect(differences(expected, v), formatComparison(expected, v, 'by lab policy check')).toEqual([]);
  await waitEnforced();
  const deadline = Date.now() + 25_000;
  let observed = await probeAll();
  while (differences(expected, observed).length && Date.now() < deadline) observed = await probeAll();
  expect(differences(expected, observed), formatComparison(expected, observed)).toEqual([]);
}

async function policies(...docs: object[]): Promise<void> {
  const items = docs.map((d) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...d }));
  await k(['apply', '-f', '-'], items.map((i) => JSON.stringify(i)).join('\n'));
}

const np = (namespace: string, name: string, spec: object): object => ({ metadata: { name, namespace }, spec });

describe.skipIf(!!skip)('NetworkPolicy, e2e style: namespaces x y z × pods a b c, TCP and UDP on 80 and 81', () => {
  beforeAll(async () => {
    // Two nodes, no pods; node failure timeouts long enough that a loaded CI machine never evicts a pod.
    const topo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flt-np-')), 'lab.yaml');
    fs.writeFileSync(
      topo,
      fs.readFileSync(path.join(ROOT, 'examples/two-nodes-empty.yaml'), 'utf8') +
        'nodeMonitorGracePeriod: 120\npodEvictionTimeout: 600\n',
    );
    const up = await cli(['lab', 'up', topo, '--name', lab], {
      timeoutMs: 240_000,
    });
    expect(up.code, up.err).toBe(0);
    kubectl = kubectlFor(path.join(LAB_ROOT, lab, 'kubeconfig'));
    await k(['apply', '-f', '-'], manifests());
    await waitFor(
      'the 9 pods Running with IPs',
      async () => {
        const list = JSON.parse(await k(['get', 'pods', '-A', '-o', 'json'])) as {
          items: { metadata: { name: string; namespace: string }; status: { phase?: string; podIP?: string } }[];
        };
        // the suite's pods only (kube-system has the lab's coredns pod)
        const running = list.items.filter(
          (p) => ['x', 'y', 'z'].includes(p.metadata.namespace) && p.status.phase === 'Running' && p.status.podIP,
        );
        if (running.length !== 9) return false;
        for (const p of running) ipOf.set(`${p.metadata.namespace}/${p.metadata.name}`, p.status.podIP!);
        return true;
      },
      180_000,
    );
    const byIp = new Map((await podNamespaces(requireState(lab).topology)).map((n) => [n.ip, n.netns]));
    for (const [pod, ip] of ipOf) netnsOf.set(pod, byIp.get(ip)!);
    expect([...netnsOf.values()].every(Boolean)).toBe(true);
  }, 420_000);

  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab], { timeoutMs: 120_000 });
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
    process.stdout.write(`NetworkPolicy e2e suite: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, 180_000);

  beforeEach(async () => {
    await k(['delete', 'networkpolicy', '--all', '-A', '--wait=false']);
    await k(['label', 'pod', '-A', '--all', 'role-']);
    await k(['label', 'namespace', 'x', 'y', 'z', 'team-']);
  }, 60_000);

  it('everything is reachable without policies', async () => {
    await expectReachability(expectMatrix(true));
  }, 90_000);

  it('default deny ingress', async () => {
    await policies(np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
    await expectReachability(expectMatrix(true, (_f, t) => (ns(t) === 'x' ? false : undefined)));
  }, 90_000);

  it('default deny egress, egress allowed only to DNS', async () => {
    await policies(
      np('x', 'deny-egress-but-dns', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      }),
    );
    await expectReachability(expectMatrix(true, (f) => (ns(f) === 'x' ? false : undefined)));
  }, 90_000);

  it('allow all ingress in a namespace (beside a default deny)', async () => {
    await policies(
      np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
      np('x', 'allow-all', { podSelector: {}, ingress: [{}] }),
    );
    await expectReachability(expectMatrix(true));
  }, 90_000);

  it('allow from the same namespace', async () => {
    await policies(np('x', 'same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }));
    await expectReachability(expectMatrix(true, (f, t) => (ns(t) === 'x' ? ns(f) === 'x' : undefined)));
  }, 90_000);

  it('allow from namespaces with a label', async () => {
    await policies(
      np('x', 'from-ns-y', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
      }),
    );
    await expectReachability(expectMatrix(true, (f, t) => (t === 'x/a' ? ns(f) === 'y' : undefined)));
  }, 90_000);

  it('podSelector AND namespaceSelector in one peer', async () => {
    await policies(
      np('x', 'and', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y', 'z'] }] },
                podSelector: { matchLabels: { pod: 'b' } },
              },
            ],
          },
        ],
      }),
    );
    await expectReachability(expectMatrix(true, (f, t) => (t === 'x/a' ? f === 'y/b' || f === 'z/b' : undefined)));
  }, 90_000);

  it('OR of two peers', async () => {
    await policies(
      np('x', 'or', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }],
          },
        ],
      }),
    );
    await expectReachability(expectMatrix(true, (f, t) => (t === 'x/a' ? ns(f) === 'y' || f === 'x/b' : undefined)));
  }, 90_000);

  it('ipBlock with except (ingress) and ipBlock egress', async () => {
    await policies(
      np('x', 'ipblock-in', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${ipOf.get('y/b')}/32`] } }] }],
      }),
      np('z', 'ipblock-out', {
        podSelector: { matchLabels: { pod: 'c' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: `${ipOf.get('y/a')}/32` } }] }],
      }),
    );
    await expectReachability(
      expectMatrix(
        true,
        (f, t) => (f === 'z/c' ? t === 'y/a' : undefined),
        (f, t) => (t === 'x/a' ? f !== 'y/b' : undefined),
      ),
    );
  }, 90_000);

  it('named ports (ingress and egress)', async () => {
    await policies(
      np('x', 'named-in', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ ports: [{ port: 'serve-80-tcp' }, { protocol: 'UDP', port: 'serve-81-udp' }] }],
      }),
      np('y', 'named-out', {
        podSelector: { matchLabels: { pod: 'c' } },
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 'serve-81-tcp' }] }],
      }),
    );
    const tcp = (pp: { proto: string }) => pp.proto === 'TCP';
    const egressOk = (f: string, pp: { proto: string; port: number }) => f !== 'y/c' || (tcp(pp) && pp.port === 81);
    const ingressOk = (t: string, pp: { proto: string; port: number }) =>
      t !== 'x/a' || (tcp(pp) && pp.port === 80) || (!tcp(pp) && pp.port === 81);
    await expectReachability(expectMatrix(true, (f, t, pp) => egressOk(f, pp) && ingressOk(t, pp)));
  }, 90_000);

  it('endPort range', async () => {
    await policies(
      np('x', 'range', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ ports: [{ protocol: 'TCP', port: 81, endPort: 90 }] }],
      }),
    );
    await expectReachability(
      expectMatrix(true, (_f, t, pp) => (t === 'x/a' ? pp.proto === 'TCP' && pp.port === 81 : undefined)),
    );
  }, 90_000);

  it('UDP only', async () => {
    await policies(
      np('x', 'udp-only', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ protocol: 'UDP' }] }] }),
    );
    await expectReachability(expectMatrix(true, (_f, t, pp) => (t === 'x/a' ? pp.proto === 'UDP' : undefined)));
  }, 90_000);

  it('two policies whose union opens a port', async () => {
    await policies(
      np('x', 'tcp80-from-b', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 80 }] }],
      }),
      np('x', 'tcp81-from-y', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 81 }] }],
      }),
    );
    await expectReachability(
      expectMatrix(true, (f, t, pp) =>
        t === 'x/a'
          ? pp.proto === 'TCP' && ((pp.port === 80 && f === 'x/b') || (pp.port === 81 && ns(f) === 'y'))
          : undefined,
      ),
    );
  }, 90_000);

  it('a policy that selects nothing changes nothing', async () => {
    await policies(
      np('x', 'nobody', { podSelector: { matchLabels: { pod: 'nobody' } }, policyTypes: ['Ingress', 'Egress'] }),
    );
    await expectReachability(expectMatrix(true));
  }, 90_000);

  it('a pod relabelled into and out of a policy', async () => {
    await policies(np('x', 'locked', { podSelector: { matchLabels: { role: 'locked' } }, policyTypes: ['Ingress'] }));
    await expectReachability(expectMatrix(true));
    await k(['label', 'pod', 'b', '-n', 'x', 'role=locked']);
    await expectReachability(expectMatrix(true, (_f, t) => (t === 'x/b' ? false : undefined)));
    await k(['label', 'pod', 'b', '-n', 'x', 'role-']);
    await expectReachability(expectMatrix(true));
  }, 180_000);

  it('a namespace relabelled', async () => {
    await policies(
      np('x', 'from-blue', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }],
      }),
    );
    const closed = expectMatrix(true, (_f, t) => (t === 'x/a' ? false : undefined));
    await expectReachability(closed);
    await k(['label', 'namespace', 'z', 'team=blue']);
    await expectReachability(expectMatrix(true, (f, t) => (t === 'x/a' ? ns(f) === 'z' : undefined)));
    await k(['label', 'namespace', 'z', 'team-']);
    await expectReachability(closed);
  }, 180_000);

  it('deleting a policy opens the traffic again', async () => {
    await policies(np('y', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
    await expectReachability(expectMatrix(true, (_f, t) => (ns(t) === 'y' ? false : undefined)));
    await k(['delete', 'networkpolicy', 'deny-ingress', '-n', 'y']);
    await expectReachability(expectMatrix(true));
  }, 180_000);

  it('kubectl validation, lab policy check --probe, policy log, describe networkpolicy, lab check', async () => {
    const l = (...a: string[]) => cli(['lab', ...a, '--name', lab], { timeoutMs: 120_000 });
    const bad = await kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'bad', namespace: 'x' },
        spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] },
      }),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain(
      'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
    );
    await policies(np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
    await waitEnforced();
    const denied = await l('policy', 'check', 'y/a', 'x/b', '--port', '80', '--probe');
    expect(denied.code, denied.out + denied.err).toBe(3);
    expect(denied.out).toContain('DENIED: isolated by x/deny-ingress');
    expect(denied.out).toContain('agrees with the verdict');
    const allowed = await l('policy', 'check', 'x/b', 'y/a', '--port', '81', '--proto', 'udp', '--probe');
    expect(allowed.code, allowed.out + allowed.err).toBe(0);
    expect(allowed.out).toContain('probe: connected');
    const log = await l('policy', 'log', 'x/b');
    expect(log.out).toMatch(
      /ingress +y\/a\(\S+\) +x\/b\(\S+\) +tcp +80 +\d+ +ingress of x\/b isolated by x\/deny-ingress/,
    );
    const d = await l('describe', 'networkpolicy', 'deny-ingress', '-n', 'x');
    expect(d.out).toContain('<none> (Selected pods are isolated for ingress connectivity)');
    expect(d.out).toMatch(/Selected pods \(now\): \n {2}a .*\n {2}b .*ingress dropped [1-9]/);
    const kd = await kubectl(['describe', 'networkpolicy', 'deny-ingress', '-n', 'x']);
    expect(kd.out).toContain('PodSelector:');
    const check = await l('check');
    // the header row: the lab's coredns pod (kube-system) first, then the suite's pods
    expect(check.out).toMatch(/^-\t(kube-system\/coredns-\S+\t)?x\/a\tx\/b\tx\/c\t/m);
    expect(check.out, check.out).toContain('observed matches the policies in every cell');
    expect(check.code).toBe(0);
  }, 180_000);
});
