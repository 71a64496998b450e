// "NodePort answers on every node": a Deployment behind a Service of type NodePort, as Kubernetes
// defines it (core/v1 Service, spec.type NodePort, the port allocated from 30000-32767), reached
// on each node's InternalIP from inside another node's network namespace.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab, type KubeObject } from 'flannelette';

const here = path.dirname(fileURLToPath(import.meta.url));
const name = `np${Math.random()
  .toString(36)
  .slice(2, 7)
  .replace(/[^a-z0-9]/g, 'x')}`;
let lab: Lab;

interface Service extends KubeObject {
  spec: { type?: string; ports: { port: number; nodePort?: number }[] };
}

beforeAll(async () => {
  lab = await Lab.up(path.join(here, '..', 'topology.yaml'), { name });
});

afterAll(async () => {
  await lab?.down();
});

it('NodePort answers on every node', async () => {
  await lab.apply([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'hello' } },
        template: {
          metadata: { labels: { app: 'hello' } },
          spec: { containers: [{ name: 'hello', image: 'flannelette/http', ports: [{ containerPort: 80 }] }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hello' },
      spec: { type: 'NodePort', selector: { app: 'hello' }, ports: [{ port: 80, targetPort: 80 }] },
    },
  ]);
  await lab.waitFor({ podsReady: { selector: 'app=hello', count: 2 } });
  await lab.waitFor({ serviceEndpoints: 'hello' });
  const svc = (await lab.get('service', 'hello')) as Service;
  const nodePort = svc.spec.ports[0].nodePort!;
  expect(nodePort).toBeGreaterThanOrEqual(30000);
  expect(nodePort).toBeLessThanOrEqual(32767);

  const nodes = await lab.get('nodes');
  expect(nodes).toHaveLength(2);
  for (const from of nodes) {
    for (const to of nodes) {
      const ip = to.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
      const answer = await lab.waitFor(async () => {
        const r = await lab.exec(from.metadata.name!, ['curl', '-sS', '-m', '2', `http://${ip}:${nodePort}/`]);
        return r.exitCode === 0 && r.stdout;
      });
      expect(answer).toMatch(/^Hello from hello-/);
    }
  }
});
