// The API over HTTP without kubectl: bad input (malformed JSON, bodies over 3 MiB, unknown fields in
// strict mode, stale resourceVersions), tokens on the unix socket, patches, slow clients that must not
// block others, and @kubernetes/client-node (the official JS client) creating a Deployment, watching
// its pods become Running and deleting it. FakeKubelet is a test double of the kubelet (see its file).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '../../../src/controlplane/control-plane.js';
import type { Pod, Status } from '../../../src/k8s/types.js';
import { silentLogger } from '../../../src/util/logger.js';
import { FakeKubelet, apiRequest, waitFor } from '../../helpers/kube-api.js';

describe('the lab API over HTTP', () => {
  let tmp: string;
  let cp: RunningControlPlane;
  let kubelet: FakeKubelet;
  const api = (method: string, p: string, body?: unknown, ct?: string) =>
    apiRequest(cp.socket, cp.token, method, p, body, ct);
  const pod = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }] }] },
    ...extra,
  });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-apihttp-'));
    cp = await startControlPlane({ dir: path.join(tmp, 'apihttp'), port: 0, logger: silentLogger() });
    kubelet = new FakeKubelet(cp.socket, cp.token, [{ name: 'node1', subnet: 1 }]);
    await kubelet.start();
  });

  afterAll(async () => {
    kubelet?.stop();
    await cp?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses requests without the right token on the unix socket too, and changes nothing', async () => {
    for (const token of [undefined, 'nope', `${cp.token}x`]) {
      const r = await apiRequest(cp.socket, token, 'POST', '/api/v1/namespaces/default/pods', pod('sneaky'));
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
    expect((await api('GET', '/api/v1/namespaces/default/pods/sneaky')).status).toBe(404);
  });

  it('answers malformed JSON with 400 BadRequest, a body over 3 MiB with 413, and keeps serving', async () => {
    const bad = await api('POST', '/api/v1/namespaces/default/pods', '{"apiVersion": "v1", "kind": ');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    const big = await api(
      'POST',
      '/api/v1/namespaces/default/pods',
      JSON.stringify({ ...pod('big'), metadata: { name: 'big', annotations: { a: 'x'.repeat(3 * 1024 * 1024) } } }),
    );
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ reason: 'RequestEntityTooLarge', code: 413 });
    expect((await api('GET', '/api/v1/namespaces/default/pods/big')).status).toBe(404);
    const notObject = await api('POST', '/api/v1/namespaces/default/pods', '[1,2]');
    expect(notObject.status).toBe(400);
    expect(((await api('GET', '/version')).body as { gitVersion: string }).gitVersion).toMatch(/^v1\.32/);
  });

  it('strict field validation rejects unknown fields; Warn stores the object without them and warns', async () => {
    const withExtra = {
      ...pod('extra'),
      spec: { containers: [{ name: 'c', image: 'busybox', imagee: 'x' }], bogus: 1 },
    };
    const strict = await api('POST', '/api/v1/namespaces/default/pods?fieldValidation=Strict', withExtra);
    expect(strict.status).toBe(400);
    expect((strict.body as Status).message).toBe(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagee", unknown field "spec.bogus"',
    );
    const warn = await api('POST', '/api/v1/namespaces/default/pods?fieldValidation=Warn', withExtra);
    expect(warn.status).toBe(201);
    expect(String(warn.headers['warning'])).toContain('unknown field \\"spec.bogus\\"');
    expect((warn.body as Pod).spec).not.toHaveProperty('bogus');
    const wrongType = await api('POST', '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 'two' },
    });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as Status).message).toContain('spec.replicas: expected integer, got string');
  });

  it('Invalid with causes, Conflict on a stale resourceVersion, and the three patch types', async () => {
    const inv = await api('POST', '/api/v1/namespaces/default/pods', { ...pod('Bad_Name'), spec: { containers: [] } });
    expect(inv.status).toBe(422);
    const invalid = inv.body as Status;
    expect(invalid.reason).toBe('Invalid');
    expect(invalid.details!.causes!.map((c) => c.field)).toEqual(['metadata.name', 'spec.containers']);
    const created = (await api('POST', '/api/v1/namespaces/default/pods', pod('p1'))).body as Pod;
    const first = await api(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1',
      { metadata: { labels: { a: '1' } } },
      'application/merge-patch+json',
    );
    expect((first.body as Pod).metadata.labels).toEqual({ a: '1' });
    const stale = await api('PUT', '/api/v1/namespaces/default/pods/p1', created);
    expect(stale.status).toBe(409);
    expect((stale.body as Status).reason).toBe('Conflict');
    const smp = await api(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1',
      { spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(smp.status).toBe(200);
    expect((smp.body as Pod).spec.containers).toEqual([
      expect.objectContaining({ name: 'c', image: 'busybox:1.36', ports: [{ containerPort: 80, protocol: 'TCP' }] }),
    ]);
    const jp = await api(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1',
      [{ op: 'add', path: '/metadata/labels/b', value: '2' }],
      'application/json-patch+json',
    );
    expect((jp.body as Pod).metadata.labels).toEqual({ a: '1', b: '2' });
    const forbidden = await api(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1',
      { spec: { restartPolicy: 'Never' } },
      'application/merge-patch+json',
    );
    expect(forbidden.status).toBe(422);
    expect((forbidden.body as Status).message).toContain('spec: Forbidden: pod updates may not change fields');
  });

  it('a client that stops reading, and one that never finishes its headers, do not block others', async () => {
    const stalled = net.connect(cp.socket);
    stalled.write(`GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${cp.token}\r\n`);
    const watcher = net.connect(cp.socket);
    watcher.write(`GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${cp.token}\r\n\r\n`);
    watcher.pause();
    try {
      for (let i = 0; i < 30; i++) {
        const r = await api(
          'PATCH',
          '/api/v1/namespaces/default/pods/p1',
          { metadata: { annotations: { n: String(i), pad: 'y'.repeat(100_000) } } },
          'application/merge-patch+json',
        );
        expect(r.status).toBe(200);
      }
      expect(((await api('GET', '/api/v1/namespaces/default/pods/p1')).body as Pod).metadata.annotations?.n).toBe('29');
    } finally {
      stalled.destroy();
      watcher.destroy();
    }
  });

  it('@kubernetes/client-node creates a Deployment, watches its pods become Running, and deletes it', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path.join(tmp, 'apihttp', 'kubeconfig'));
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const running = new Set<string>();
    const deleted = new Set<string>();
    const watch = new k8s.Watch(kc);
    const ctl = await watch.watch(
      '/api/v1/namespaces/default/pods',
      { labelSelector: 'app=cn' },
      (type, obj: k8s.V1Pod) => {
        if (type === 'DELETED') deleted.add(obj.metadata!.name!);
        else if (obj.status?.phase === 'Running') running.add(obj.metadata!.name!);
      },
      () => {},
    );
    try {
      await apps.createNamespacedDeployment({
        namespace: 'default',
        body: {
          metadata: { name: 'cn' },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'cn' } },
            template: { metadata: { labels: { app: 'cn' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
          },
        },
      });
      await waitFor('2 pods Running in the watch', () => running.size === 2);
      const d = await apps.readNamespacedDeployment({ name: 'cn', namespace: 'default' });
      expect(d.spec?.strategy?.type).toBe('RollingUpdate');
      await waitFor(
        'deployment available',
        async () =>
          (await apps.readNamespacedDeployment({ name: 'cn', namespace: 'default' })).status?.availableReplicas === 2,
      );
      await apps.deleteNamespacedDeployment({ name: 'cn', namespace: 'default' });
      await waitFor('pods deleted', () => [...running].every((n) => deleted.has(n)));
      const left = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=cn' });
      expect(left.items).toEqual([]);
    } finally {
      ctl.abort();
    }
  });
});
