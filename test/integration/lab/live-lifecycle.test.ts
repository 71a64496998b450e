// Lifecycle and faults of a live lab, driven through real kubectl (/usr/bin/kubectl with the lab's
// kubeconfig) and the lab CLI: Deployment heal, scale 2→6→1, rolling update, readiness gating, grace
// period, container kill -9, control plane kill -9, node agent kill -9, node stop/start (NotReady,
// eviction after the timeout, same subnet), node add (routes within 2 s) and delete (drain), bad input
// (exit 2, nothing changed), and `lab down` leaving nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import type { SupervisorStatus } from '../../../src/lab/supervisor.js';
import {
  built,
  cli,
  KUBECTL,
  kubectlFor,
  LAB_ROOT,
  labName,
  leftovers,
  ROOT,
  CLI,
  run,
  waitFor,
} from '../../helpers/live-lab.js';

const skip =
  requireRootOrSkip('live lab lifecycle') ||
  requireOrSkip(built(), 'live lab lifecycle: build first (npm run build)') ||
  requireOrSkip(fs.existsSync(KUBECTL), `live lab lifecycle: ${KUBECTL} is not installed`);
const lab = labName('lc');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-lc-'));
const dir = path.join(LAB_ROOT, lab);
/** `flannelette lab VERB --name LAB ARGS...` (--name before any `--`). */
const l = (...args: string[]) => {
  const at = args[0] === 'node' ? 2 : 1;
  return cli(['lab', ...args.slice(0, at), '--name', lab, ...args.slice(at)]);
};
let kubectl: ReturnType<typeof kubectlFor>;

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: { image: string }[] };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; restartCount: number; state: Record<string, { reason?: string }> }[];
  };
}

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

