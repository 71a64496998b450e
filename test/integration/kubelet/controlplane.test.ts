// The kubelet end to end with the real control plane (`flannelette controlplane`) and the real kubectl
// (root): the node registers and is Ready, the tutorials' pods (seed 002, seed 004 manifests) run,
// `kubectl exec` (exit codes, -c, an interactive `-it` shell on a pty) and `kubectl logs` go through the
// API server's proxy to the kubelet, and `kubectl delete` finishes with the pod gone and its network removed.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, KubeList, Node, Pod } from '../../../src/k8s/types.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { createTestNode, waitFor, type TestNode } from './fixture.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const MANIFESTS = '/work/shared/manifests';
const pty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');

const skip =
  requireRootOrSkip('kubelet with the control plane') ||
  requireOrSkip(fs.existsSync('/usr/bin/kubectl'), 'kubelet with the control plane: kubectl is not installed') ||
  requireOrSkip(fs.existsSync(MANIFESTS), `kubelet with the control plane: ${MANIFESTS} is missing`);

describe.skipIf(skip)('kubelet with the real control plane and kubectl', () => {
  let node: TestNode;
  let cp: ChildProcess | undefined;
  let kubelet: ChildProcess | undefined;
  let dir: string;
  let log = '';

  const kubectl = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await execFileP('kubectl', ['--kubeconfig', path.join(dir, 'kubeconfig'), ...args], {
        timeout: 30_000,
      });
      return { code: 0, ...r };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const podJson = async (name: string): Promise<Pod | undefined> => {
    const r = await kubectl('get', 'pod', name, '-o', 'json');
    return r.code === 0 ? (JSON.parse(r.stdout) as Pod) : undefined;
  };
  const allReady = async (name: string): Promise<boolean> =>
    (await podJson(name))?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

  beforeAll(async () => {
    node = await createTestNode('kcp', 11);
    dir = node.dir;
    const start = (args: string[]): ChildProcess => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'flannelette.js'), ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c: Buffer) => (log += c.toString()));
      child.stderr.on('data', (c: Buffer) => (log += c.toString()));
      return child;
    };
    cp = start(['controlplane', '--dir', dir]);
    await waitFor('controlplane.json', () => fs.existsSync(path.join(dir, 'controlplane.json')), 30_000);
    Object.assign(node.cfg, {
      apiSocket: path.join(dir, 'run', 'apiserver.sock'),
      tokenFile: path.join(dir, 'token'),
      socket: path.join(dir, 'run', 'kubelet-node1.sock'),
      backoffBaseMs: 1000,
      heartbeatMs: 300,
    });
    const cfgFile = path.join(dir, 'kubelet.json');
    fs.writeFileSync(cfgFile, JSON.stringify(node.cfg));
    kubelet = start(['kubelet', '--config', cfgFile]);
  });

  afterAll(async () => {
    if (dir && cp) {
      await kubectl('delete', 'pods', '--all', '--wait=true', '--timeout=30s');
    }
    kubelet?.kill('SIGTERM');
    cp?.kill('SIGTERM');
    await node?.cleanup();
  });

  it('the node registers and kubectl shows it Ready', async () => {
    await waitFor('node Ready', async () => / Ready /.test((await kubectl('get', 'nodes')).stdout), 30_000);
    const node1 = async (): Promise<Node> =>
      JSON.parse((await kubectl('get', 'node', 'node1', '-o', 'json')).stdout) as Node;
    const n = await node1();
    expect(n.spec.podCIDR).toBe('10.250.11.0/24');
    // a condition someone else sets (flannel's NetworkUnavailable) survives the kubelet's heartbeats
    const patched = await kubectl(
      'patch',
      'node',
      'node1',
      '--subresource=status',
      '--type=strategic',
      '-p',
      '{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp"}]}}',
    );
    expect(patched.code).toBe(0);
    const beat = (x: Node): string => x.status!.conditions!.find((c) => c.type === 'Ready')!.lastHeartbeatTime!;
    const first = beat(await node1());
    const later = await waitFor('two more heartbeats', async () => {
      const x = await node1();
      return beat(x) > first ? x : undefined;
    });
    expect(later.status!.conditions!.map((c) => c.type)).toContain('NetworkUnavailable');
  });

  it('seed 002: both containers run; exec -c container-2 wget shows the nginx page; the host file is untouched', async () => {
    const hostHtml = fs.readFileSync('/usr/share/nginx/html/index.html', 'utf8');
    expect((await kubectl('apply', '-f', path.join(MANIFESTS, 'seed-002-multi-container-pod.yaml'))).code).toBe(0);
    await waitFor('multi-container-pod Ready', () => allReady('multi-container-pod'), 60_000);
    const page = await kubectl(
      'exec',
      'multi-container-pod',
      '-c',
      'container-2',
      '--',
      'wget',
      '-qO-',
      'http://localhost',
    );
    expect(page.stdout).toContain('Welcome to nginx!');
    expect(fs.readFileSync('/usr/share/nginx/html/index.html', 'utf8')).toBe(hostHtml);
    const wide = await kubectl('get', 'pods', '-o', 'wide');
    expect(wide.stdout).toMatch(/multi-container-pod\s+2\/2\s+Running\s+0\s+\S+\s+10\.250\.11\.\d+\s+node1/);
  });

  it('seed 004: exec exit codes through the API server proxy; logs show nginx access lines', async () => {
    expect((await kubectl('apply', '-f', path.join(MANIFESTS, 'seed-004-multi-container.yaml'))).code).toBe(0);
    await waitFor('multi-container Ready', () => allReady('multi-container'), 60_000);
    const curl = await kubectl('exec', 'multi-container', '-c', 'shell', '--', 'curl', '-s', 'localhost');
    expect(curl.stdout).toContain('Welcome to nginx!');
    expect((await kubectl('exec', 'multi-container', '-c', 'shell', '--', 'false')).code).toBe(1);
    expect((await kubectl('exec', 'multi-container', '-c', 'shell', '--', 'sh', '-c', 'exit 42')).code).toBe(42);
    const logs = await kubectl('logs', 'multi-container', '-c', 'nginx');
    expect(logs.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200 \d+ "-" "curl\//);
    const ip = (await podJson('multi-container'))!.status!.podIP!;
    const describe = await kubectl('describe', 'pod', 'multi-container');
    expect(describe.stdout).toMatch(new RegExp(`IP:\\s+${ip.replace(/\./g, '\\.')}`));
  });

  it('kubectl exec -it gives an interactive shell on a terminal', async () => {
    const term = pty.spawn(
      'kubectl',
      ['--kubeconfig', path.join(dir, 'kubeconfig'), 'exec', '-it', 'multi-container', '-c', 'shell', '--', 'sh'],
      { cols: 90, rows: 25, env: process.env },
    );
    let out = '';
    let typed = false;
    term.onData((d) => {
      out += d;
      // eslint-disable-next-line no-control-regex -- ESC [6n is the terminal's cursor-position query
      if (!typed && /[#$] (\x1b\[6n)?$/.test(out)) {
        // busybox asks for the cursor position after its prompt
        typed = true;
        term.write('stty size; hostname; exit 5\r');
      }
    });
    const code = await new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
    expect(out).toContain('25 90');
    expect(out).toContain('multi-container');
    expect(code).toBe(5);
  });

  it('a crashing pod: kubectl shows CrashLoopBackOff and RESTARTS, logs --previous the last run', async () => {
    const file = path.join(dir, 'crash.yaml');
    fs.writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: crasher',
        'spec:',
        '  containers:',
        '  - name: c',
        '    image: busybox',
        '    command: ["sh", "-c", "echo bye from $HOSTNAME; exit 1"]',
        '',
      ].join('\n'),
    );
    expect((await kubectl('apply', '-f', file)).code).toBe(0);
    const row = await waitFor(
      'CrashLoopBackOff',
      async () => {
        const line = (await kubectl('get', 'pod', 'crasher', '--no-headers')).stdout;
        return /crasher\s+0\/1\s+CrashLoopBackOff\s+[1-9]/.test(line) ? line : '';
      },
      30_000,
    );
    expect(row).toMatch(/CrashLoopBackOff/);
    const prev = await kubectl('logs', 'crasher', '--previous');
    expect(prev.stdout).toBe('bye from crasher\n');
    const events = await kubectl('get', 'events', '--field-selector', 'involvedObject.name=crasher', '-o', 'json');
    expect((JSON.parse(events.stdout) as KubeList<Event>).items.map((e) => e.reason)).toContain('BackOff');
    expect((await kubectl('delete', 'pod', 'crasher', '--timeout=60s')).code).toBe(0);
  });

  it('kubectl delete: the pod goes away and its network namespace is removed', async () => {
    const prefix = `${node.cfg.netnsPrefix}pod-multi-container-`;
    const before = fs
      .readdirSync('/run/netns')
      .filter((n) => n.startsWith(prefix) && !n.startsWith(`${node.cfg.netnsPrefix}pod-multi-container-pod`));
    expect(before).toHaveLength(1);
    const del = await kubectl('delete', 'pod', 'multi-container', '--timeout=60s');
    expect(del.code).toBe(0);
    expect(await podJson('multi-container')).toBeUndefined();
    expect(fs.existsSync(`/run/netns/${before[0]}`)).toBe(false);
  });
});
