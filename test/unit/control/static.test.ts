import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../../src/addr/ipv4.js';
import { formatMac } from '../../../src/addr/mac.js';
import type { MembershipEvent } from '../../../src/control/membership.js';
import { createStaticMembership, type StaticMembership } from '../../../src/control/static.js';
import { ConfigError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/logger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-static-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const open: StaticMembership[] = [];
afterEach(async () => {
  for (const m of open.splice(0)) await m.stop();
});

function clusterText(nodes: Array<[string, string, string, string?]>, backend = '{ type: vxlan }'): string {
  const lines = nodes.map(
    ([n, ip, sn, mac]) => `  - { name: ${n}, publicIp: ${ip}, subnet: ${sn}${mac ? `, vtepMac: ${mac}` : ''} }`,
  );
  return `network: 10.244.0.0/16\nbackend: ${backend}\nnodes:\n${lines.join('\n')}\n`;
}

function describeEvent(e: MembershipEvent): string {
  if (e.type === 'peer-removed') return `removed ${e.subnet}`;
  const mac = e.peer.vtepMac ? ` ${formatMac(e.peer.vtepMac)}` : '';
  return `${e.type === 'peer-added' ? 'added' : 'updated'} ${e.peer.name} ${e.peer.subnet} ${formatIpv4(e.peer.publicIp)}${mac}`;
}

function setup(text: string, opts: { watch?: boolean; nodeName?: string } = {}) {
  const file = path.join(dir, `cluster-${seq++}.yaml`);
  fs.writeFileSync(file, text);
  const m = createStaticMembership({
    file,
    nodeName: opts.nodeName ?? 'node1',
    logger: silentLogger(),
    watch: opts.watch ?? false,
    debounceMs: 50,
  });
  open.push(m);
  const events: string[] = [];
  return { file, m, events, start: () => m.start((e) => events.push(describeEvent(e))) };
}

const THREE: Array<[string, string, string, string?]> = [
  ['node1', '192.168.1.2', '10.244.1.0/24', '0e:00:00:00:01:01'],
  ['node2', '192.168.1.3', '10.244.2.0/24', '0e:00:00:00:02:01'],
  ['node3', '192.168.1.4', '10.244.3.0/24', '0e:00:00:00:03:01'],
];

describe('static membership', () => {
  it('finds itself by name and emits peer-added for every other node', async () => {
    const s = setup(clusterText(THREE));
    const lease = await s.start();
    expect(lease.subnet.toString()).toBe('10.244.1.0/24');
    expect(lease.network.toString()).toBe('10.244.0.0/16');
    expect(formatIpv4(lease.publicIp)).toBe('192.168.1.2');
    expect(formatMac(lease.vtepMac!)).toBe('0e:00:00:00:01:01');
    expect(lease.backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });
    expect(s.events).toEqual([
      'added node2 10.244.2.0/24 192.168.1.3 0e:00:00:00:02:01',
      'added node3 10.244.3.0/24 192.168.1.4 0e:00:00:00:03:01',
    ]);
    expect(s.m.peers().map((p) => p.name)).toEqual(['node2', 'node3']);
    expect(s.m.status()).toEqual({ source: 'static', state: 'running' });
  });

  it('refuses to start for a node that is not in the file', async () => {
    const s = setup(clusterText(THREE), { nodeName: 'node9' });
    await expect(s.start()).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('node "node9" is not in the cluster file') as unknown,
    });
  });

  it('refuses to start with an invalid file', async () => {
    const s = setup('network: 10.244.0.0/16\nnodes:\n  - { name: node1, publicIp: 1.2.3.4 }\n');
    await expect(s.start()).rejects.toBeInstanceOf(ConfigError);
  });

  it('reload emits added, removed and updated peers', async () => {
    const s = setup(clusterText(THREE));
    await s.start();
    s.events.length = 0;
    fs.writeFileSync(
      s.file,
      clusterText([
        THREE[0],
        ['node2', '192.168.1.30', '10.244.2.0/24', '0e:00:00:00:02:01'], // moved
        ['node4', '192.168.1.5', '10.244.4.0/24', '0e:00:00:00:04:01'], // new; node3 gone
      ]),
    );
    expect(s.m.reload()).toBe(true);
    expect(s.events).toEqual([
      'removed 10.244.3.0/24',
      'updated node2 10.244.2.0/24 192.168.1.30 0e:00:00:00:02:01',
      'added node4 10.244.4.0/24 192.168.1.5 0e:00:00:00:04:01',
    ]);
    s.events.length = 0;
    expect(s.m.reload()).toBe(true); // unchanged file: nothing to say
    expect(s.events).toEqual([]);
  });

  it('ignores an invalid reload and keeps the last good view', async () => {
    const s = setup(clusterText(THREE));
    await s.start();
    s.events.length = 0;
    fs.writeFileSync(s.file, clusterText([THREE[0], ['node2', '192.168.1.3', '10.245.2.0/24']]));
    expect(s.m.reload()).toBe(false);
    expect(s.events).toEqual([]);
    expect(s.m.peers()).toHaveLength(2);
    expect(s.m.status().lastError).toMatch(/nodes\[1\]\.subnet 10\.245\.2\.0\/24 is outside network/);
    fs.writeFileSync(s.file, clusterText(THREE, '{ type: udp }'));
    expect(s.m.reload()).toBe(false); // backend change needs a restart
    expect(s.events).toEqual([]);
    fs.rmSync(s.file);
    expect(s.m.reload()).toBe(false); // file gone (editor mid-save)
    expect(s.m.peers()).toHaveLength(2);
  });

  it('keeps its lease when this node is removed from the file', async () => {
    const s = setup(clusterText(THREE));
    const lease = await s.start();
    s.events.length = 0;
    fs.writeFileSync(s.file, clusterText([THREE[1], THREE[2]]));
    expect(s.m.reload()).toBe(true);
    expect(s.events).toEqual([]);
    expect(s.m.status().lastError).toMatch(
      /node1\) is no longer in the cluster file; keeping its lease 10\.244\.1\.0\/24/,
    );
    // A node that now claims our subnet is not routed to.
    fs.writeFileSync(s.file, clusterText([THREE[1], ['node5', '192.168.1.9', '10.244.1.0/24']]));
    s.m.reload();
    expect(s.events).toEqual(['removed 10.244.3.0/24']);
    expect(lease.subnet.toString()).toBe('10.244.1.0/24');
  });

  it('picks up an editor-style replace (write temp, rename over) through the file watch', async () => {
    const s = setup(clusterText(THREE), { watch: true });
    await s.start();
    s.events.length = 0;
    const tmp = `${s.file}.swp`;
    fs.writeFileSync(tmp, clusterText([THREE[0], THREE[1]]));
    fs.renameSync(tmp, s.file);
    await waitFor(() => s.events.length > 0, 3000);
    expect(s.events).toEqual(['removed 10.244.3.0/24']);
    // and a second change after the replace is seen too (the watch survived the rename)
    fs.writeFileSync(s.file, clusterText(THREE));
    await waitFor(() => s.events.length > 1, 3000);
    expect(s.events[1]).toBe('added node3 10.244.3.0/24 192.168.1.4 0e:00:00:00:03:01');
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
