// A static dual-stack lab on an IPv6 underlay (examples/ipv6-underlay.yaml, `lab up --static`): pods
// get IPv4 and IPv6 addresses, IPv6 pod → pod ping both ways and HTTP over IPv6 (the server sees the
// caller's own IPv6 address), and on the underlay switch the inner IPv6 travels in VXLAN over UDP over
// IPv6 between the nodes' PublicIPv6 addresses, while inner IPv4 keeps the IPv4 underlay.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');
const PROGRAMS = path.join(ROOT, 'dist/src/lab/container-main.js');
const built = fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')) && fs.existsSync(PROGRAMS);
const skip =
  requireRootOrSkip('IPv6 underlay lab integration') ||
  requireOrSkip(built, 'IPv6 underlay lab integration: build first (npm run build)') ||
  requireOrSkip(fs.existsSync('/usr/bin/tshark'), 'tshark is not installed');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-v6u-lab-'));
const lab = `vu${Math.random().toString(36).slice(2, 6)}`.replace(/[^a-z0-9]/g, 'x');

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

const ping6 = (pod: string, ip: string) =>
  cli(['lab', 'exec', pod, '--name', lab, '--', 'ping', '-6', '-c', '1', '-W', '2', ip]);

/** Captures `count` frames matching `filter` on the underlay switch while `traffic` runs; tshark fields. */
async function captureUnderlay(filter: string, count: number, traffic: () => Promise<unknown>): Promise<string[]> {
  const file = path.join(tmp, `${lab}-${count}.pcap`);
  const args = ['netns', 'exec', `flt-${lab}-underlay`, 'tcpdump', '-ni', 'br0', '-U', '-c', String(count)];
  const dump = spawn('ip', [...args, '-w', file, filter]);
  let err = '';
  dump.stderr.on('data', (d) => (err += String(d)));
  await waitUntil(() => err.includes('listening on'), 'tcpdump to listen');
  const exited = new Promise((r) => dump.on('exit', r));
  await waitUntil(async () => {
    await traffic();
    return dump.exitCode !== null;
  }, 'the capture to fill');
  await exited;
  const fields = ['ipv6.src', 'ipv6.dst', 'ip.src', 'udp.dstport', 'frame.protocols'].flatMap((f) => ['-e', f]);
  const r = spawnSync(
    'tshark',
    ['-r', file, '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'separator=/s', ...fields],
    {
      encoding: 'utf8',
    },
  );
  return r.stdout.trim().split('\n');
}

describe.skipIf(skip)('static dual-stack lab on an IPv6 underlay', () => {
  beforeAll(async () => {
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/ipv6-underlay.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
  });
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('IPv6 pods ping each other both ways and HTTP over IPv6 sees the caller’s IPv6 address', async () => {
    expect((await ping6('web1', 'fd00:10:244:2::2')).code).toBe(0);
    expect((await ping6('web2', 'fd00:10:244:1::2')).code).toBe(0);
    const http = spawnSync(
      'ip',
      ['netns', 'exec', `flt-${lab}-pod-web1`, process.execPath, PROGRAMS, 'fetch', 'http://[fd00:10:244:2::2]/'],
      { encoding: 'utf8' },
    );
    expect(http.stdout.trim()).toMatch(/; you are fd00:10:244:1::2$/);
  });

  it('carries inner IPv6 in VXLAN over UDP/IPv6 between the PublicIPv6 addresses, inner IPv4 over IPv4', async () => {
    // ip6[76]: the inner IPv6 next header (40 outer + 8 UDP + 8 VXLAN + 14 Ethernet + 6): ICMPv6
    const v6 = await captureUnderlay('ip6 and udp port 8472 and ip6[76] = 58', 2, () =>
      ping6('web1', 'fd00:10:244:2::2'),
    );
    expect(v6).toEqual([
      'fd00:192:168:1::2,fd00:10:244:1::2 fd00:192:168:1::3,fd00:10:244:2::2  8472 eth:ethertype:ipv6:udp:vxlan:eth:ethertype:ipv6:icmpv6:data',
      'fd00:192:168:1::3,fd00:10:244:2::2 fd00:192:168:1::2,fd00:10:244:1::2  8472 eth:ethertype:ipv6:udp:vxlan:eth:ethertype:ipv6:icmpv6:data',
    ]);
    const v4 = await captureUnderlay('ip and udp port 8472', 2, () =>
      cli(['lab', 'exec', 'web1', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '10.244.2.2']),
    );
    for (const row of v4)
      expect(row).toMatch(
        /^ *192\.168\.1\.[23],10\.244\.[12]\.2 8472 eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp/,
      );
  });
});
