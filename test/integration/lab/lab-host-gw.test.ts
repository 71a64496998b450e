// host-gw in a lab (static: pods as plain processes, real node agents): three nodes on one underlay
// switch, pod → pod ping and HTTP across every node, the node's kernel routes via the other nodes'
// public IPs, and the same pod traffic captured on the underlay switch (tcpdump on br0, read by
// tshark) with host-gw (plain ICMP between pod IPs) and with vxlan (UDP 8472 carrying them).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureWhile, tsharkFields } from '../../helpers/capture.js';
import { ROOT } from '../../helpers/live-lab.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { builtWithPrograms, cliIn, fetchFrom, waitPodRunning } from '../../helpers/static-lab.js';

const skip =
  requireRootOrSkip('host-gw lab integration') ||
  requireOrSkip(builtWithPrograms(), 'host-gw lab integration: build first (npm run build)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-hostgw-lab-'));
const labs: string[] = [];
const labName = (tag: string): string => {
  const name = `hg${tag}${Math.random().toString(36).slice(2, 6)}`.replace(/[^a-z0-9]/g, 'x');
  labs.push(name);
  return name;
};

const cli = cliIn(tmp);

/** Captures `count` IPv4 frames on the lab's underlay switch while `traffic` runs; tshark's fields per frame. */
async function captureUnderlay(lab: string, count: number, traffic: () => Promise<unknown>): Promise<string[]> {
  const file = path.join(tmp, `${lab}.pcap`);
  const filter = 'icmp or udp port 8472';
  await captureWhile({ netns: `flt-${lab}-underlay`, iface: 'br0', count, filter, file }, traffic);
  return tsharkFields(file, ['ip.src', 'ip.dst', 'udp.dstport', 'frame.protocols'], {
    decode: ['udp.port==8472,vxlan'],
    separator: '/s',
  });
}

const ping = (lab: string, pod: string, ip: string): Promise<{ code: number }> =>
  cli(['lab', 'exec', pod, '--name', lab, '--', 'ping', '-c', '1', '-W', '2', ip]);

describe.skipIf(skip)('host-gw lab, and the same traffic over vxlan', () => {
  afterAll(async () => {
    for (const lab of labs) await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('three host-gw nodes: pods reach pods on every node; the underlay carries pod IPs unencapsulated', async () => {
    const lab = labName('h');
    const up = await cli([
      'lab',
      'up',
      '--static',
      path.join(ROOT, 'examples/three-nodes-host-gw.yaml'),
      '--name',
      lab,
    ]);
    expect(up.code, up.err).toBe(0);
    expect(up.out).toMatch(/node3\s+Ready\s+10\.244\.3\.0\/24\s+192\.168\.1\.4\s/);
    const routes = spawnSync('ip', ['-n', `flt-${lab}-node1`, 'route', 'show'], { encoding: 'utf8' }).stdout;
    expect(routes).toMatch(/10\.244\.2\.0\/24 via 192\.168\.1\.3 dev eth0/);
    expect(routes).toMatch(/10\.244\.3\.0\/24 via 192\.168\.1\.4 dev eth0/);
    await waitPodRunning(cli, lab, 'client');
    for (const ip of ['10.244.2.2', '10.244.3.2']) expect((await ping(lab, 'client', ip)).code, ip).toBe(0);
    expect(fetchFrom(`flt-${lab}-pod-client`, 'http://10.244.3.2/')).toMatch(/; you are 10\.244\.1\.3$/);
    const rows = await captureUnderlay(lab, 2, () => ping(lab, 'client', '10.244.2.2'));
    expect(rows).toEqual([
      '10.244.1.3 10.244.2.2  eth:ethertype:ip:icmp:data',
      '10.244.2.2 10.244.1.3  eth:ethertype:ip:icmp:data',
    ]);
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
  });

  it('two vxlan nodes: the same ping crosses the underlay inside VXLAN between the public IPs', async () => {
    const lab = labName('v');
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/two-nodes.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    const rows = await captureUnderlay(lab, 2, () => ping(lab, 'busybox', '10.244.2.2'));
    expect(rows).toEqual([
      '192.168.1.2,10.244.1.3 192.168.1.3,10.244.2.2 8472 eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data',
      '192.168.1.3,10.244.2.2 192.168.1.2,10.244.1.3 8472 eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data',
    ]);
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
  });
});
