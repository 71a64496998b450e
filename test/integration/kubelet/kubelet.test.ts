// The kubelet process (`flannelette kubelet --config`) against an in-test FAKE API server
// (test/helpers/fake-kube-api.ts — a test double, not the real control plane): node registration and
// heartbeat, pods from list+watch run and reported, events, logs and exec on the kubelet socket
// (WebSocket v5.channel.k8s.io, exit codes, a tty shell), graceful delete ending in DELETE grace 0,
// a kill -9 of the kubelet: the new one adopts the running containers, a watch that drops reconnects.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Node, Pod, Status } from '../../../src/k8s/types.js';
import { FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { run } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { createTestNode, makePod, waitFor, type TestNode } from './fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function getText(socket: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: p }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

interface ExecResult {
  stdout: string;
  stderr: string;
  status: Partial<Status>;
}

function execWs(
  socket: string,
  target: string,
  command: string[],
  opts: { tty?: boolean; input?: string[]; protocol?: string; onOut?: (ws: WebSocket, soFar: string) => void } = {},
): Promise<ExecResult> {
  const q = new URLSearchParams();
  for (const c of command) q.append('command', c);
  q.set('output', '1');
  q.set('error', '1');
  if (opts.input || opts.onOut) q.set('input', '1');
  if (opts.tty) q.set('tty', '1');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${socket}:/exec/${target}?${q.toString()}`, [
      opts.protocol ?? 'v5.channel.k8s.io',
    ]);
    const r: ExecResult = { stdout: '', stderr: '', status: {} };
    ws.on('open', () => {
      if (opts.tty) ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: 100, Height: 30 }))]));
      for (const line of opts.input ?? []) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(line)]));
      if (opts.input && ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([255, 0]));
    });
    ws.on('message', (data: Buffer) => {
      const ch = data[0];
      const text = data.subarray(1).toString('utf8');
      if (ch === 1) {
        r.stdout += text;
        opts.onOut?.(ws, r.stdout);
      } else if (ch === 2) r.stderr += text;
      else if (ch === 3) r.status = JSON.parse(text) as Partial<Status>;
    });
    ws.on('close', () => resolve(r));
    ws.on('error', reject);
  });
}

describe.skipIf(requireRootOrSkip('kubelet process'))('kubelet process against a fake API server (test double)', () => {
  let node: TestNode;
  let api: FakeKubeApi;
  let kubelet: ChildProcess | undefined;
  let cfgFile: string;
  let log = '';

  function startKubelet(): ChildProcess {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'flannelette.js'), 'kubelet', '--config', cfgFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    return child;
  }

  const pod = (name: string): Pod | undefined => api.pods.get(`default/${name}`);
  const ready = (name: string): boolean =>
    pod(name)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

  beforeAll(async () => {
    node = await createTestNode('kkp', 9);
    fs.writeFileSync(node.cfg.tokenFile, 'secret-token\n');
    node.cfg.backoffBaseMs = 500;
    node.cfg.heartbeatMs = 300;
    cfgFile = path.join(node.dir, 'kubelet.json');
    fs.writeFileSync(cfgFile, JSON.stringify(node.cfg));
    api = new FakeKubeApi(node.cfg.apiSocket, 'secret-token');
    await api.start();
    kubelet = startKubelet();
  });

  afterAll(async () => {
    for (const p of [...api.pods.values()]) api.deletePod(p.metadata.namespace!, p.metadata.name!, 1);
    await waitFor('pods deleted', () => api.pods.size === 0, 15_000).catch(() => undefined);
    kubelet?.kill('SIGTERM');
    await api?.stop();
    await node?.cleanup();
  });

  it('registers its Node with podCIDR, addresses, labels, flannel annotations, and heartbeats', async () => {
    const n = await waitFor('node registered', () => api.nodes.get('node1'), 15_000);
    expect(n.spec).toEqual({ podCIDR: '10.250.9.0/24', podCIDRs: ['10.250.9.0/24'] });
    expect(n.status!.addresses).toEqual([
      { type: 'InternalIP', address: '192.168.50.2' },
      { type: 'Hostname', address: 'node1' },
    ]);
    expect(n.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'node1', 'kubernetes.io/os': 'linux' });
    expect(n.metadata.annotations!['flannel.alpha.coreos.com/public-ip']).toBe('192.168.50.2');
    const beatOf = (x: Node): string => x.status!.conditions!.find((c) => c.type === 'Ready')!.lastHeartbeatTime!;
    const first = beatOf(n);
    await waitFor('a newer heartbeat', () => beatOf(api.nodes.get('node1')!) > first);
  });

  it('runs a pod from the watch: Running, Ready, podIP, events; logs with tail/timestamps/follow', async () => {
    api.createPod(
      makePod('web', [
        { name: 'nginx', image: 'nginx' },
        { name: 'shell', image: 'radial/busyboxplus:curl', command: ['sh', '-c', 'echo started; sleep 100000'] },
      ]),
    );
    await waitFor('web Ready', () => ready('web'), 20_000);
    const st = pod('web')!.status!;
    expect(st.phase).toBe('Running');
    expect(st.podIP).toMatch(/^10\.250\.9\./);
    expect(st.hostIP).toBe('192.168.50.2');
    expect(st.containerStatuses!.map((c) => [c.name, c.ready, c.restartCount])).toEqual([
      ['nginx', true, 0],
      ['shell', true, 0],
    ]);
    const reasons = api.events.filter((e) => e.involvedObject.name === 'web').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Pulled', 'Created', 'Started']));
    // curl from the sidecar, then the access log line shows in the nginx container's log
    const r = await execWs(node.cfg.socket, 'default/web/shell', ['curl', '-s', 'http://localhost/']);
    expect(r.stdout).toContain('Welcome to nginx!');
    expect(r.status).toMatchObject({ status: 'Success' });
    const logs = await waitFor('access log', async () => {
      const l = await getText(node.cfg.socket, '/containerLogs/default/web/nginx');
      return l.body.includes('"GET / HTTP/1.1" 200') ? l.body : '';
    });
    expect(logs).toMatch(/^127\.0\.0\.1 - - \[/m);
    const tail = await getText(node.cfg.socket, '/containerLogs/default/web/shell?tailLines=1&timestamps=true');
    expect(tail.body).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z started\n$/);
    // follow: a request made now sees a line logged later
    let followed = '';
    const req = http.get(
      { socketPath: node.cfg.socket, path: '/containerLogs/default/web/nginx?follow=true&tailLines=0' },
      (res) => {
        res.setEncoding('utf8').on('data', (c: string) => (followed += c));
      },
    );
    await execWs(node.cfg.socket, 'default/web/shell', ['curl', '-s', 'http://localhost/followed-path']);
    await waitFor('followed line', () => followed.includes('GET /followed-path'));
    req.destroy();
    const missing = await getText(node.cfg.socket, '/containerLogs/default/nope/x');
    expect(missing.status).toBe(404);
  });

  it('exec: exit codes in the error channel (v5 and v4), stdin, and an interactive tty shell', async () => {
    const f = await execWs(node.cfg.socket, 'default/web/shell', ['false']);
    expect(f.status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '1' }] },
    });
    const v4 = await execWs(node.cfg.socket, 'default/web/shell', ['sh', '-c', 'echo out; echo err >&2; exit 3'], {
      protocol: 'v4.channel.k8s.io',
    });
    expect(v4).toMatchObject({ stdout: 'out\n', stderr: 'err\n', status: { details: { causes: [{ message: '3' }] } } });
    const cat = await execWs(node.cfg.socket, 'default/web/shell', ['cat'], { input: ['a\n', 'b\n'] });
    expect(cat.stdout).toBe('a\nb\n');
    // a tty: the shell prompts, sees the size we sent, and exits on `exit 7`
    let sent = 0;
    const tty = await execWs(node.cfg.socket, 'default/web/shell', ['sh'], {
      tty: true,
      onOut: (ws, soFar) => {
        // eslint-disable-next-line no-control-regex -- ESC [6n is the terminal's cursor-position query
        if (sent === 0 && /[#$] (\x1b\[6n)?$/.test(soFar)) {
          // busybox asks for the cursor position after its prompt
          sent = 1;
          ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('stty size; hostname; exit 7\r')]));
        }
      },
    });
    expect(tty.stdout).toContain('30 100');
    expect(tty.stdout).toContain('web');
    expect(tty.status).toMatchObject({ reason: 'NonZeroExitCode', details: { causes: [{ message: '7' }] } });
  });

  it('kill -9 of the kubelet: a new kubelet adopts the running containers; a dropped watch reconnects', async () => {
    const before = pod('web')!.status!.containerStatuses!.map((c) => c.containerID);
    kubelet!.kill('SIGKILL');
    await new Promise((r) => kubelet!.once('exit', r));
    kubelet = startKubelet();
    await waitFor('kubelet socket', async () => (await getText(node.cfg.socket, '/healthz')).body === 'ok');
    const r = await execWs(node.cfg.socket, 'default/web/shell', ['cat', '/etc/hostname']);
    expect(r.stdout).toBe('web\n');
    expect(pod('web')!.status!.containerStatuses!.map((c) => c.containerID)).toEqual(before);
    expect(pod('web')!.status!.containerStatuses!.map((c) => c.restartCount)).toEqual([0, 0]);
    api.dropWatches();
    api.createPod(makePod('after-drop', [{ name: 'c', image: 'busybox', command: ['sleep', '100000'] }]));
    await waitFor('after-drop Running', () => pod('after-drop')?.status?.phase === 'Running', 20_000);
  });

  it('a crash loop is reported as CrashLoopBackOff with restartCount and BackOff events', async () => {
    api.createPod(makePod('crashy', [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo bye; exit 2'] }]));
    await waitFor(
      'CrashLoopBackOff',
      () =>
        pod('crashy')?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' &&
        pod('crashy')!.status!.containerStatuses![0].restartCount >= 2,
      20_000,
    );
    expect(pod('crashy')!.status!.containerStatuses![0].lastState.terminated).toMatchObject({
      exitCode: 2,
      reason: 'Error',
    });
    const prev = await getText(node.cfg.socket, '/containerLogs/default/crashy/c?previous=true');
    expect(prev.body).toBe('bye\n');
    expect(api.events.some((e) => e.involvedObject.name === 'crashy' && e.reason === 'BackOff')).toBe(true);
  });

  it('a graceful delete: containers stopped, network removed, address freed, then DELETE with grace 0', async () => {
    const ip = pod('web')!.status!.podIP!;
    const netns = fs.readdirSync('/run/netns').filter((n) => n.startsWith(`${node.cfg.netnsPrefix}pod-web-`));
    expect(netns).toHaveLength(1);
    api.deletePod('default', 'web', 5);
    await waitFor('web gone from the API', () => !pod('web'), 20_000);
    const del = api.requests.filter((r) => r.method === 'DELETE' && r.path === '/api/v1/namespaces/default/pods/web');
    expect(del.at(-1)!.body).toMatchObject({ gracePeriodSeconds: 0 });
    expect(fs.existsSync(`/run/netns/${netns[0]}`)).toBe(false);
    expect(fs.existsSync(path.join(node.cfg.stateDir, 'ipam', ip))).toBe(false);
    const { stdout } = await run('ip', ['-n', node.cfg.nodeNetns, '-o', 'link', 'show', 'master', 'cni0']);
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(2); // after-drop and crashy remain
    expect(api.events.some((e) => e.involvedObject.name === 'web' && e.reason === 'Killing')).toBe(true);
  });
});
