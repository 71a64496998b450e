// A lab-wide Docker runtime (topology `runtime: docker`) on a live lab with the real dockerd (started
// by .ci/run as `dockerd --bridge=none --iptables=false --ip6tables=false`): pods WITHOUT the
// annotation run in Docker containers (sandbox + container, found by the pod's uid label), exchange
// ping and HTTP across the overlay between two nodes, the built-in cluster DNS pod stays on the host
// runtime, and `lab down` removes every container of the lab.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type Pod } from '../../../src/api/index.js';
import { importBusyboxImage, LAB_LABEL, POD_LABEL } from '../../../src/kubelet/docker-runtime.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, labName, leftovers } from '../../helpers/live-lab.js';

const dockerUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}']).status === 0;
const skip =
  requireRootOrSkip('docker lab runtime') ||
  requireOrSkip(built(), 'docker lab runtime: build first (npm run build)') ||
  requireOrSkip(
    dockerUp,
    'docker lab runtime: no Docker daemon answers (start dockerd --bridge=none --iptables=false)',
  );
const IMAGE = 'flt-test/busybox:local'; // the Docker pod test's image, reused by name
const name = labName('dr');
let lab: Lab;

const containers = (label: string, value: string): string[] =>
  spawnSync('docker', ['ps', '-aq', '--filter', `label=${label}=${value}`], { encoding: 'utf8' })
    .stdout.split(/\s+/)
    .filter(Boolean);

const pod = (podName: string, node: string, script: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: podName },
  spec: { nodeName: node, containers: [{ name: 'c', image: IMAGE, command: ['/bin/sh', '-c', script] }] },
});

describe.skipIf(skip)('a lab with runtime: docker', () => {
  beforeAll(async () => {
    if (spawnSync('docker', ['image', 'inspect', IMAGE]).status !== 0) await importBusyboxImage(IMAGE);
    lab = await Lab.up(
      {
        name: 'dockerlab',
        runtime: 'docker',
        nodes: [
          { name: 'node1', publicIp: '192.168.1.2', subnet: '10.244.1.0/24' },
          { name: 'node2', publicIp: '192.168.1.3', subnet: '10.244.2.0/24' },
        ],
      },
      { name },
    );
  });
  afterAll(async () => {
    await lab?.down();
    expect(leftovers(name)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
    expect(containers(LAB_LABEL, `flt-${name}-`)).toEqual([]);
  });

  it('pods without the annotation run in Docker and reach each other across the overlay', async () => {
    await lab.apply([
      pod('web', 'node2', 'mkdir -p /www && echo hello-docker-lab > /www/index.html && exec httpd -f -p 80 -h /www'),
      pod('client', 'node1', 'exec sleep 100000'),
    ]);
    const web = await lab.waitFor<Pod>({ podReady: 'web' }, { timeoutMs: 90_000 });
    const client = await lab.waitFor<Pod>({ podReady: 'client' }, { timeoutMs: 90_000 });
    expect(web.metadata.annotations?.['flannelette.io/runtime']).toBeUndefined();
    for (const p of [web, client]) expect(containers(POD_LABEL, p.metadata.uid!)).toHaveLength(2); // sandbox + c
    const webIp = web.status!.podIP!;
    expect(webIp).toMatch(/^10\.244\.2\./);
    const ping = await lab.exec('client', ['ping', '-c', '2', '-W', '2', webIp]);
    expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    expect((await lab.exec('client', ['wget', '-qO-', `http://${webIp}/`])).stdout).toBe('hello-docker-lab\n');

    // the built-in cluster DNS pod stays on the host runtime
    const dns = await lab.get('pod', { namespace: 'kube-system', selector: 'k8s-app=kube-dns' });
    expect(dns.length).toBeGreaterThan(0);
    for (const p of dns) {
      expect(p.metadata.annotations?.['flannelette.io/runtime']).toBe('host');
      expect(containers(POD_LABEL, p.metadata.uid!)).toEqual([]);
    }
  });
});
