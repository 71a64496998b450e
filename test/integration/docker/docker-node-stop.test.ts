// Docker pods under `lab node stop` (issue 18), on a PRIVATE dockerd (test/helpers/private-dockerd.ts:
// inside a namespace this file made, own data root and socket; the lab's kubelets reach it through the
// DOCKER_HOST they inherit): a Docker pod (sandbox + two containers) on node2; `lab node stop node2`
// leaves none of its containers running and no process carrying the pod's mark (FLT_POD_UID); the
// other node's pod is untouched; `lab node start` brings the pod back in Docker; `lab down` leaves no
// container of the lab (running or not), no marked process and nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type Pod } from '../../../src/api/index.js';
import { importBusyboxImage, LAB_LABEL, POD_LABEL } from '../../../src/kubelet/docker-runtime.js';
import { dockerTestTopology, podProcesses } from '../../helpers/docker-pods.js';
import { built, labName, leftovers } from '../../helpers/live-lab.js';
import { haveDockerd, startPrivateDockerd, type PrivateDockerd } from '../../helpers/private-dockerd.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const skip =
  requireRootOrSkip('docker pods under lab node stop') ||
  requireOrSkip(built(), 'docker pods under lab node stop: build first (npm run build)') ||
  requireOrSkip(haveDockerd(), 'docker pods under lab node stop: dockerd is not installed (apt-get install docker.io)');
const IMAGE = 'flt-test/busybox:local';
const name = labName('dn');
let dockerd: PrivateDockerd | undefined;
let lab: Lab | undefined;
const savedHost = process.env['DOCKER_HOST'];

/** Container ids with the label: running only, or (all) exited ones too. */
const containers = (label: string, value: string, all = false): string[] =>
  dockerd!
    .docker(['ps', '-q', ...(all ? ['-a'] : []), '--filter', `label=${label}=${value}`])
    .out.split(/\s+/)
    .filter(Boolean);

const topology = dockerTestTopology('dockerstop');

const dockerPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'boxed', annotations: { 'flannelette.io/runtime': 'docker' } },
  spec: {
    nodeName: 'node2',
    containers: [
      { name: 'web', image: IMAGE, command: ['/bin/sh', '-c', 'mkdir -p /www && exec httpd -f -p 80 -h /www'] },
      { name: 'side', image: IMAGE, command: ['sleep', '100000'] },
    ],
  },
};

describe.skipIf(skip)('Docker pods under lab node stop', () => {
  beforeAll(async () => {
    dockerd = await startPrivateDockerd('flt-dkstop');
    process.env['DOCKER_HOST'] = dockerd.host; // the lab's supervisor, kubelets and teardown inherit it
    await importBusyboxImage(IMAGE);
    lab = await Lab.up(topology, { name });
  }, 180_000);
  afterAll(async () => {
    try {
      await lab?.down();
      expect(leftovers(name)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
      expect(containers(LAB_LABEL, `flt-${name}-`, true)).toEqual([]);
    } finally {
      if (savedHost === undefined) delete process.env['DOCKER_HOST'];
      else process.env['DOCKER_HOST'] = savedHost;
      await dockerd?.stop();
    }
  }, 180_000);

  it('stop: no container of the pod runs and no marked process survives; start brings the pod back', async () => {
    await lab!.apply(dockerPod);
    const boxed = await lab!.waitFor<Pod>({ podReady: 'boxed' }, { timeoutMs: 90_000 });
    const uid = boxed.metadata.uid!;
    expect(containers(POD_LABEL, uid)).toHaveLength(3); // sandbox + two containers
    expect(podProcesses(uid).length).toBeGreaterThan(1); // httpd and sleep, marked as the pod's
    const plainUid = (await lab!.get('pod', 'plain')).metadata.uid!;
    const plainBefore = podProcesses(plainUid);
    expect(plainBefore.length).toBeGreaterThan(0);

    await lab!.node('node2').stop();
    await lab!.waitFor(() => containers(POD_LABEL, uid).length === 0, { timeoutMs: 30_000 });
    await lab!.waitFor(() => podProcesses(uid).length === 0, { timeoutMs: 10_000 });
    expect(podProcesses(plainUid)).toEqual(plainBefore); // node1's pod is not touched

    await lab!.node('node2').start();
    await lab!.waitFor(() => containers(POD_LABEL, uid).length === 3, { timeoutMs: 90_000 });
    await lab!.waitFor(() => podProcesses(uid).length > 1, { timeoutMs: 30_000 });
  });
});
