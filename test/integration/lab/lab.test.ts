// The lab end to end through the built CLI (root): namespaces, bridges, pods, containers, status,
// exec, logs, down; two labs side by side; bad topologies create nothing; a killed or interrupted
// `lab up` leaves nothing after `lab down`; with the node agent: cross-node traffic over vxlan and
// udp (all --static labs: pods as plain processes), and the demo (a live lab) exits 0. Every lab has a random name and is removed in afterAll.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');
const PROGRAMS = path.join(ROOT, 'dist/src/lab/container-main.js');
const built = fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')) && fs.existsSync(PROGRAMS);
const skip =
  requireRootOrSkip('lab integration') || requireOrSkip(built, 'lab integration: build first (npm run build)');
const agentBuilt =
  built && spawnSync(process.execPath, [CLI, 'node', '--help'], { encoding: 'utf8' }).stdout.includes('--cluster');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-lab-test-'));

const labs: string[] = [];
function labName(): string {
  const name = `lt${Math.random()
    .toString(36)
    .slice(2, 8)
    .replace(/[^a-z0-9]/g, 'x')}`;
  labs.push(name);
  return name;
}

interface Result {
  code: number;
  out: string;
  err: string;
}

function cli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? tmp,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, out, err });
    });
  });
}

function netnsOf(lab: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`flt-${lab}-`));
}

/** Pids of live processes whose environment says they belong to `lab`. */
function processesOf(lab: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').includes(`FLT_LAB=${lab}`)) pids.push(Number(e));
    } catch {
      // gone
    }
  }
  return pids;
}

function expectGone(lab: string): void {
  expect(netnsOf(lab)).toEqual([]);
  expect(processesOf(lab)).toEqual([]);
  expect(fs.existsSync(`/run/flannelette/labs/${lab}`)).toBe(false);
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  expect(links).not.toContain(`flt-${lab}-`);
}

