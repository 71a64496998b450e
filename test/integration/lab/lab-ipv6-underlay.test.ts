// A static dual-stack lab on an IPv6 underlay (examples/ipv6-underlay.yaml, `lab up --static`): pods
// get IPv4 and IPv6 addresses, IPv6 pod → pod ping both ways and HTTP over IPv6 (the server sees the
// caller's own IPv6 address), and on the underlay switch the inner IPv6 travels in VXLAN over UDP over
// IPv6 between the nodes' PublicIPv6 addresses, while inner IPv4 keeps the IPv4 underlay.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureWhile, tsharkFields } from '../../helpers/capture.js';
import { ROOT } from '../../helpers/live-lab.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { builtWithPrograms, cliIn, fetchFrom } from '../../helpers/static-lab.js';

const skip =
  requireRootOrSkip('IPv6 underlay lab integration') ||
  requireOrSkip(builtWithPrograms(), 'IPv6 underlay lab integration: build first (npm run build)') ||
  requireOrSkip(fs.existsSync('/usr/bin/tshark'), 'tshark is not installed');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-v6u-lab-'));
const lab = `vu${Math.random().toString(36).slice(2, 6)}`.replace(/[^a-z0-9]/g, 'x');

const cli = cliIn(tmp);

const ping6 = (pod: string, ip: string) =>
  cli(['lab', 'exec', pod, '--name', lab, '--', 'ping', '-6', '-c', '1', '-W', '2', ip]);

/** Captures `count` frames matching `filter` on the underlay switch while `traffic` runs; tshark fields. */
async function captureUnderlay(
  filter: string,
  count: number,
  traffic: () => Promise<unknown>,
  fields = ['ipv6.src', 'ipv6.dst', 'ip.src', 'udp.dstport', 'frame.protocols'],
): Promise<string[]> {
  const file = path.join(tmp, `${lab}-${count}-${fields.length}.pcap`);
  await captureWhile({ netns: `flt-${lab}-underlay`, iface: 'br0', count, filter, file }, traffic, 'repeat');
  return tsharkFields(file, fields, {
    decode: ['udp.port==8472,vxlan'],
    separator: '/s',
  });
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

  it('right after lab up no IPv6 address in the lab is tentative (no duplicate address detection to wait for)', () => {
    const namespaces = fs.readdirSync('/run/netns').filter((n) => n.startsWith(`flt-${lab}-`));
    expect(namespaces.length).toBe(6); // underlay, node1, node2, web1, web2, internet
    for (const ns of namespaces) {
      const out = spawnSync('ip', ['-n', ns, '-6', 'addr', 'show'], { encoding: 'utf8' }).stdout;
      expect(out, ns).toContain('inet6 fe80::'); // link-local addresses are there, and usable at once
      expect(out, ns).not.toContain('tentative');
    }
  });

  it('IPv6 pods ping each other both ways and HTTP over IPv6 sees the caller’s IPv6 address', async () => {
    expect((await ping6('web1', 'fd00:10:244:2::2')).code).toBe(0);
    expect((await ping6('web2', 'fd00:10:244:1::2')).code).toBe(0);
    const http = fetchFrom(`flt-${lab}-pod-web1`, 'http://[fd00:10:244:2::2]/');
    expect(http).toMatch(/; you are fd00:10:244:1::2$/);
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

  it("inner IPv6 goes between the nodes' IPv6 VTEP MACs (flannel-v6.1's own), inner IPv4 between the IPv4 ones", async () => {
    // outer then inner Ethernet addresses of the echo request from web1 (node1) to web2 (node2); the filters
    // pick the inner ICMPv6 echo request (ip6[76] next header, ip6[110] type) and ICMP echo request (udp[39], udp[50])
    const macs = ['eth.src', 'eth.dst'];
    const v6 = await captureUnderlay(
      'ip6 and udp port 8472 and ip6[76] = 58 and ip6[110] = 128',
      1,
      () => ping6('web1', 'fd00:10:244:2::2'),
      macs,
    );
    expect(v6).toEqual(['02:00:c0:a8:01:02,0e:00:00:00:01:02 02:00:c0:a8:01:03,0e:00:00:00:02:02']);
    const v4 = await captureUnderlay(
      'ip and udp port 8472 and udp[39] = 1 and udp[50] = 8',
      1,
      () => cli(['lab', 'exec', 'web1', '--name', lab, '--', 'ping', '-c', '1', '-W', '2', '10.244.2.2']),
      macs,
    );
    expect(v4).toEqual(['02:00:c0:a8:01:02,0e:00:00:00:01:01 02:00:c0:a8:01:03,0e:00:00:00:02:01']);
  });
});
