// etcd membership against a real etcd (Debian's etcd-server) on 127.0.0.1: acquisition, watch,
// expiry, an etcd outage, flannel-compatible values as etcdctl shows them, malformed input.
// Public IPs are TEST-NET-1 strings stored in etcd; no packet is sent anywhere.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../../../src/addr/ipv4.js';
import { formatMac } from '../../../src/addr/mac.js';
import { createEtcdMembership, type EtcdMembershipOptions } from '../../../src/control/etcd.js';
import { EtcdRegistry } from '../../../src/control/etcd-registry.js';
import { initNetworkConfig } from '../../../src/control/network-init.js';
import { decodeLeaseAttrs, parseNetworkConfig, parseSubnetKey } from '../../../src/control/flannel-format.js';
import type { LocalLease, Membership, MembershipEvent } from '../../../src/control/membership.js';
import { writeSubnetEnv } from '../../../src/control/subnet-env.js';
import { Cidr } from '../../../src/addr/ipv4.js';
import { seededRng } from '../../../src/util/rng.js';
import { requireEtcdOrSkip, startEtcd, startTcpProxy, type TestEtcd } from '../../helpers/etcd.js';

const run = requireEtcdOrSkip('etcd membership');

interface Member {
  m: Membership;
  lease: LocalLease;
  events: MembershipEvent[];
  logs: Array<{ level: number; msg: string }>;
  ip: string;
}

