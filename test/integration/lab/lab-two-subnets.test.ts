// Issue 19, vxlan DirectRouting as flannel decides it, in a live lab whose underlay is two subnets
// joined by a router namespace (examples/two-subnets.yaml): node1 and node2 on 192.168.1.0/24
// (switch br0), node3 on 192.168.2.0/24 (br1). node1 routes node2's subnet directly via its public
// IP and node3's into flannel.1; a pod ping web1 → web2 crosses br0 as plain ICMP between the pod
// IPs, web1 → web3 crosses br0 and br1 inside VXLAN between the public IPs (tcpdump on the switches,
// read by tshark). `lab check` passes; `lab down` removes the router namespace with the rest.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/k8s/types.js';
import { built, cli, labName, leftovers, ROOT } from '../../helpers/live-lab.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const skip =
  requireRootOrSkip('two-subnet lab') ||
  requireOrSkip(built(), 'two-subnet lab: build first (npm run build)') ||
  requireOrSkip(spawnSync('sh', ['-c', 'command -v tcpdump && command -v tshark']).status === 0, 'tcpdump, tshark');
const lab = labName('twos');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-twos-'));
const l = (verb: string, ...args: string[]) => cli(['lab', verb, '--name', lab, ...args], { timeoutMs: 180_000 });

/** Captures `count` frames of pod traffic on each switch while `traffic` runs; tshark's fields per switch. */
async function capture(bridges: string[], count: number, traffic: () => Promise<unknown>): Promise<string[][]> {
  const dumps = bridges.map((bridge) => {
    const file = path.join(tmp, `${bridge}-${Date.now()}.pcap`);
    const argv = ['netns', 'exec', `flt-${lab}-underlay`, 'tcpdump', '-ni', bridge, '-U', '-c', String(count)];
    // only the pod traffic: IGMP reports and ARP on the bridges are not what the test looks at
    const proc = spawn('ip', [...argv, '-w', file, 'icmp or udp port 8472']);
    const d = { file, err: '', exited: new Promise((r) => proc.on('exit', r)) };
    proc.stderr.on('data', (chunk) => (d.err += String(chunk)));
    return d;
  });
  await waitUntil(() => dumps.every((d) => d.err.includes('listening on')), 'tcpdump to listen');
  await traffic();
  await Promise.all(dumps.map((d) => d.exited));
  const fields = ['ip.src', 'ip.dst', 'udp.dstport', 'frame.protocols'].flatMap((f) => ['-e', f]);
  return dumps.map((d) => {
    const argv = ['-r', d.file, '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'separator=/s', ...fields];
    return spawnSync('tshark', argv, { encoding: 'utf8' }).stdout.trim().split('\n');
  });
}

describe.skipIf(skip)('DirectRouting across a router: one pair direct, one encapsulated', () => {
  const ip: Record<string, string> = {};
  const ping = (from: string, to: string) => l('exec', from, '--', 'ping', '-c', '1', '-W', '2', ip[to]);

  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-subnets.yaml'), '--name', lab], {
      timeoutMs: 240_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    const got = await l('get', 'pods', '-o', 'json');
    for (const p of (JSON.parse(got.out) as { items: Pod[] }).items) ip[p.metadata.name!] = p.status!.podIP!;
    expect(Object.keys(ip)).toEqual(expect.arrayContaining(['web1', 'web2', 'web3']));
  }, 300_000);

  afterAll(async () => {
    await l('down');
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('node1 routes node2 directly (no gateway) and node3 through flannel.1; the router joins the subnets', () => {
    const routes = spawnSync('ip', ['-n', `flt-${lab}-node1`, 'route', 'show'], { encoding: 'utf8' }).stdout;
    expect(routes).toMatch(/^10\.244\.2\.0\/24 via 192\.168\.1\.3 dev eth0/m);
    expect(routes).toMatch(/^10\.244\.3\.0\/24 .*dev flannel\.1/m);
    expect(routes).toMatch(/^192\.168\.2\.0\/24 via 192\.168\.1\.1 dev eth0/m);
    const legs = spawnSync('ip', ['-n', `flt-${lab}-router`, '-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
    expect(legs).toMatch(/eth0\s+inet 192\.168\.1\.1\/24/);
    expect(legs).toMatch(/eth1\s+inet 192\.168\.2\.1\/24/);
  });

  it('web1 → web2 (same subnet): plain ICMP between the pod IPs on br0', async () => {
    const [rows] = await capture(['br0'], 2, () => ping('web1', 'web2'));
    expect(rows).toEqual([
      `${ip['web1']} ${ip['web2']}  eth:ethertype:ip:icmp:data`,
      `${ip['web2']} ${ip['web1']}  eth:ethertype:ip:icmp:data`,
    ]);
  });

  it('web1 → web3 (behind the router): VXLAN between the public IPs on br0 and on br1', async () => {
    const vx = 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data';
    const expected = [
      `192.168.1.2,${ip['web1']} 192.168.2.2,${ip['web3']} 8472 ${vx}`,
      `192.168.2.2,${ip['web3']} 192.168.1.2,${ip['web1']} 8472 ${vx}`,
    ];
    const [onBr0, onBr1] = await capture(['br0', 'br1'], 2, () => ping('web1', 'web3'));
    expect(onBr1).toEqual(expected);
    expect(onBr0).toEqual(expected);
  });

  it('lab check: every pod reaches every pod and node', async () => {
    const r = await l('check');
    expect(r.code, r.out + r.err).toBe(0);
  }, 180_000);

  it('lab down removes the router namespace with the others', async () => {
    expect((await l('down')).code).toBe(0);
    expect(leftovers(lab).netns).toEqual([]);
  }, 120_000);
});
