// src/node/build-membership.ts: each membership source builds the membership it names; a vxlan
// node given no VTEP MAC gets a random one from the injected rng.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { formatMac, parseMac } from '../../../src/addr/mac.js';
import { defaultBackend } from '../../../src/control/membership.js';
import { buildMembership, etcdStateFile } from '../../../src/node/build-membership.js';
import { silentLogger } from '../../../src/util/logger.js';
import { seededRng } from '../../../src/util/rng.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-build-membership-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const opts = (seed = 1) => ({ nodeName: 'node1', stateDir: dir, logger: silentLogger(), rng: seededRng(seed) });
const peersSource = (type: 'vxlan' | 'udp', vtepMac?: Buffer) => ({
  kind: 'peers' as const,
  network: Cidr.parse('10.244.0.0/16'),
  subnet: Cidr.parse('10.244.1.0/24'),
  publicIp: ip('192.168.1.2'),
  backend: defaultBackend(type),
  vtepMac,
  peers: [],
});

describe('buildMembership', () => {
  it('cluster: the static membership of the file, this node found by name', async () => {
    const file = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(
      file,
      'network: 10.244.0.0/16\nnodes:\n  - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24 }\n  - { name: node2, publicIp: 192.168.1.3, subnet: 10.244.2.0/24 }\n',
    );
    const m = await buildMembership({ kind: 'cluster', file }, opts());
    const lease = await m.start(() => {});
    expect(lease.subnet.toString()).toBe('10.244.1.0/24');
    expect(m.peers().map((p) => p.name)).toEqual(['node2']);
    await m.stop();
  });

  it('peers, vxlan: keeps a given MAC; draws one from the rng (same seed, same MAC) when none is given', async () => {
    const given = parseMac('0e:00:00:00:01:01');
    expect((await (await buildMembership(peersSource('vxlan', given), opts())).start(() => {})).vtepMac).toEqual(given);
    const a = (await (await buildMembership(peersSource('vxlan'), opts(7))).start(() => {})).vtepMac!;
    const b = (await (await buildMembership(peersSource('vxlan'), opts(7))).start(() => {})).vtepMac!;
    expect(formatMac(a)).toBe(formatMac(b));
    expect(a[0] & 3).toBe(2); // locally administered unicast
  });

  it('peers, udp: no VTEP MAC at all', async () => {
    expect((await (await buildMembership(peersSource('udp'), opts())).start(() => {})).vtepMac).toBeUndefined();
  });

  it('etcd: an etcd membership (not started), its state file next to the control socket', async () => {
    const m = await buildMembership(
      { kind: 'etcd', endpoints: ['http://127.0.0.1:1'], prefix: '/coreos.com/network', publicIp: ip('192.168.1.2') },
      opts(),
    );
    expect(m.status()).toMatchObject({ source: 'etcd' });
    await m.stop();
    expect(etcdStateFile(dir, 'node1')).toBe(path.join(dir, 'node1.state.json'));
  });
});
