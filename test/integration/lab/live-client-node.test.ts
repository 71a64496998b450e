// The official JavaScript client, @kubernetes/client-node, drives a live two-node lab through the
// kubeconfig `lab up` writes (HTTPS on loopback, bearer token): it creates a Deployment, watches its
// pods become Ready, execs a command in one of them (WebSocket through the API server to the kubelet),
// reads that pod's logs (nginx's access line for the request the exec made), and deletes it all.
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, cli, labName, leftovers, ROOT, waitFor } from '../../helpers/live-lab.js';

const skip =
  requireRootOrSkip('client-node against a live lab') ||
  requireOrSkip(built(), 'client-node against a live lab: build first (npm run build)');
const lab = labName('cn');

function podReady(p: k8s.V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

describe.skipIf(skip)('@kubernetes/client-node against a live lab', () => {
  let kc: k8s.KubeConfig;

  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes-empty.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    const kubeconfig = (await cli(['lab', 'kubeconfig', '--name', lab])).out.trim();
    expect(fs.existsSync(kubeconfig)).toBe(true);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
  }, 180_000);

  afterAll(async () => {
    if (skip) return;
    await cli(['lab', 'down', '--name', lab]);
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
  }, 120_000);

  it('creates a Deployment, watches its pods become Ready, execs in one, reads its logs, deletes it', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ready = new Map<string, k8s.V1Pod>();
    const deleted = new Set<string>();
    const ctl = await new k8s.Watch(kc).watch(
      '/api/v1/namespaces/default/pods',
      { labelSelector: 'app=web' },
      (type: string, pod: k8s.V1Pod) => {
        const name = pod.metadata?.name ?? '';
        if (type === 'DELETED') deleted.add(name);
        else if (podReady(pod)) ready.set(name, pod);
      },
      () => undefined,
    );
    try {
      await apps.createNamespacedDeployment({
        namespace: 'default',
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] },
            },
          },
        },
      });
      await waitFor('2 pods Ready in the watch', () => ready.size === 2, 90_000);
      const nodes = new Set([...ready.values()].map((p) => p.spec?.nodeName));
      expect(nodes).toEqual(new Set(['node1', 'node2']));
      const [name] = [...ready.keys()];

      // exec: curl nginx inside its own pod; the exit status comes back on the error channel
      let stdout = '';
      const out = new PassThrough();
      out.on('data', (d: Buffer) => (stdout += d.toString()));
      const status = await new Promise<k8s.V1Status>((resolve, reject) => {
        new k8s.Exec(kc)
          .exec(
            'default',
            name,
            'nginx',
            ['curl', '-s', 'http://localhost/'],
            out,
            new PassThrough(),
            null,
            false,
            (s) => resolve(s),
          )
          .catch(reject);
      });
      expect(status.status).toBe('Success');
      await waitFor('the exec output', () => stdout.includes('Welcome to nginx!'), 10_000);

      // logs: nginx's access log line for that request
      const logs = await waitFor(
        "nginx's access line in the pod's logs",
        async () => {
          const text = await core.readNamespacedPodLog({ name: name, namespace: 'default', container: 'nginx' });
          return text.includes('"GET / HTTP/1.1" 200') ? text : undefined;
        },
        20_000,
      );
      expect(logs).toMatch(/curl\//);

      await apps.deleteNamespacedDeployment({ name: 'web', namespace: 'default' });
      await waitFor('the pods deleted', () => [...ready.keys()].every((n) => deleted.has(n)), 90_000);
      const left = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
      expect(left.items).toEqual([]);
    } finally {
      ctl.abort();
    }
  }, 240_000);
});
