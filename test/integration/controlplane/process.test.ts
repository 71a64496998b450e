// The `flannelette controlplane --dir DIR` process (built dist/, as the supervisor runs it): writes
// controlplane.json, a 0600 kubeconfig and token, exits 0 on SIGTERM, and a restart keeps the objects
// with their uids and keeps resourceVersions increasing (a watch from before the restart gets 410).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KubeList, Namespace, Pod, WatchEvent } from '../../../src/k8s/types.js';
import { apiRequest, waitFor } from '../../helpers/kube-api.js';

const BIN = path.resolve('bin/flannelette.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-cpproc-'));
const dir = path.join(tmp, 'proclab');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(args: string[] = []): ChildProcess {
  const c = spawn(process.execPath, [BIN, 'controlplane', '--dir', dir, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(c);
  return c;
}
const exited = (c: ChildProcess): Promise<number | null> =>
  new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.on('exit', (code) => r(code))));
const info = (): { url: string; socket: string; pid: number } =>
  JSON.parse(fs.readFileSync(path.join(dir, 'controlplane.json'), 'utf8')) as {
    url: string;
    socket: string;
    pid: number;
  };

describe('flannelette controlplane', () => {
  it('rejects a non-loopback --listen with exit 2 and one line', async () => {
    const c = spawn(process.execPath, [BIN, 'controlplane', '--dir', dir, '--listen', '0.0.0.0:6443'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    expect(await exited(c)).toBe(2);
    expect(err).toBe('flannelette: --listen must be 127.0.0.1:PORT (loopback only), got "0.0.0.0:6443"\n');
  });

  it('serves, stops cleanly on SIGTERM, and keeps its state across a restart', async () => {
    const c1 = start();
    await waitFor(
      'controlplane.json',
      () => fs.existsSync(path.join(dir, 'controlplane.json')) && info().pid === c1.pid,
    );
    const { url, socket } = info();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(fs.statSync(path.join(dir, 'kubeconfig')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'token')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    const token = fs.readFileSync(path.join(dir, 'token'), 'utf8').trim();
    const ns = await apiRequest(socket, token, 'GET', '/api/v1/namespaces');
    expect((ns.body as KubeList<Namespace>).items.map((n) => n.metadata.name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
    const created = await apiRequest(socket, token, 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'keep' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(created.status).toBe(201);
    const createdPod = created.body as Pod;
    c1.kill('SIGTERM');
    expect(await exited(c1)).toBe(0);
    expect(fs.existsSync(path.join(dir, 'controlplane.json'))).toBe(false);

    const c2 = start();
    await waitFor('restarted', () => fs.existsSync(path.join(dir, 'controlplane.json')) && info().pid === c2.pid);
    const again = await apiRequest(info().socket, token, 'GET', '/api/v1/namespaces/default/pods/keep');
    expect(again.status).toBe(200);
    expect((again.body as Pod).metadata.uid).toBe(createdPod.metadata.uid);
    const later = await apiRequest(info().socket, token, 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'later' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(Number((later.body as Pod).metadata.resourceVersion)).toBeGreaterThan(
      Number(createdPod.metadata.resourceVersion),
    );
    const old = await apiRequest(
      info().socket,
      token,
      'GET',
      `/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&resourceVersion=${Number(createdPod.metadata.resourceVersion) - 1}`,
    );
    const first = JSON.parse(old.text.split('\n')[0]) as WatchEvent;
    expect(first).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    c2.kill('SIGTERM');
    expect(await exited(c2)).toBe(0);
  });
});