function writeTopology(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

// Two nodes, every pod on node1: needs no node agent.
const ONE_NODE_PODS = `name: unused
network: 10.244.0.0/16
underlay: 192.168.1.0/24
nodes:
  - { name: node1, publicIp: 192.168.1.2 }
  - { name: node2, publicIp: 192.168.1.3 }
pods:
  - name: web
    node: node1
    containers: [{ name: web, program: http }]
  - name: client
    node: node1
    containers: [{ name: client, program: sleep infinity }]
  - name: duo
    node: node1
    containers:
      - { name: server, program: http --port 8080 }
      - { name: shell, command: [sleep, infinity] }
`;

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fetchArgs = (url: string): string[] => [
  process.execPath,
  PROGRAMS,
  'fetch',
  url,
  '--retries',
  '3',
  '--timeout',
  '2000',
];

describe.skipIf(skip)('lab (namespaces, pods, processes)', () => {
  let topo: string;
  beforeAll(() => {
    topo = writeTopology('one-node-pods.yaml', ONE_NODE_PODS);
  });
  afterAll(async () => {
    for (const lab of labs) await cli(['lab', 'down', '--name', lab]);
  });

  it('same-node pods, a multi-container pod, status, exec, logs, and a clean down', async () => {
    const lab = labName();
    const up = await cli(['lab', 'up', '--static', topo, '--name', lab, '--no-agent']);
    expect(up.err).toBe('');
    expect(up.code).toBe(0);
    expect(netnsOf(lab).sort()).toEqual(
      [
        `flt-${lab}-internet`, // the host outside the cluster (lab/internet.ts)
        `flt-${lab}-node1`,
        `flt-${lab}-node2`,
        `flt-${lab}-pod-client`,
        `flt-${lab}-pod-duo`,
        `flt-${lab}-pod-web`,
        `flt-${lab}-underlay`,
      ].sort(),
    );

    // same-node pod → pod: ICMP and HTTP, and the server sees the client's own pod IP
    const ping = await cli(['lab', 'exec', 'client', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '10.244.1.2']);
    expect(ping.code).toBe(0);
    const http = spawnSync('ip', ['netns', 'exec', `flt-${lab}-pod-client`, ...fetchArgs('http://10.244.1.2/')], {
      encoding: 'utf8',
    });
    expect(http.stdout.trim()).toBe('Hello from web (10.244.1.2); you are 10.244.1.3');

    // containers of one pod share the namespace: localhost works
    const local = spawnSync('ip', ['netns', 'exec', `flt-${lab}-pod-duo`, ...fetchArgs('http://localhost:8080/')], {
      encoding: 'utf8',
    });
    expect(local.stdout.trim()).toBe('Hello from duo (10.244.1.4); you are 127.0.0.1');

    // pods on node1 reach node1 itself, and node2 over the underlay switch is reachable from node1
    expect(
      (await cli(['lab', 'exec', 'node1', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '10.244.1.4'])).code,
    ).toBe(0);
    expect(
      (await cli(['lab', 'exec', 'node1', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '192.168.1.3'])).code,
    ).toBe(0);

    // exec passes the exit code; -c is checked
    expect((await cli(['lab', 'exec', 'duo', '-c', 'shell', '--name', lab, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    const badC = await cli(['lab', 'exec', 'duo', '-c', 'nope', '--name', lab, '--', 'true']);
    expect(badC.code).not.toBe(0);
    expect(badC.err).toMatch(/^flannelette: pod duo has no container "nope"/);

    const status = await cli(['lab', 'status', '--name', lab]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(status.out).toMatch(/^client\s+1\/1\s+Running\s/m);
    expect(status.out).toMatch(/duo\s+2\/2\s+Running\s+0\s+\d+s\s+10\.244\.1\.4\s+node1/);
    expect(status.out).toMatch(/node1\s+no agent\s+10\.244\.1\.0\/24\s+192\.168\.1\.2/);

    const logs = await cli(['lab', 'logs', 'web', '--name', lab]);
    expect(logs.out).toContain('GET / from 10.244.1.3');

    const down = await cli(['lab', 'down', '--name', lab]);
    expect(down.code).toBe(0);
    expect(down.out).toMatch(/removed: 7 namespaces/);
    expectGone(lab);
    // down again: nothing to do, still success
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
  });

  it('two labs side by side reuse the same addresses; removing one leaves the other', async () => {
    const a = labName();
    const b = labName();
    expect((await cli(['lab', 'up', '--static', topo, '--name', a, '--no-agent'])).code).toBe(0);
    expect((await cli(['lab', 'up', '--static', topo, '--name', b, '--no-agent'])).code).toBe(0);
    const again = await cli(['lab', 'up', '--static', topo, '--name', a, '--no-agent']);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/already exists/);
    for (const lab of [a, b]) {
      expect(
        (await cli(['lab', 'exec', 'client', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '10.244.1.2'])).code,
      ).toBe(0);
    }
    const ambiguous = await cli(['lab', 'status']);
    if (ambiguous.code !== 0) expect(ambiguous.err).toMatch(/several labs are running/);
    expect((await cli(['lab', 'down', '--name', a])).code).toBe(0);
    expectGone(a);
    expect(netnsOf(b)).toHaveLength(7); // underlay, internet, 2 nodes, 3 pods
    expect(
      (await cli(['lab', 'exec', 'client', '--name', b, '--', 'ping', '-c', '1', '-W', '2', '10.244.1.2'])).code,
    ).toBe(0);
    expect((await cli(['lab', 'down', '--name', b])).code).toBe(0);
    expectGone(b);
  });

  it('a bad topology is refused with file and line, and creates nothing', async () => {
    const lab = labName();
    const bad = writeTopology(
      'bad.yaml',
      ONE_NODE_PODS.replace(
        'node: node1\n    containers: [{ name: client',
        'node: node3\n    containers: [{ name: client',
      ),
    );
    const r = await cli(['lab', 'up', '--static', bad, '--name', lab]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('flannelette: bad.yaml:12: pods[1].node "node3" is not a node of this lab');
    expectGone(lab);
    const missing = await cli(['lab', 'up', '--static', path.join(tmp, 'nope.yaml'), '--name', lab]);
    expect(missing.err.trim()).toMatch(/^flannelette: cannot read topology .*nope\.yaml: ENOENT$/);
    expect((await cli(['lab', 'up', '--static', topo, '--name', 'Bad-Name'])).err).toMatch(/is not a valid lab name/);
    expectGone(lab);
  });

  it('Ctrl-C during lab up removes everything; lab down cleans up after a killed lab up', async () => {
    const lab = labName();
    const child = spawn(process.execPath, [CLI, 'lab', 'up', '--static', topo, '--name', lab, '--no-agent'], {
      cwd: tmp,
    });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    // interrupt once namespaces exist
    await waitUntil(
      () => netnsOf(lab).length > 0 || child.exitCode !== null,
      'lab up to create its namespaces',
      30_000,
      10,
    );
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code === 0) {
      // it finished before the signal arrived; then a down must still clean up
      expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
    } else {
      expect(code).toBe(130);
      expect(err).toMatch(/interrupted/);
    }
    expectGone(lab);

    const lab2 = labName();
    const killed = spawn(process.execPath, [CLI, 'lab', 'up', '--static', topo, '--name', lab2, '--no-agent'], {
      cwd: tmp,
      stdio: 'ignore',
    });
    await waitUntil(() => processesOf(lab2).length > 0, 'lab up to start the first process', 30_000, 10);
    killed.kill('SIGKILL');
    await new Promise((r) => killed.on('exit', r));
    expect(netnsOf(lab2).length).toBeGreaterThan(0);
    expect((await cli(['lab', 'down', '--name', lab2])).code).toBe(0);
    expectGone(lab2);
  });
});

describe.skipIf(
  skip || requireOrSkip(agentBuilt, 'lab cross-node tests: the node agent (flannelette node) is not built'),
)('lab with node agents', () => {
  afterAll(async () => {
    for (const lab of labs) await cli(['lab', 'down', '--name', lab]);
  });

  it('two nodes over vxlan: pod → pod across nodes without NAT, status shows healthy agents', async () => {
    const lab = labName();
    const started = Date.now();
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/two-nodes.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    console.log(`lab up (2 nodes, 4 pods): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const status = await cli(['lab', 'status', '--name', lab]);
    expect(status.out).toMatch(/node1\s+Ready\s+10\.244\.1\.0\/24\s+192\.168\.1\.2\s+flannel\.1/);
    expect(status.out).toMatch(/node2\s+Ready\s+10\.244\.2\.0\/24\s+192\.168\.1\.3\s+flannel\.1/);
    const remote = status.out
      .split('\n')
      .find((l) => /^nginx-\S+\s.*node2$/.test(l))!
      .split(/\s+/);
    const ip = remote[5];
    expect(ip).toBe('10.244.2.2');
    expect((await cli(['lab', 'exec', 'busybox', '--name', lab, '--', 'ping', '-c', '2', '-W', '2', ip])).code).toBe(0);
    const http = spawnSync('ip', ['netns', 'exec', `flt-${lab}-pod-busybox`, ...fetchArgs(`http://${ip}/`)], {
      encoding: 'utf8',
    });
    expect(http.stdout.trim()).toMatch(/^Hello from nginx-\S+ \(10\.244\.2\.2\); you are 10\.244\.1\.3$/);
    // pod → the other node's public IP, node → pod on the other node
    expect(
      (await cli(['lab', 'exec', 'busybox', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '192.168.1.3'])).code,
    ).toBe(0);
    expect((await cli(['lab', 'exec', 'node1', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', ip])).code).toBe(0);
    // a node agent that died shows as unreachable
    const state = JSON.parse(fs.readFileSync(`/run/flannelette/labs/${lab}/state.json`, 'utf8')) as {
      nodePids: Record<string, number>;
    };
    process.kill(state.nodePids['node2'], 'SIGKILL');
    const unreachable = /node2\s+unreachable\s+10\.244\.2\.0\/24/;
    await waitUntil(
      async () => unreachable.test((await cli(['lab', 'status', '--name', lab])).out),
      'lab status to show node2 unreachable',
      20_000,
      100,
    );
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
    expectGone(lab);
  });

  it('three nodes over the udp backend', async () => {
    const lab = labName();
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/three-nodes-udp.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    expect(up.out).toMatch(/node3\s+Ready\s+10\.244\.3\.0\/24\s+192\.168\.1\.4\s+flannel0/);
    const running = (out: string): boolean =>
      /^client\s+1\/1\s+Running\s/m.test(out) && /^echo\s+1\/1\s+Running\s/m.test(out);
    await waitUntil(
      async () => running((await cli(['lab', 'status', '--name', lab])).out),
      'client and echo to be Running',
      20_000,
      100,
    );
    for (const ip of ['10.244.2.2', '10.244.3.2', '10.244.3.3']) {
      expect(
        (await cli(['lab', 'exec', 'client', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', ip])).code,
        ip,
      ).toBe(0);
    }
    const http = spawnSync('ip', ['netns', 'exec', `flt-${lab}-pod-client`, ...fetchArgs('http://10.244.3.2/')], {
      encoding: 'utf8',
    });
    expect(http.stdout.trim()).toMatch(/; you are 10\.244\.1\.3$/);
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
    expectGone(lab);
  });

  it('the demo walks through the tutorials on a live lab, checks every step, exits 0 and leaves nothing', async () => {
    const lab = labName();
    labs.push(`${lab}hg`); // the demo's host-gw lab, removed in afterAll if the demo left it
    const r = await cli(['demo', '--name', lab], { timeoutMs: 300_000 });
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.out).toMatch(/✔ \d+ checks passed, 0 failed/);
    expect(r.out).not.toContain('✘');
    for (const seed of [
      'seed-000-nginx-deployment.yaml',
      'seed-002-multi-container-pod.yaml',
      'seed-004-multi-container.yaml',
      'seed-003-nodeport-service.yaml',
    ]) {
      expect(r.out).toContain(seed);
    }
    // the overlay-free step: the same ping captured on the vxlan and the host-gw underlay, side by side
    expect(r.out).toContain('two-nodes-host-gw.yaml');
    expect(r.out).toMatch(/✔ vxlan: the switch carries node\d > node\d \(public IPs\) in UDP 8472/);
    expect(r.out).toMatch(/✔ host-gw: the switch carries the pods' own packet 10\.244\.1\.2 > 10\.244\.2\.2/);
    expect(r.out).toContain('✔ the same ping is 50 bytes longer per frame with vxlan (148 vs 98)');
    expect(r.out).toMatch(/UDP port 8472, VXLAN VNI 1 +no UDP, no VXLAN: the pod packet itself/);
    expectGone(lab);
    expectGone(`${lab}hg`);
  }, 320_000);
});
