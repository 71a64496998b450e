// Issue 19: the host-gw backend in a live lab (control plane, kubelets, supervisor) —
// examples/three-nodes-host-gw.yaml: the nodes Ready with kernel routes via each other's public IPs
// and no TUN device, the `web` Deployment's three replicas on their nodes' subnets, a ClusterIP Service
// through kube-proxy answering a web pod from the replicas on the other nodes, and `lab check`.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/k8s/types.js';
import { built, cli, labName, leftovers, ROOT, waitFor } from '../../helpers/live-lab.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const skip =
  requireRootOrSkip('live host-gw lab') || requireOrSkip(built(), 'live host-gw lab: build first (npm run build)');
const lab = labName('hgw');
const l = (verb: string, ...args: string[]) => {
  const dash = args.indexOf('--');
  const head = dash < 0 ? args : args.slice(0, dash);
  const tail = dash < 0 ? [] : args.slice(dash);
  return cli(['lab', verb, ...head, '--name', lab, ...tail], { timeoutMs: 180_000 });
};

describe.skipIf(skip)('host-gw in a live lab', () => {
  const pods: Pod[] = [];
  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/three-nodes-host-gw.yaml'), '--name', lab], {
      timeoutMs: 240_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    const got = await l('get', 'pods', '-o', 'json');
    pods.push(...(JSON.parse(got.out) as { items: Pod[] }).items);
  }, 300_000);
  afterAll(async () => {
    await l('down');
  }, 120_000);

  it('every node routes the others via their public IPs, without a TUN device', () => {
    for (const [node, others] of [
      [
        'node1',
        [
          ['10.244.2.0/24', '192.168.1.3'],
          ['10.244.3.0/24', '192.168.1.4'],
        ],
      ],
      [
        'node3',
        [
          ['10.244.1.0/24', '192.168.1.2'],
          ['10.244.2.0/24', '192.168.1.3'],
        ],
      ],
    ] as const) {
      const routes = spawnSync('ip', ['-n', `flt-${lab}-${node}`, 'route', 'show'], { encoding: 'utf8' }).stdout;
      for (const [subnet, via] of others) expect(routes, node).toContain(`${subnet} via ${via} dev eth0`);
      const links = spawnSync('ip', ['-n', `flt-${lab}-${node}`, 'link', 'show'], { encoding: 'utf8' }).stdout;
      expect(links).not.toMatch(/flannel/);
    }
  });

  it("the web replicas run with IPs of their nodes' subnets, on more than one node", () => {
    const web = pods.filter((p) => p.metadata.labels?.['app'] === 'web');
    expect(web).toHaveLength(3);
    for (const p of web) expect(p.status!.podIP!.startsWith(`10.244.${p.spec.nodeName!.slice(4)}.`)).toBe(true);
    expect(new Set(web.map((p) => p.spec.nodeName)).size).toBeGreaterThan(1);
  });

  it('a ClusterIP Service through kube-proxy answers a web pod from the replicas on the other nodes', async () => {
    const svc =
      'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { selector: { app: web }, ports: [{ port: 80 }] }\n';
    const applied = await cli(['lab', 'apply', '-f', '-', '--name', lab], { input: svc });
    expect(applied.code, applied.err).toBe(0);
    const clusterIp = (JSON.parse((await l('get', 'svc', 'web', '-o', 'json')).out) as { spec: { clusterIP: string } })
      .spec.clusterIP;
    const web = pods.filter((p) => p.metadata.labels?.['app'] === 'web');
    const caller = web[0];
    const remote = web.filter((p) => p.spec.nodeName !== caller.spec.nodeName);
    expect(remote.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    let last = '';
    await waitFor(
      `answers from ${remote.map((p) => p.metadata.name).join(', ')} through the Service`,
      async () => {
        const r = await l('exec', caller.metadata.name!, '--', 'curl', '-s', '--max-time', '3', `http://${clusterIp}/`);
        last = `${r.code} ${r.out} ${r.err}`;
        const from = /^Hello from (\S+) \(/.exec(r.out)?.[1]; // the http program's greeting
        if (r.code === 0 && from) seen.add(from);
        if (remote.every((p) => seen.has(p.metadata.name!))) return true;
        throw new Error(`seen ${[...seen].join(', ')}; last: ${last}`);
      },
      90_000,
      100,
    );
  }, 120_000);

  it('lab check: every pod reaches every pod and node', async () => {
    const r = await l('check');
    expect(r.code, r.out + r.err).toBe(0);
  }, 180_000);

  it('lab down leaves nothing', async () => {
    expect((await l('down')).code).toBe(0);
    expect(leftovers(lab).netns).toEqual([]);
    expect(fs.existsSync(`/run/flannelette/labs/${lab}`)).toBe(false);
  }, 120_000);
});