async function json<T>(args: string[]): Promise<T> {
  const r = await kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

const ready = (p: PodJson): boolean =>
  p.status.phase === 'Running' &&
  !p.metadata.deletionTimestamp &&
  (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function webPods(): Promise<PodJson[]> {
  return (await json<{ items: PodJson[] }>(['get', 'pods', '-l', 'app=web'])).items;
}

async function readyWeb(n: number, timeoutMs = 90_000): Promise<PodJson[]> {
  return waitFor(
    `${n} ready web pods and no others`,
    async () => {
      const pods = await webPods();
      return pods.length === n && pods.every(ready) && pods;
    },
    timeoutMs,
  );
}

function deployment(image: string, replicas: number): string {
  return file(
    `web-${image.replace(/\W/g, '')}-${replicas}.yaml`,
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: ${image}
        ports:
        - containerPort: 80
`,
  );
}

function supervisorChild(name: string): { pid?: number; restarts: number } {
  const status = JSON.parse(fs.readFileSync(path.join(dir, 'run/supervisor-status.json'), 'utf8')) as SupervisorStatus;
  return status.children[name];
}

async function pingFrom(pod: string, ip: string): Promise<boolean> {
  return (await l('exec', pod, '--', 'ping', '-c1', '-W1', ip)).code === 0;
}

describe.skipIf(skip)('live lab lifecycle (kubectl)', () => {
  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes-empty.yaml'), '--name', lab], {
      timeoutMs: 180_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    const kc = (await l('kubeconfig')).out.trim();
    expect(fs.statSync(kc).mode & 0o777).toBe(0o600);
    kubectl = kubectlFor(kc);
  });
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a Deployment heals: a deleted pod is replaced by one with a new name', async () => {
    expect((await kubectl(['apply', '-f', deployment('flannelette/http', 2)])).out).toContain(
      'deployment.apps/web created',
    );
    const [first] = await readyWeb(2);
    expect((await kubectl(['delete', 'pod', first.metadata.name])).out).toContain(
      `pod "${first.metadata.name}" deleted`,
    );
    const after = await readyWeb(2);
    expect(after.map((p) => p.metadata.name)).not.toContain(first.metadata.name);
  });

  it('scales 2 → 6 → 1', async () => {
    expect((await kubectl(['scale', 'deployment', 'web', '--replicas', '6'])).out).toContain(
      'deployment.apps/web scaled',
    );
    const six = await readyWeb(6);
    expect(new Set(six.map((p) => p.spec.nodeName)).size).toBe(2);
    expect((await l('scale', 'deployment', 'web', '--replicas', '1')).code).toBe(0);
    await readyWeb(1);
    expect((await kubectl(['scale', 'deployment', 'web', '--replicas', '2'])).code).toBe(0);
    await readyWeb(2);
  });

  it('a changed template rolls the pods over (rollout status waits for it)', async () => {
    expect((await kubectl(['apply', '-f', deployment('flannelette/echo', 2)])).out).toContain(
      'deployment.apps/web configured',
    );
    const rollout = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    expect(rollout.code, rollout.err).toBe(0);
    const pods = await readyWeb(2);
    for (const p of pods) expect(p.spec.containers[0].image).toBe('flannelette/echo');
    const rs = await json<{ items: { spec: { replicas: number } }[] }>(['get', 'rs', '-l', 'app=web']);
    expect(rs.items.map((r) => r.spec.replicas).sort()).toEqual([0, 2]);
  });

  it('a readiness probe gates Ready', async () => {
    const f = file(
      'gate.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: gate
spec:
  containers:
  - name: box
    image: busybox
    command: ["sh", "-c", "sleep 100000"]
    readinessProbe:
      exec:
        command: ["cat", "/tmp/ready"]
      periodSeconds: 1
`,
    );
    expect((await kubectl(['apply', '-f', f])).code).toBe(0);
    const running = await waitFor('gate running', async () => {
      const p = await json<PodJson>(['get', 'pod', 'gate']);
      return p.status.containerStatuses?.[0]?.state['running'] && p;
    });
    expect(running.status.containerStatuses![0].ready).toBe(false);
    expect(ready(running)).toBe(false);
    expect((await kubectl(['exec', 'gate', '--', 'touch', '/tmp/ready'])).code).toBe(0);
    await waitFor('gate Ready', async () => ready(await json<PodJson>(['get', 'pod', 'gate'])), 30_000);
  });

  it('a pod that ignores SIGTERM is Terminating for its grace period, then killed', async () => {
    const f = file(
      'stubborn.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: stubborn
spec:
  terminationGracePeriodSeconds: 4
  containers:
  - name: box
    image: busybox
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
`,
    );
    expect((await kubectl(['apply', '-f', f])).code).toBe(0);
    await waitFor(
      'stubborn running',
      async () => (await json<PodJson>(['get', 'pod', 'stubborn'])).status.phase === 'Running',
    );
    const t0 = Date.now();
    expect((await kubectl(['delete', 'pod', 'stubborn', '--wait=false'])).code).toBe(0);
    await waitFor(
      'STATUS Terminating',
      async () => /stubborn\s+\S+\s+Terminating/.test((await kubectl(['get', 'pod', 'stubborn'])).out),
      10_000,
      100,
    );
    await waitFor('stubborn gone', async () => (await kubectl(['get', 'pod', 'stubborn'])).code !== 0, 30_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3500);
  });

  it('a container killed with -9 is restarted (RESTARTS counts it)', async () => {
    const [pod] = await readyWeb(2);
    // the container is the process listening in the pod's network namespace (echo's port, after the rollout)
    const netns = (await run('ip', ['netns', 'list'])).out
      .split('\n')
      .map((x) => x.split(' ')[0])
      .filter((n) => n.startsWith(`flt-${lab}-`));
    let listener = 0;
    for (const ns of netns) {
      if (!(await run('ip', ['-n', ns, 'addr'])).out.includes(`inet ${pod.status.podIP}/`)) continue;
      const m = /pid=(\d+)/.exec((await run('ip', ['netns', 'exec', ns, 'ss', '-ltnpH'])).out);
      if (m) listener = Number(m[1]);
    }
    expect(listener).toBeGreaterThan(1);
    process.kill(listener, 'SIGKILL');
    await waitFor(
      'restartCount 1 and Ready',
      async () => {
        const p = await json<PodJson>(['get', 'pod', pod.metadata.name]);
        return p.status.containerStatuses![0].restartCount >= 1 && ready(p);
      },
      60_000,
    );
    expect((await kubectl(['get', 'pod', pod.metadata.name])).out).toMatch(
      new RegExp(`${pod.metadata.name}\\s+1/1\\s+Running\\s+1`),
    );
    const previous = await l('logs', pod.metadata.name, '--previous');
    expect(previous.code, previous.err).toBe(0);
  });

  it('the control plane killed with -9 is restarted by the supervisor with its state', async () => {
    const uid = (await json<{ metadata: { uid: string; resourceVersion: string } }>(['get', 'deployment', 'web']))
      .metadata.uid;
    const before = supervisorChild('controlplane');
    process.kill(before.pid!, 'SIGKILL');
    await waitFor(
      'a new control plane answering',
      async () => {
        const c = supervisorChild('controlplane');
        return (
          c.pid !== before.pid &&
          c.restarts === before.restarts + 1 &&
          (await kubectl(['get', 'deployment', 'web'])).code === 0
        );
      },
      60_000,
    );
    expect((await json<{ metadata: { uid: string } }>(['get', 'deployment', 'web'])).metadata.uid).toBe(uid);
    expect((await l('status')).out).toMatch(
      new RegExp(`control plane: running \\(pid \\d+\\), restarts ${before.restarts + 1}`),
    );
    await readyWeb(2);
  });

  it('a node agent killed with -9 is restarted and counted on the node row', async () => {
    const before = supervisorChild('agent/node1');
    process.kill(before.pid!, 'SIGKILL');
    await waitFor(
      'agent restarted and up',
      async () => {
        const row = (await l('status')).out.split('\n').find((x) => x.startsWith('node1 '));
        return row && / up /.test(row) && new RegExp(`\\s${before.restarts + 1}\\s+\\S+$`).test(row);
      },
      30_000,
    );
  });

  it('a stopped node goes NotReady, its pods are unreachable and evicted only after the timeout; it starts with the same subnet', async () => {
    const cidr = (await json<{ spec: { podCIDR: string } }>(['get', 'node', 'node2'])).spec.podCIDR;
    const pods = await readyWeb(2);
    const onNode2 = pods.filter((p) => p.spec.nodeName === 'node2');
    const onNode1 = pods.find((p) => p.spec.nodeName === 'node1')!;
    expect(onNode2.length).toBeGreaterThan(0);
    expect(await pingFrom(onNode1.metadata.name, onNode2[0].status.podIP!)).toBe(true);
    expect((await l('node', 'stop', 'node2')).code).toBe(0);
    expect(await pingFrom(onNode1.metadata.name, onNode2[0].status.podIP!)).toBe(false);
    await waitFor('node2 NotReady', async () => /node2\s+NotReady/.test((await kubectl(['get', 'nodes'])).out), 40_000);
    // not yet evicted: the pod is still there (the eviction timeout is 30 s)
    expect((await kubectl(['get', 'pod', onNode2[0].metadata.name])).code).toBe(0);
    await waitFor(
      'pods replaced on node1',
      async () => {
        const now = (await webPods()).filter(ready);
        return now.length === 2 && now.every((p) => p.spec.nodeName === 'node1');
      },
      90_000,
    );
    expect((await l('node', 'start', 'node2')).code).toBe(0);
    await waitFor('node2 Ready', async () => /node2\s+Ready/.test((await kubectl(['get', 'nodes'])).out), 60_000);
    expect((await json<{ spec: { podCIDR: string } }>(['get', 'node', 'node2'])).spec.podCIDR).toBe(cidr);
  });

  it('an added node is routed to by every other node within 2 s, runs pods, and is drained on delete', async () => {
    const add = await l('node', 'add', 'node3');
    expect(add.code, add.err).toBe(0);
    const subnet = /subnet ([\d./]+)/.exec(add.out)![1];
    const t0 = Date.now();
    for (const n of ['node1', 'node2']) {
      await waitFor(
        `route to ${subnet} on ${n}`,
        async () => (await run('ip', ['-n', `flt-${lab}-${n}`, 'route', 'show', subnet])).out.trim() !== '',
        2000,
        50,
      );
    }
    expect(Date.now() - t0).toBeLessThan(2500);
    const f = file(
      'pinned.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: on3\nspec:\n  nodeName: node3\n  containers:\n  - name: web\n    image: flannelette/http\n',
    );
    expect((await kubectl(['apply', '-f', f])).code).toBe(0);
    const on3 = await waitFor('on3 ready', async () => {
      const p = await json<PodJson>(['get', 'pod', 'on3']);
      return ready(p) && p;
    });
    const [web] = await readyWeb(2);
    expect(await pingFrom(web.metadata.name, on3.status.podIP!)).toBe(true);
    const del = await l('node', 'delete', 'node3');
    expect(del.code, del.err).toBe(0);
    expect((await kubectl(['get', 'pod', 'on3'])).code).not.toBe(0);
    expect((await kubectl(['get', 'node', 'node3'])).code).not.toBe(0);
    expect((await run('ip', ['netns', 'list'])).out).not.toContain(`flt-${lab}-node3`);
  });

  it('bad input: one clear line, exit 2, nothing changed', async () => {
    const snapshot = async (): Promise<string> => (await kubectl(['get', 'pods,deployments', '-o', 'name'])).out;
    const before = await snapshot();
    const cases: [string, string, RegExp][] = [
      ['kind.yaml', 'apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n', /kind\.yaml:\d+:.*Widget/],
      [
        'version.yaml',
        'apiVersion: v2\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: c, image: busybox}]\n',
        /version\.yaml:1:.*v2/,
      ],
      [
        'missing.yaml',
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n',
        /missing\.yaml:\d+:.*image/,
      ],
      [
        'replicas.yaml',
        fs.readFileSync(deployment('flannelette/http', 100000), 'utf8').replace('name: web', 'name: huge'),
        /replicas/,
      ],
      [
        'selector.yaml',
        fs
          .readFileSync(deployment('flannelette/http', 1), 'utf8')
          .replace('name: web\nspec', 'name: sel\nspec')
          .replace('app: web\n  template', 'app: other\n  template'),
        /selector/,
      ],
    ];
    for (const [name, text, re] of cases) {
      const r = await l('apply', '-f', file(name, text));
      expect(r.code, `${name}: ${r.err}`).toBe(2);
      expect(r.err.trim().split('\n'), name).toHaveLength(1);
      expect(r.err, name).toMatch(re);
    }
    const sel = await l('get', 'pods', '-l', 'app in (web');
    expect(sel.code).toBe(2);
    expect(sel.err.trim().split('\n')).toHaveLength(1);
    const taken = await l('create', '-f', deployment('flannelette/echo', 2));
    expect(taken.code).toBe(2);
    expect(taken.err).toMatch(/already exists/);
    expect(await snapshot()).toBe(before);
  });

  it('an unknown image leaves the pod in ErrImagePull/ImagePullBackOff with an event naming the known images', async () => {
    const f = file(
      'nosuch.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: nosuch\nspec:\n  containers:\n  - name: c\n    image: example.com/no/such:1\n',
    );
    expect((await l('apply', '-f', f)).code).toBe(0);
    await waitFor(
      'ErrImagePull',
      async () => /nosuch\s+0\/1\s+(ErrImagePull|ImagePullBackOff)/.test((await l('get', 'pods')).out),
      30_000,
    );
    const d = await l('describe', 'pod', 'nosuch');
    expect(d.out).toMatch(/nginx/);
    expect((await l('delete', 'pod', 'nosuch')).code).toBe(0);
  });

  it('lab down afterwards leaves nothing', async () => {
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  });
});

describe.skipIf(skip)('interrupting a live lab up', () => {
  it('Ctrl-C during lab up (after the supervisor started) removes everything', async () => {
    const name = labName('lci');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [
      CLI,
      'lab',
      'up',
      path.join(ROOT, 'examples/two-nodes-empty.yaml'),
      '--name',
      name,
    ]);
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    await waitFor('the supervisor', () => fs.existsSync(path.join(LAB_ROOT, name, 'supervisor.pid')), 30_000, 20);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code !== 0) {
      expect(code).toBe(130);
      expect(err).toMatch(/interrupted/);
    } else expect((await cli(['lab', 'down', '--name', name])).code).toBe(0);
    expect(leftovers(name)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  });
});