describe.skipIf(!run)('etcd membership (real etcd)', () => {
  let etcd: TestEtcd;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-etcdm-'));
  const members: Membership[] = [];
  let prefixSeq = 0;
  let seed = 1;

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    for (const m of members) await m.stop();
    await etcd?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function newNetwork(
    backend: 'vxlan' | 'udp' = 'vxlan',
    prefix = `/flt-test-${prefixSeq++}/network`,
  ): Promise<string> {
    await initNetworkConfig({ endpoints: [etcd.endpoint], prefix, network: '10.244.0.0/16', backend });
    return prefix;
  }

  /** `endpoint`: where this member reaches etcd (default the test etcd itself). */
  type Extra = Partial<EtcdMembershipOptions> & { endpoint?: string };

  function create(
    prefix: string,
    ip: string,
    { endpoint, ...extra }: Extra = {},
  ): { m: Membership; events: MembershipEvent[]; logs: Member['logs'] } {
    const logs: Member['logs'] = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void logs.push(JSON.parse(line) as Member['logs'][number]) },
    );
    const events: MembershipEvent[] = [];
    const m = createEtcdMembership({
      registry: new EtcdRegistry({ endpoints: [endpoint ?? etcd.endpoint], prefix, requestTimeoutMs: 1000 }),
      publicIp: parseIpv4(ip),
      logger,
      leaseTtlSeconds: 10,
      rng: seededRng(seed++),
      retry: { initialMs: 100, maxMs: 500 },
      stateFile: path.join(tmp, `${prefix.replace(/\//g, '_')}-${ip}.json`),
      ...extra,
    });
    members.push(m);
    return { m, events, logs };
  }

  async function join(prefix: string, ip: string, extra: Extra = {}): Promise<Member> {
    const c = create(prefix, ip, extra);
    const lease = await c.m.start((e) => c.events.push(e));
    return { ...c, lease, ip };
  }

  const subnetsOf = (m: Membership): string[] =>
    m
      .peers()
      .map((p) => p.subnet.toString())
      .sort();

  it('gives three members distinct subnets, tells each about the others, and a fourth is learned within 2 s', async () => {
    const prefix = await newNetwork();
    const a = await join(prefix, '192.0.2.1');
    const b = await join(prefix, '192.0.2.2');
    const c = await join(prefix, '192.0.2.3');
    const subnets = [a, b, c].map((x) => x.lease.subnet.toString());
    expect(new Set(subnets).size).toBe(3);
    for (const x of [a, b, c]) {
      expect(x.lease.network.toString()).toBe('10.244.0.0/16');
      expect(x.lease.subnet.prefix).toBe(24);
      expect(x.lease.backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });
      expect(x.lease.vtepMac).toBeDefined();
    }
    await waitFor(() => [a, b, c].every((x) => x.m.peers().length === 2), 2000);
    expect(subnetsOf(a.m)).toEqual([b, c].map((x) => x.lease.subnet.toString()).sort());
    const peerB = a.m.peers().find((p) => p.subnet.equals(b.lease.subnet))!;
    expect(formatIpv4(peerB.publicIp)).toBe('192.0.2.2');
    expect(peerB.vtepMac!.equals(b.lease.vtepMac!)).toBe(true);

    const d = await join(prefix, '192.0.2.4');
    await waitFor(
      () =>
        [a, b, c].every((x) => x.events.some((e) => e.type === 'peer-added' && e.peer.subnet.equals(d.lease.subnet))),
      2000,
    );
    expect(d.events.filter((e) => e.type === 'peer-added')).toHaveLength(3);
    // Nobody hears about itself.
    for (const x of [a, b, c, d]) expect(x.m.peers().some((p) => p.subnet.equals(x.lease.subnet))).toBe(false);
  });

  it('removes a member that stopped without cleanup once its 3 s lease expires', async () => {
    const prefix = await newNetwork();
    const a = await join(prefix, '192.0.2.11', { leaseTtlSeconds: 3 });
    const b = await join(prefix, '192.0.2.12', { leaseTtlSeconds: 3 });
    await waitFor(() => a.m.peers().length === 1, 2000);
    // a keeps renewing past its TTL
    await sleep(4000);
    expect(b.m.peers().length).toBe(1);
    await a.m.stop(); // no revoke: like a crashed node
    const t0 = Date.now();
    await waitFor(() => b.events.some((e) => e.type === 'peer-removed' && e.subnet.equals(a.lease.subnet)), 8000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(1000); // removed by expiry, not at stop
    expect(b.m.peers()).toEqual([]);
    expect(b.m.status().state).toBe('running');
  });

  it('keeps its view through an etcd outage, logs it once, and learns a member that joins after', async () => {
    const prefix = await newNetwork();
    const a = await join(prefix, '192.0.2.21');
    const b = await join(prefix, '192.0.2.22');
    await waitFor(() => a.m.peers().length === 1, 2000);
    await etcd.pause();
    await waitFor(() => a.m.status().state === 'etcd-unavailable', 5000);
    await sleep(2500); // several retries
    expect(a.m.peers().map((p) => p.subnet.toString())).toEqual([b.lease.subnet.toString()]);
    expect(a.m.status().lastError).toBeTruthy();
    const unavailableLogs = a.logs.filter((l) => l.msg.includes('etcd-unavailable'));
    expect(unavailableLogs).toHaveLength(1);
    await etcd.resume();
    await waitFor(() => a.m.status().state === 'running' && b.m.status().state === 'running', 10_000);
    const c = await join(prefix, '192.0.2.23');
    await waitFor(() => a.m.peers().length === 2 && b.m.peers().length === 2, 3000);
    expect(subnetsOf(a.m)).toContain(c.lease.subnet.toString());
    expect(a.events.filter((e) => e.type === 'peer-removed')).toEqual([]); // nothing was dropped on the way
  });

  it('after a reconnect re-lists, emits the difference, and survives a compaction it missed', async () => {
    const prefix = await newNetwork();
    const proxy = await startTcpProxy(etcd.endpoint);
    try {
      const a = await join(prefix, '192.0.2.81', { endpoint: proxy.endpoint });
      const b = await join(prefix, '192.0.2.82', { revokeOnStop: true });
      await waitFor(() => a.m.peers().length === 1, 2000);
      a.events.length = 0;
      await proxy.cut();
      await waitFor(() => a.m.status().state === 'etcd-unavailable', 5000);
      // While a is cut off: b leaves, a newcomer appears, and history is compacted.
      await b.m.stop();
      etcd.etcdctl(
        'put',
        `${prefix}/subnets/10.244.99.0-24`,
        '{"PublicIP":"192.0.2.83","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:83"}}',
      );
      const rev = /"revision":(\d+)/.exec(etcd.etcdctl('get', `${prefix}/config`, '-w', 'json'))![1];
      etcd.etcdctl('compact', rev);
      expect(a.m.peers().map((p) => p.subnet.toString())).toEqual([b.lease.subnet.toString()]); // last view kept
      await proxy.restore();
      await waitFor(() => a.m.status().state === 'running' && a.events.length >= 2, 10_000);
      const seen = a.events.map((e) =>
        e.type === 'peer-removed' ? `removed ${e.subnet}` : `${e.type} ${e.peer.subnet}`,
      );
      expect(seen).toEqual([`removed ${b.lease.subnet}`, 'peer-added 10.244.99.0/24']);
      // and the new watch works
      etcd.etcdctl('del', `${prefix}/subnets/10.244.99.0-24`);
      await waitFor(() => a.m.peers().length === 0, 2000);
    } finally {
      await proxy.close();
    }
  });

  it("writes values that etcdctl shows in flannel's shapes", async () => {
    const prefix = '/coreos.com/network';
    await initNetworkConfig({ endpoints: [etcd.endpoint], prefix, network: '10.244.0.0/16', backend: 'vxlan' });
    const a = await join(prefix, '192.0.2.31');
    const out = etcd.etcdctl('get', '--prefix', '/coreos.com/network');
    const lines = out.trim().split('\n');
    expect(lines.length % 2).toBe(0);
    const kv = new Map<string, string>();
    for (let i = 0; i < lines.length; i += 2) kv.set(lines[i], lines[i + 1]);
    expect(kv.get('/coreos.com/network/config')).toBe(
      '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}',
    );
    expect(parseNetworkConfig(kv.get('/coreos.com/network/config')!).subnetLen).toBe(24);
    const key = `/coreos.com/network/subnets/${formatIpv4(a.lease.subnet.network)}-24`;
    expect(kv.has(key)).toBe(true);
    const value = JSON.parse(kv.get(key)!) as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData']);
    expect(value).toEqual({
      PublicIP: '192.0.2.31',
      PublicIPv6: null,
      BackendType: 'vxlan',
      BackendData: { VNI: 1, VtepMAC: formatMac(a.lease.vtepMac!) },
    });
    // The key is attached to a lease with the configured TTL.
    const ttl = etcd.etcdctl('get', key, '-w', 'json');
    const leaseId = BigInt(/"lease":(\d+)/.exec(ttl)![1]); // a 64-bit id: not through JSON.parse
    expect(leaseId).toBeGreaterThan(0n);
    const info = etcd.etcdctl('lease', 'timetolive', leaseId.toString(16));
    expect(info).toMatch(/granted with TTL\(10s\)/);
  });

  it('skips a malformed lease written with etcdctl, then learns it once it is valid', async () => {
    const prefix = await newNetwork();
    const a = await join(prefix, '192.0.2.41');
    etcd.etcdctl('put', `${prefix}/subnets/10.244.200.0-24`, '{"PublicIP":"not-an-ip","BackendType":"vxlan"}');
    etcd.etcdctl('put', `${prefix}/subnets/garbage-key`, '{}');
    etcd.etcdctl('put', `${prefix}/subnets/10.244.201.0-24`, '{"PublicIP":"192.0.2.99","BackendType":"udp"}'); // wrong backend
    // a valid lease written after them: once it is seen, the watch has passed the bad ones
    const sentinel = `${prefix}/subnets/10.244.202.0-24`;
    etcd.etcdctl(
      'put',
      sentinel,
      '{"PublicIP":"192.0.2.98","BackendType":"vxlan","BackendData":{"VtepMAC":"02:00:00:00:00:98"}}',
    );
    await waitFor(() => a.events.length > 0, 5000);
    expect(a.events.map((e) => e.type === 'peer-added' && e.peer.subnet.toString())).toEqual(['10.244.202.0/24']);
    etcd.etcdctl('del', sentinel);
    await waitFor(() => a.events.length === 2, 5000);
    a.events.length = 0;
    expect(a.m.status().state).toBe('running');
    expect(a.logs.filter((l) => l.msg.includes('malformed lease'))).toHaveLength(1);
    etcd.etcdctl(
      'put',
      `${prefix}/subnets/10.244.200.0-24`,
      '{"PublicIP":"192.0.2.42","BackendType":"vxlan","BackendData":{"VtepMAC":"02:00:00:00:00:42"}}',
    );
    await waitFor(() => a.events.length === 1, 2000);
    const e = a.events[0];
    expect(e.type).toBe('peer-added');
    if (e.type === 'peer-added') {
      expect(e.peer.subnet.toString()).toBe('10.244.200.0/24');
      expect(formatMac(e.peer.vtepMac!)).toBe('02:00:00:00:00:42');
    }
    // A newcomer's initial list skips the same bad keys without failing.
    const b = await join(prefix, '192.0.2.43');
    expect(subnetsOf(b.m)).toEqual(['10.244.200.0/24', a.lease.subnet.toString()].sort());
  });

  it('re-acquires the same subnet when its key disappears, and emits nothing for itself', async () => {
    const prefix = await newNetwork();
    const a = await join(prefix, '192.0.2.51');
    const b = await join(prefix, '192.0.2.52');
    await waitFor(() => b.m.peers().length === 1 && a.m.peers().length === 1, 2000);
    a.events.length = 0;
    const key = `${prefix}/subnets/${formatIpv4(a.lease.subnet.network)}-24`;
    etcd.etcdctl('del', key);
    await waitFor(() => etcd.etcdctl('get', key).includes('192.0.2.51'), 5000);
    await waitFor(() => b.m.peers().length === 1, 2000); // b saw it go and come back
    expect(a.events).toEqual([]);
    expect(a.logs.some((l) => l.msg.includes('acquired again'))).toBe(true);
    expect(a.m.status().state).toBe('running');
  });

  it('reuses its lease and VTEP MAC after a restart, and a subnet.env subnet when free', async () => {
    const prefix = await newNetwork();
    const first = await join(prefix, '192.0.2.61');
    await first.m.stop(); // lease left in etcd, as flanneld leaves it
    const again = await join(prefix, '192.0.2.61');
    expect(again.lease.subnet.equals(first.lease.subnet)).toBe(true);
    expect(again.lease.vtepMac!.equals(first.lease.vtepMac!)).toBe(true);

    const envFile = path.join(tmp, 'subnet.env');
    writeSubnetEnv(envFile, {
      network: Cidr.parse('10.244.0.0/16'),
      subnet: Cidr.parse('10.244.77.0/24'),
      mtu: 1450,
      ipMasq: false,
    });
    const fromEnv = await join(prefix, '192.0.2.62', { subnetEnvPath: envFile });
    expect(fromEnv.lease.subnet.toString()).toBe('10.244.77.0/24');
    const other = await join(prefix, '192.0.2.63', { subnetEnvPath: envFile }); // taken now: gets another
    expect(other.lease.subnet.toString()).not.toBe('10.244.77.0/24');
  });

  it('waits for the network config, then starts; udp leases carry no backend data', async () => {
    const prefix = `/flt-test-${prefixSeq++}/network`;
    const c = create(prefix, '192.0.2.71');
    const started = c.m.start((e) => c.events.push(e));
    await waitFor(() => c.m.status().state === 'waiting-for-config', 3000);
    await initNetworkConfig({ endpoints: [etcd.endpoint], prefix, network: '10.244.0.0/16', backend: 'udp' });
    const lease = await started;
    expect(lease.backend).toEqual({ type: 'udp', vni: 0, port: 8285 });
    expect(lease.vtepMac).toBeUndefined();
    const key = `${prefix}/subnets/${formatIpv4(lease.subnet.network)}-24`;
    expect(etcd.etcdctl('get', '--print-value-only', key).trim()).toBe(
      '{"PublicIP":"192.0.2.71","PublicIPv6":null,"BackendType":"udp"}',
    );
    const d = decodeLeaseAttrs(etcd.etcdctl('get', '--print-value-only', key).trim());
    expect(d.ok).toBe(true);
    expect(parseSubnetKey(key).ok).toBe(true);
  });

  it('initNetworkConfig is idempotent and refuses to replace a different config', async () => {
    const prefix = `/flt-test-${prefixSeq++}/network`;
    const first = await initNetworkConfig({
      endpoints: [etcd.endpoint],
      prefix,
      network: '10.50.0.0/16',
      backend: 'vxlan',
      vni: 4,
    });
    expect(first.created).toBe(true);
    expect(first.value).toBe('{"Network":"10.50.0.0/16","Backend":{"Type":"vxlan","VNI":4,"Port":8472}}');
    const same = await initNetworkConfig({
      endpoints: [etcd.endpoint],
      prefix,
      network: '10.50.0.0/16',
      backend: 'vxlan',
      vni: 4,
    });
    expect(same.created).toBe(false);
    await expect(
      initNetworkConfig({ endpoints: [etcd.endpoint], prefix, network: '10.60.0.0/16', backend: 'vxlan' }),
    ).rejects.toMatchObject({ name: 'ConfigError' });
    const replaced = await initNetworkConfig({
      endpoints: [etcd.endpoint],
      prefix,
      network: '10.60.0.0/16',
      backend: 'udp',
      overwrite: true,
    });
    expect(replaced.created).toBe(true);
    expect(etcd.etcdctl('get', '--print-value-only', `${prefix}/config`).trim()).toBe(replaced.value);
    await expect(
      initNetworkConfig({ endpoints: [etcd.endpoint], prefix, network: '10.60.0.0/30', backend: 'udp' }),
    ).rejects.toMatchObject({ name: 'ConfigError' });
  });
});

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(25);
  }
}
