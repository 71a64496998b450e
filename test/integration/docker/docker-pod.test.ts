// Pods in Docker (annotation flannelette.io/runtime: docker) on a live lab, with the real dockerd
// (started by .ci/run as `dockerd --bridge=none --iptables=false --ip6tables=false`) and an image
// built locally (`docker import` of a busybox root filesystem; no registry): a Docker pod on node2
// and a plain pod on node1 exchange ping and HTTP across the overlay; exec and logs go to the
// container; two containers share the pod's network namespace; a missing image is ErrImagePull with
// its name; deleting the pod and `lab down` remove its containers and every process carrying the pod's
// mark (FLT_POD_UID, which the kubelet gives each container's environment).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type Pod } from '../../../src/api/index.js';
import { importBusyboxImage, LAB_LABEL, POD_LABEL } from '../../../src/kubelet/docker-runtime.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { dockerTestTopology, podProcesses } from '../../helpers/docker-pods.js';
import { built, labName, leftovers } from '../../helpers/live-lab.js';

const dockerUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}']).status === 0;
const skip =
  requireRootOrSkip('docker pods') ||
  requireOrSkip(built(), 'docker pods: build first (npm run build)') ||
  requireOrSkip(dockerUp, 'docker pods: no Docker daemon answers (start dockerd --bridge=none --iptables=false)');
const IMAGE = 'flt-test/busybox:local';
const name = labName('dk');
let lab: Lab;

const containers = (label: string, value: string): string[] =>
  spawnSync('docker', ['ps', '-aq', '--filter', `label=${label}=${value}`], { encoding: 'utf8' })
    .stdout.split(/\s+/)
    .filter(Boolean);

const topology = dockerTestTopology('dockertest');

const dockerPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'boxed', annotations: { 'flannelette.io/runtime': 'docker' } },
  spec: {
    nodeName: 'node2',
    containers: [
      {
        name: 'web',
        image: IMAGE,
        command: ['/bin/sh', '-c'],
        args: [
          'mkdir -p /www && echo hello-from-docker > /www/index.html && echo serving && exec httpd -f -p 80 -h /www',
        ],
      },
      { name: 'side', image: IMAGE, command: ['sleep', '100000'] },
    ],
  },
};

describe.skipIf(skip)('pods in Docker', () => {
  beforeAll(async () => {
    if (spawnSync('docker', ['image', 'inspect', IMAGE]).status !== 0) await importBusyboxImage(IMAGE);
    lab = await Lab.up(topology, { name });
  });
  afterAll(async () => {
    await lab?.down();
    expect(leftovers(name)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
    expect(containers(LAB_LABEL, `flt-${name}-`)).toEqual([]);
  });

  it('a Docker pod and a plain pod on another node exchange ping and HTTP; exec and logs reach the container', async () => {
    await lab.apply(dockerPod);
    const boxed = await lab.waitFor<Pod>({ podReady: 'boxed' }, { timeoutMs: 90_000 });
    const plain = await lab.get('pod', 'plain');
    const boxedIp = boxed.status!.podIP!;
    expect(boxedIp).toMatch(/^10\.244\.2\./);
    expect(containers(POD_LABEL, boxed.metadata.uid!)).toHaveLength(3); // sandbox + two containers
    expect(podProcesses(boxed.metadata.uid!).length).toBeGreaterThan(1); // httpd and sleep, marked as the pod's

    const fromPlain = await lab.exec('plain', ['curl', '-sS', '-m', '5', `http://${boxedIp}/`]);
    expect(fromPlain.stdout).toBe('hello-from-docker\n');
    const ping = await lab.exec('boxed', ['ping', '-c', '2', '-W', '2', plain.status!.podIP!], { container: 'side' });
    expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    const fetched = await lab.exec('boxed', ['wget', '-qO-', `http://${plain.status!.podIP}/`], { container: 'side' });
    expect(fetched.stdout).toContain(`Hello from plain (${plain.status!.podIP}); you are ${boxedIp}`);
    // both containers see the same eth0 (one network namespace), inside the container's own filesystem
    const addr = await lab.exec('boxed', ['ip', '-4', 'addr', 'show', 'eth0'], { container: 'side' });
    expect(addr.stdout).toContain(`${boxedIp}/24`);
    expect((await lab.exec('boxed', ['cat', '/www/index.html'], { container: 'web' })).stdout).toBe(
      'hello-from-docker\n',
    );
    expect((await lab.exec('boxed', ['ls', '/www'], { container: 'side' })).exitCode).not.toBe(0);
    expect(await lab.logs('boxed', { container: 'web' })).toContain('serving');
  });

  it('an image not present locally: ErrImagePull naming it', async () => {
    await lab.apply({
      ...dockerPod,
      metadata: { ...dockerPod.metadata, name: 'missing' },
      spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'flt-test/not-here:1' }] },
    });
    const waiting = await lab.waitFor(async (l) => {
      const p = await l.get('pod', 'missing');
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'ErrImagePull' && w;
    });
    expect(waiting.message).toContain('flt-test/not-here:1');
  });

  it('deleting the pod removes its containers', async () => {
    const uid = (await lab.get('pod', 'boxed')).metadata.uid!;
    await lab.client.delete('/api/v1/namespaces/default/pods/boxed', { gracePeriodSeconds: 1 });
    await lab.waitFor({ gone: { kind: 'pod', name: 'boxed' } }, { timeoutMs: 60_000 });
    await lab.waitFor(() => containers(POD_LABEL, uid).length === 0);
    await lab.waitFor(() => podProcesses(uid).length === 0, { timeoutMs: 10_000 });
  });
});
