// host-gw in a lab (static: pods as plain processes, real node agents): three nodes on one underlay
// switch, pod → pod ping and HTTP across every node, the node's kernel routes via the other nodes'
// public IPs, and the same pod traffic captured on the underlay switch (tcpdump on br0, read by
// tshark) with host-gw (plain ICMP between pod IPs) and with vxlan (UDP 8472 carrying them).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');
const PROGRAMS = path.join(ROOT, 'dist/src/lab/container-main.js');
const built = fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')) && fs.existsSync(PROGRAMS);
const skip =
  requireRootOrSkip('host-gw lab integration') ||
  requireOrSkip(built, 'host-gw lab integration: build first (npm run build)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-hostgw-lab-'));
const labs: string[] = [];
const labName = (tag: string): string => {
  const name = `hg${tag}${Math.random().toString(36).slice(2, 6)}`.replace(/[^a-z0-9]/g, 'x');
  labs.push(name);
  return name;
};

function cli(args: string[], timeoutMs = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, out, err });
    });
  });
}

/** Captures `count` IPv4 frames on the lab's underlay switch while `traffic` runs; tshark's fields per frame. */
async function captureUnderlay(lab: string, count: number, traffic: () => Promise<unknown>): Promise<string[]> {
  const file = path.join(tmp, `${lab}.pcap`);
  const dump = spawn(
    'ip',
    ['netns', 'exec', `flt-${lab}-underlay`, 'tcpdump', '-ni', 'br0', '-U', '-c', String(count)].concat([
      '-w',
      file,
      // only the pod traffic: IGMP reports and ARP on the bridge are not what the test looks at
      'icmp or udp port 8472',
    ]),
  );
  let err = '';
  dump.stderr.on('data', (d) => (err += String(d)));
  await waitUntil(() => err.includes('listening on'), 'tcpdump to listen');
  const exited = new Promise((r) => dump.on('exit', r));
  await traffic();
  await exited;
  const r = spawnSync(
    'tshark',
    ['-r', file, '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'separator=/s'].concat([
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'udp.dstport',
      '-e',
      'frame.protocols',
    ]),
    { encoding: 'utf8' },
  );
  return r.stdout.trim().split('\n');
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
    await waitUntil(
      async () => /^client\s+1\/1\s+Running\s/m.test((await cli(['lab', 'status', '--name', lab])).out),
      'client to be Running',
      20_000,
      100,
    );
    for (const ip of ['10.244.2.2', '10.244.3.2']) expect((await ping(lab, 'client', ip)).code, ip).toBe(0);
    const http = spawnSync(
      'ip',
      ['netns', 'exec', `flt-${lab}-pod-client`, process.execPath, PROGRAMS, 'fetch', 'http://10.244.3.2/'],
      { encoding: 'utf8' },
    );
    expect(http.stdout.trim()).toMatch(/; you are 10\.244\.1\.3$/);
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
